/** Housekeeping: expired sessions and old keys go; a key rotated by another instance is picked up. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '@wxlogin/simulator';
import { describe, expect, it } from 'vitest';
import { createClock, startStack } from './harness.js';

const sidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { sid: string }).sid;
const kidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;

describe('maintenance', () => {
  it('deletes expired sessions and signing keys retired longer than a token lifetime ago', async () => {
    const stack = await startStack();
    try {
      const live = await stack.login('keeps');
      const old = await stack.login('expires');
      const oldKid = kidOf(old.accessToken);
      await stack.runtime.tokens.rotate();
      await stack.runtime.maintain();
      expect(await stack.runtime.store.getSession(sidOf(old.accessToken))).not.toBeNull();
      expect(
        (await stack.request<{ keys: Array<{ kid: string }> }>('GET', '/.well-known/jwks.json')).body.keys.map(
          (k) => k.kid,
        ),
      ).toContain(oldKid);

      stack.clock.advance(stack.config.refreshTokenTtlSeconds + 1);
      const fresh = await stack.login('fresh');
      await stack.runtime.maintain();
      expect(await stack.runtime.store.getSession(sidOf(old.accessToken))).toBeNull();
      expect(await stack.runtime.store.getSession(sidOf(live.accessToken))).toBeNull();
      expect(await stack.runtime.store.getSession(sidOf(fresh.accessToken))).not.toBeNull();
      const kids = (
        await stack.request<{ keys: Array<{ kid: string }> }>('GET', '/.well-known/jwks.json')
      ).body.keys.map((k) => k.kid);
      expect(kids).not.toContain(oldKid);
      expect(kids).toContain(kidOf(fresh.accessToken));
    } finally {
      await stack.close();
    }
  });

  it('an instance signs with a key rotated by another instance after its next maintenance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-maint-'));
    const sim = await startSimulator();
    const clock = createClock();
    const databaseUrl = `sqlite:${join(dir, 'db.sqlite')}`;
    const a = await startStack({ simulator: sim, clock, overrides: { databaseUrl } });
    const b = await startStack({ simulator: sim, clock, overrides: { databaseUrl } });
    try {
      const newKid = await a.runtime.tokens.rotate();
      expect(kidOf((await b.login('x')).accessToken)).not.toBe(newKid);
      await b.runtime.maintain();
      const after = await b.login('x');
      expect(kidOf(after.accessToken)).toBe(newKid);
      expect((await a.request('GET', '/v1/me', { token: after.accessToken })).status).toBe(200);
    } finally {
      await a.close();
      await b.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
