// The conformance suite every SharedState backend passes. A backend's test file
// calls `describeSharedStateConformance(name, factory)`; the suite registers its
// tests with Vitest. This file imports Vitest, so it is not part of the build.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SharedStateHandle } from './index.js';
import type { CodeOutcome } from './types.js';

export interface SharedStateFixture {
  /**
   * Opens a handle on the state under test. Every handle of one fixture shares
   * the same state, as the instances of one deployment do (for a backend with
   * connections, each handle has its own).
   */
  open(): Promise<SharedStateHandle>;
  /** Closes every handle the fixture opened and removes what it stored. Called after every test. */
  cleanup(): Promise<void>;
}

const SUCCESS: CodeOutcome = { ok: true, userId: 'user-1', created: true };
const FAILURE: CodeOutcome = {
  ok: false,
  error: { code: 'invalid_code', message: 'WeChat says the code is invalid', wechatErrcode: 40029 },
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds or `ms` passed; answers whether it held. */
async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

export function describeSharedStateConformance(name: string, factory: () => Promise<SharedStateFixture>): void {
  describe(`SharedState conformance: ${name}`, () => {
    let fixture: SharedStateFixture;
    let a: SharedStateHandle;
    let b: SharedStateHandle;
    let n = 0;
    /** A digest no other test uses. */
    const digest = (): string => `digest-${Date.now().toString(36)}-${(n++).toString(36)}`;

    beforeEach(async () => {
      fixture = await factory();
      a = await fixture.open();
      b = await fixture.open();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('login codes', () => {
      it('of 20 concurrent claims on two instances exactly one is claimed, the others in flight', async () => {
        const d = digest();
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).state.claimCode(d, 5000)),
        );
        expect(claims.filter((c) => c === 'claimed')).toHaveLength(1);
        expect(claims.filter((c) => c === 'in_flight')).toHaveLength(19);
      });

      it('a settled success is redeemed everywhere and reaches the waiters of every instance', async () => {
        const d = digest();
        expect(await a.state.claimCode(d, 5000)).toBe('claimed');
        const waitA = a.state.waitForCode(d, 3000);
        const waitB = b.state.waitForCode(d, 3000);
        await sleep(30);
        const started = Date.now();
        await a.state.settleCode(d, SUCCESS, 60_000);
        expect(await waitA).toEqual(SUCCESS);
        expect(await waitB).toEqual(SUCCESS);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(await a.state.claimCode(d, 5000)).toBe('redeemed');
        expect(await b.state.claimCode(d, 5000)).toBe('redeemed');
      });

      it('a settled failure releases the code and reaches the waiters', async () => {
        const d = digest();
        expect(await a.state.claimCode(d, 5000)).toBe('claimed');
        const waitA = a.state.waitForCode(d, 3000);
        const waitB = b.state.waitForCode(d, 3000);
        await sleep(30);
        await a.state.settleCode(d, FAILURE, 60_000);
        expect(await waitA).toEqual(FAILURE);
        expect(await waitB).toEqual(FAILURE);
        expect(await b.state.claimCode(d, 5000)).toBe('claimed');
      });

      it('waitForCode answers null when no outcome arrives in time', async () => {
        const d = digest();
        await a.state.claimCode(d, 5000);
        const started = Date.now();
        expect(await b.state.waitForCode(d, 150)).toBeNull();
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
        expect(Date.now() - started).toBeLessThan(1000);
      });

      it('waitForCode answers null at once for a code nobody claimed', async () => {
        const started = Date.now();
        expect(await a.state.waitForCode(digest(), 3000)).toBeNull();
        expect(Date.now() - started).toBeLessThan(1000);
      });

      it('an unsettled claim lapses after its time (its owner died)', async () => {
        const d = digest();
        expect(await a.state.claimCode(d, 100)).toBe('claimed');
        expect(await b.state.claimCode(d, 100)).toBe('in_flight');
        await sleep(180);
        expect(await b.state.claimCode(d, 5000)).toBe('claimed');
      });
    });

    describe('hit counters', () => {
      it('counts every one of 50 concurrent hits on two instances', async () => {
        const key = `k-${digest()}`;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).state.hit(key, 60_000)),
        );
        expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        for (const r of results) {
          expect(r.resetInMs).toBeGreaterThan(0);
          expect(r.resetInMs).toBeLessThanOrEqual(60_000);
        }
      });

      it('starts a new window when the old one ends, and keys count apart', async () => {
        const key = `k-${digest()}`;
        expect((await a.state.hit(key, 150)).count).toBe(1);
        expect((await b.state.hit(key, 150)).count).toBe(2);
        expect((await a.state.hit(`${key}-other`, 150)).count).toBe(1);
        await sleep(220);
        const fresh = await b.state.hit(key, 150);
        expect(fresh.count).toBe(1);
        expect(fresh.resetInMs).toBeGreaterThan(100);
      });
    });

    describe('revocation signal', () => {
      it('reaches every subscriber of every instance, the publisher included', async () => {
        const seenA: string[] = [];
        const seenB: string[] = [];
        const seenB2: string[] = [];
        a.state.onRevocation((id) => seenA.push(id));
        b.state.onRevocation((id) => seenB.push(id));
        b.state.onRevocation((id) => seenB2.push(id));
        await a.state.publishRevocation('session-1');
        const all = (): boolean => [seenA, seenB, seenB2].every((seen) => seen.includes('session-1'));
        expect(await eventually(all)).toBe(true);
        expect(seenA).toEqual(['session-1']);
      });

      it('stops reaching a listener that unsubscribed', async () => {
        const kept: string[] = [];
        const dropped: string[] = [];
        b.state.onRevocation((id) => kept.push(id));
        const unsubscribe = b.state.onRevocation((id) => dropped.push(id));
        unsubscribe();
        await a.state.publishRevocation('session-2');
        expect(await eventually(() => kept.includes('session-2'))).toBe(true);
        expect(dropped).toEqual([]);
      });
    });

    describe('user-change signal', () => {
      it('reaches every subscriber of every instance, the publisher included, apart from revocations', async () => {
        const seenA: string[] = [];
        const seenB: string[] = [];
        const revoked: string[] = [];
        a.state.onUserChange((id) => seenA.push(id));
        const unsubscribe = b.state.onUserChange((id) => seenB.push(`dropped:${id}`));
        b.state.onUserChange((id) => seenB.push(id));
        b.state.onRevocation((id) => revoked.push(id));
        unsubscribe();
        await a.state.publishUserChange('user-1');
        expect(await eventually(() => seenA.includes('user-1') && seenB.includes('user-1'))).toBe(true);
        await b.state.publishRevocation('session-3');
        expect(await eventually(() => revoked.includes('session-3'))).toBe(true);
        expect(seenA).toEqual(['user-1']);
        expect(seenB).toEqual(['user-1']);
        expect(revoked).toEqual(['session-3']);
      });
    });

    it('answers ping while healthy', async () => {
      await expect(a.state.ping()).resolves.toBeUndefined();
    });

    describe('WeChat access-token cache', () => {
      it('stores, shares and deletes an entry', async (context) => {
        if (a.tokenCache === undefined || b.tokenCache === undefined) return context.skip();
        const key = `wxlogin:wechat-access-token:${digest()}:stable`;
        expect(await a.tokenCache.get(key)).toBeNull();
        const entry = { token: 'token-value-1', expiresAt: Date.now() + 7_200_000 };
        await a.tokenCache.set(key, entry);
        expect(await b.tokenCache.get(key)).toEqual(entry);
        await b.tokenCache.delete(key);
        expect(await a.tokenCache.get(key)).toBeNull();
      });

      it('withLock never lets two holders overlap, across instances', async (context) => {
        const lockA = a.tokenCache?.withLock?.bind(a.tokenCache);
        const lockB = b.tokenCache?.withLock?.bind(b.tokenCache);
        if (lockA === undefined || lockB === undefined) return context.skip();
        const key = `wxlogin:wechat-access-token:${digest()}:stable`;
        let holders = 0;
        let most = 0;
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? lockA : lockB)(key, async () => {
              holders += 1;
              most = Math.max(most, holders);
              await sleep(15);
              holders -= 1;
              return i;
            }),
          ),
        );
        expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i));
        expect(most).toBe(1);
      });

      it('withLock passes a failure on and frees the lock', async (context) => {
        const lockA = a.tokenCache?.withLock?.bind(a.tokenCache);
        const lockB = b.tokenCache?.withLock?.bind(b.tokenCache);
        if (lockA === undefined || lockB === undefined) return context.skip();
        const key = `wxlogin:wechat-access-token:${digest()}:stable`;
        await expect(
          lockA(key, async () => {
            throw new Error('refresh failed');
          }),
        ).rejects.toThrow('refresh failed');
        const started = Date.now();
        expect(await lockB(key, async () => 'next')).toBe('next');
        expect(Date.now() - started).toBeLessThan(500);
      });
    });
  });
}
