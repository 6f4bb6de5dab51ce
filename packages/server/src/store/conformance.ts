// The conformance suite every Store backend passes. A backend's test file calls
// `describeStoreConformance(name, factory)`; the suite registers its tests with
// Vitest. This file imports Vitest, so it is not part of the build.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type LoginRecord,
  type NewSession,
  type RefreshTokenRecord,
  type SigningKeyRecord,
  type Store,
  StoreUnavailableError,
} from './types.js';

export interface StoreFixture {
  /** A store on a fresh, empty database (not migrated: the suite calls `migrate()`). */
  store: Store;
  /** Closes what the factory opened and removes the database. Called after every test. */
  cleanup: () => Promise<void>;
  /**
   * Opens another store instance on the same database, as a second process of
   * the service would. When present, the race tests spread their calls over both
   * instances. The suite closes the instances it opens.
   */
  openSecond?: () => Promise<Store>;
}

/** Past 2^31 seconds on purpose: a 32-bit time column would fail here. */
const T0 = 3_000_000_000;

function newSession(
  sessionId: string,
  userId: string,
  opts: { appId?: string; tokenId?: string; now?: number; expiresAt?: number } = {},
): NewSession {
  const now = opts.now ?? T0;
  const expiresAt = opts.expiresAt ?? now + 3600;
  return {
    session: { id: sessionId, userId, appId: opts.appId ?? 'wxapp1', createdAt: now, expiresAt, revokedAt: null },
    refreshToken: {
      id: opts.tokenId ?? `${sessionId}-rt0`,
      sessionId,
      secretHash: `hash-of-${opts.tokenId ?? `${sessionId}-rt0`}`,
      expiresAt,
      spentAt: null,
    },
  };
}

function nextToken(id: string, sessionId: string, expiresAt: number): RefreshTokenRecord {
  return { id, sessionId, secretHash: `hash-of-${id}`, expiresAt, spentAt: null };
}

function signingKey(kid: string, createdAt: number, alg: SigningKeyRecord['alg'] = 'EdDSA'): SigningKeyRecord {
  return {
    kid,
    alg,
    publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: kid }),
    privateJwkSealed: `v1.sealed.${kid}`,
    createdAt,
    retiredAt: null,
  };
}

/**
 * Registers the conformance tests of a `Store` backend: every method, and every
 * race the interface documents, run concurrently (across two instances when the
 * fixture can open a second one).
 */
export function describeStoreConformance(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`Store conformance: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    let store: Store;
    let extra: Store[] = [];

    /**
     * The store instances to spread racing calls over: two when the backend can
     * open a second. Warmed up with concurrent reads first, so that pooled
     * connections exist and the racing calls really overlap.
     */
    async function instances(): Promise<Store[]> {
      const all = [store];
      if (fixture?.openSecond !== undefined) {
        const second = await fixture.openSecond();
        extra.push(second);
        all.push(second);
      }
      await Promise.all(all.flatMap((s) => Array.from({ length: 20 }, () => s.ping())));
      return all;
    }

    async function addUser(id: string, appId = 'wxapp1', openId = `o-${id}`, unionId: string | null = null) {
      const { user } = await store.upsertUserOnLogin({ id, appId, openId, unionId, now: T0 });
      return user;
    }

    afterEach(async () => {
      for (const other of extra) await other.close();
      extra = [];
      await fixture?.cleanup();
      fixture = undefined;
    });

    describe('lifecycle and migrations', () => {
      beforeEach(async () => {
        fixture = await factory();
        store = fixture.store;
      });

      it('names its kind', () => {
        expect(typeof store.kind).toBe('string');
        expect(store.kind.length).toBeGreaterThan(0);
      });

      it('migrate() applies the schema, then is a no-op that keeps the data', async () => {
        await store.migrate();
        const user = await addUser('u1');
        await store.migrate();
        await store.migrate();
        expect(await store.getUser('u1')).toEqual(user);
      });

      it('migrate() is safe when run concurrently on a fresh database', async () => {
        const all = await instances();
        await Promise.all([...all, ...all, ...all].map((s) => s.migrate()));
        for (const [index, s] of all.entries()) {
          const { created } = await s.upsertUserOnLogin({
            id: `u${index}`,
            appId: 'wxapp1',
            openId: `o${index}`,
            unionId: null,
            now: T0,
          });
          expect(created).toBe(true);
        }
      });

      it('ping() resolves on a live store, before and after migrate()', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        await store.migrate();
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('close() is idempotent; afterwards calls reject with StoreUnavailableError', async () => {
        await store.migrate();
        await store.close();
        await store.close();
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.getUser('u1')).rejects.toMatchObject({ code: 'store_unavailable' });
      });

      it('rejects a time that is not whole seconds with TypeError, writing nothing', async () => {
        await store.migrate();
        const candidate = { id: 'u1', appId: 'wxapp1', openId: 'o1', unionId: null };
        await expect(store.upsertUserOnLogin({ ...candidate, now: T0 + 0.5 })).rejects.toBeInstanceOf(TypeError);
        await expect(store.upsertUserOnLogin({ ...candidate, now: T0 * 1000 })).rejects.toBeInstanceOf(TypeError);
        await expect(store.revokeSession('s1', Number.NaN)).rejects.toBeInstanceOf(TypeError);
        expect(await store.getUser('u1')).toBeNull();
      });
    });

    describe('operations', () => {
      beforeEach(async () => {
        fixture = await factory();
        store = fixture.store;
        await store.migrate();
      });

      describe('unknown ids', () => {
        it('answer null / empty / false, never throw', async () => {
          expect(await store.getUser('nope')).toBeNull();
          expect(await store.listUsersByUnionId('nope')).toEqual([]);
          expect(await store.updateUserProfile('nope', { nickname: 'x' }, T0)).toBeNull();
          expect(await store.getSessionKeys('nope')).toBeNull();
          expect(await store.getSession('nope')).toBeNull();
          expect(await store.revokeSession('nope', T0)).toBe(false);
          expect(await store.getRefreshToken('nope')).toBeNull();
          expect(await store.rotateRefreshToken('nope', nextToken('n1', 'nope', T0 + 10), T0)).toBe(false);
          expect(await store.getRefreshToken('n1')).toBeNull();
          expect(await store.listRevokedSessionIds(0)).toEqual([]);
          expect(await store.listSigningKeys()).toEqual([]);
          expect(await store.deleteExpired(T0)).toBe(0);
          expect(await store.deleteRetiredSigningKeys(T0)).toBe(0);
        });
      });

      describe('users', () => {
        it('upsertUserOnLogin creates a user with the candidate id and empty profile', async () => {
          const result = await store.upsertUserOnLogin({
            id: 'u1',
            appId: 'wxapp1',
            openId: 'o1',
            unionId: 'un1',
            now: T0,
          });
          const expected = {
            id: 'u1',
            appId: 'wxapp1',
            openId: 'o1',
            unionId: 'un1',
            nickname: null,
            avatarUrl: null,
            phoneNumber: null,
            purePhoneNumber: null,
            countryCode: null,
            createdAt: T0,
            updatedAt: T0,
          };
          expect(result).toEqual({ user: expected, created: true });
          expect(await store.getUser('u1')).toEqual(expected);
        });

        it('upsertUserOnLogin finds the existing user of (appId, openId) and ignores the new candidate id', async () => {
          await addUser('u1', 'wxapp1', 'o1');
          const again = await store.upsertUserOnLogin({
            id: 'u2',
            appId: 'wxapp1',
            openId: 'o1',
            unionId: null,
            now: T0 + 100,
          });
          expect(again.created).toBe(false);
          expect(again.user.id).toBe('u1');
          expect(again.user.createdAt).toBe(T0);
          expect(again.user.updatedAt).toBe(T0);
          expect(await store.getUser('u2')).toBeNull();
        });

        it('the same openId in another app is another user', async () => {
          await addUser('u1', 'wxapp1', 'o1');
          const other = await store.upsertUserOnLogin({
            id: 'u2',
            appId: 'wxapp2',
            openId: 'o1',
            unionId: null,
            now: T0,
          });
          expect(other).toMatchObject({ created: true, user: { id: 'u2', appId: 'wxapp2', openId: 'o1' } });
        });

        it('records a unionId on a user that had none, updates a different one, never clears it', async () => {
          await addUser('u1', 'wxapp1', 'o1', null);
          const login = (unionId: string | null, now: number) =>
            store.upsertUserOnLogin({ id: 'ux', appId: 'wxapp1', openId: 'o1', unionId, now });
          expect((await login('un1', T0 + 10)).user).toMatchObject({ id: 'u1', unionId: 'un1', updatedAt: T0 + 10 });
          expect((await login(null, T0 + 20)).user).toMatchObject({ unionId: 'un1', updatedAt: T0 + 10 });
          expect((await login('un1', T0 + 30)).user).toMatchObject({ unionId: 'un1', updatedAt: T0 + 10 });
          expect((await login('un2', T0 + 40)).user).toMatchObject({ unionId: 'un2', updatedAt: T0 + 40 });
          expect(await store.getUser('u1')).toMatchObject({ unionId: 'un2', createdAt: T0 });
        });

        it('race: 20 concurrent first logins of one (appId, openId) create exactly one user', async () => {
          const all = await instances();
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (all[i % all.length] as Store).upsertUserOnLogin({
                id: `cand${i}`,
                appId: 'wxapp1',
                openId: 'o-race',
                unionId: 'un-race',
                now: T0,
              }),
            ),
          );
          const created = results.filter((r) => r.created);
          expect(created).toHaveLength(1);
          const winner = created[0]?.user.id;
          expect(new Set(results.map((r) => r.user.id))).toEqual(new Set([winner]));
          expect(await store.listUsersByUnionId('un-race')).toHaveLength(1);
          for (let i = 0; i < 20; i++) {
            if (`cand${i}` !== winner) expect(await store.getUser(`cand${i}`)).toBeNull();
          }
        });

        it('listUsersByUnionId links the users of every app sharing the unionId, oldest first', async () => {
          await store.upsertUserOnLogin({ id: 'b', appId: 'wxB', openId: 'ob', unionId: 'un1', now: T0 + 5 });
          await store.upsertUserOnLogin({ id: 'a', appId: 'wxA', openId: 'oa', unionId: 'un1', now: T0 });
          await store.upsertUserOnLogin({ id: 'c', appId: 'wxC', openId: 'oc', unionId: 'un2', now: T0 });
          await store.upsertUserOnLogin({ id: 'd', appId: 'wxD', openId: 'od', unionId: null, now: T0 });
          const linked = await store.listUsersByUnionId('un1');
          expect(linked.map((u) => [u.id, u.appId])).toEqual([
            ['a', 'wxA'],
            ['b', 'wxB'],
          ]);
        });

        it('updateUserProfile sets the given fields, leaves absent ones, clears with null', async () => {
          await addUser('u1');
          const first = await store.updateUserProfile(
            'u1',
            { nickname: '微信用户 🐼', avatarUrl: 'https://thirdwx.qlogo.cn/a/132', phoneNumber: '+86 138' },
            T0 + 10,
          );
          expect(first).toMatchObject({
            nickname: '微信用户 🐼',
            avatarUrl: 'https://thirdwx.qlogo.cn/a/132',
            phoneNumber: '+86 138',
            purePhoneNumber: null,
            countryCode: null,
            updatedAt: T0 + 10,
            createdAt: T0,
          });
          const second = await store.updateUserProfile(
            'u1',
            { avatarUrl: null, purePhoneNumber: '138', countryCode: '86', nickname: undefined },
            T0 + 20,
          );
          expect(second).toMatchObject({
            nickname: '微信用户 🐼',
            avatarUrl: null,
            phoneNumber: '+86 138',
            purePhoneNumber: '138',
            countryCode: '86',
            updatedAt: T0 + 20,
          });
          expect(await store.getUser('u1')).toEqual(second);
          const touched = await store.updateUserProfile('u1', {}, T0 + 30);
          expect(touched).toEqual({ ...second, updatedAt: T0 + 30 });
        });
      });

      describe('session keys', () => {
        it('saveSessionKey keeps the replaced key as previous for the grace window', async () => {
          await addUser('u1');
          await store.saveSessionKey('u1', 'k1', T0, 300);
          expect(await store.getSessionKeys('u1')).toEqual({
            userId: 'u1',
            current: 'k1',
            previous: null,
            previousUntil: 0,
            updatedAt: T0,
          });
          await store.saveSessionKey('u1', 'k2', T0 + 10, 300);
          expect(await store.getSessionKeys('u1')).toEqual({
            userId: 'u1',
            current: 'k2',
            previous: 'k1',
            previousUntil: T0 + 310,
            updatedAt: T0 + 10,
          });
          await store.saveSessionKey('u1', 'k3', T0 + 20, 60);
          expect(await store.getSessionKeys('u1')).toMatchObject({
            current: 'k3',
            previous: 'k2',
            previousUntil: T0 + 80,
          });
        });

        it('saving the current key again does not evict previous', async () => {
          await addUser('u1');
          await store.saveSessionKey('u1', 'k1', T0, 300);
          await store.saveSessionKey('u1', 'k2', T0 + 10, 300);
          await store.saveSessionKey('u1', 'k2', T0 + 20, 300);
          expect(await store.getSessionKeys('u1')).toEqual({
            userId: 'u1',
            current: 'k2',
            previous: 'k1',
            previousUntil: T0 + 310,
            updatedAt: T0 + 20,
          });
        });

        it('race: concurrent saves leave a consistent record (previous really was current before)', async () => {
          await addUser('u1');
          await store.saveSessionKey('u1', 'k0', T0, 300);
          const all = await instances();
          const keys = Array.from({ length: 12 }, (_, i) => `k${i + 1}`);
          await Promise.all(keys.map((k, i) => (all[i % all.length] as Store).saveSessionKey('u1', k, T0 + 10, 300)));
          const record = await store.getSessionKeys('u1');
          expect(keys).toContain(record?.current);
          expect(['k0', ...keys]).toContain(record?.previous);
          expect(record?.previous).not.toBe(record?.current);
          expect(record?.previousUntil).toBe(T0 + 310);
        });
      });

      describe('logins (recordLogin)', () => {
        function login(
          candidateId: string,
          opts: {
            openId?: string;
            sessionId?: string | null;
            tokenId?: string;
            now?: number;
            key?: (userId: string, current: string | null) => string | null;
          } = {},
        ): LoginRecord {
          const now = opts.now ?? T0;
          const sessionId = opts.sessionId === undefined ? `s-${candidateId}` : opts.sessionId;
          return {
            user: { id: candidateId, appId: 'wxapp1', openId: opts.openId ?? `o-${candidateId}`, unionId: null, now },
            sessionKey: opts.key ?? (() => `sealed-at-${now}`),
            graceSeconds: 300,
            session:
              sessionId === null
                ? null
                : {
                    id: sessionId,
                    createdAt: now,
                    expiresAt: now + 3600,
                    refreshToken: { id: opts.tokenId ?? `${sessionId}-rt0`, secretHash: 'h0', expiresAt: now + 3600 },
                  },
          };
        }

        it('a first login stores the user, the session key and the session with its first refresh token', async () => {
          const seen: [string, string | null][] = [];
          const result = await store.recordLogin(
            login('u1', {
              key: (userId, current) => {
                seen.push([userId, current]);
                return 'k1';
              },
            }),
          );
          expect(result).toMatchObject({ created: true, user: { id: 'u1', appId: 'wxapp1', openId: 'o-u1' } });
          expect(await store.getUser('u1')).toEqual(result.user);
          expect(seen).toEqual([['u1', null]]);
          expect(await store.getSessionKeys('u1')).toMatchObject({ current: 'k1', previous: null, updatedAt: T0 });
          expect(await store.getSession('s-u1')).toEqual({
            id: 's-u1',
            userId: 'u1',
            appId: 'wxapp1',
            createdAt: T0,
            expiresAt: T0 + 3600,
            revokedAt: null,
          });
          expect(await store.getRefreshToken('s-u1-rt0')).toEqual({
            id: 's-u1-rt0',
            sessionId: 's-u1',
            secretHash: 'h0',
            expiresAt: T0 + 3600,
            spentAt: null,
          });
        });

        it('a returning login keeps the user id; a null key keeps the current key and its previous', async () => {
          await store.recordLogin(login('u1', { key: () => 'k1' }));
          await store.recordLogin(login('other', { openId: 'o-u1', sessionId: 's2', now: T0 + 10, key: () => 'k2' }));
          expect(await store.getSessionKeys('u1')).toMatchObject({
            current: 'k2',
            previous: 'k1',
            previousUntil: T0 + 310,
          });
          const seen: (string | null)[] = [];
          const again = await store.recordLogin(
            login('third', {
              openId: 'o-u1',
              sessionId: 's3',
              now: T0 + 20,
              key: (_, current) => {
                seen.push(current);
                return null;
              },
            }),
          );
          expect(again).toMatchObject({ created: false, user: { id: 'u1' } });
          expect(seen).toEqual(['k2']);
          expect(await store.getSessionKeys('u1')).toMatchObject({
            current: 'k2',
            previous: 'k1',
            previousUntil: T0 + 310,
            updatedAt: T0 + 10,
          });
          expect(await store.getUser('other')).toBeNull();
          expect(await store.getSession('s3')).toMatchObject({ userId: 'u1', createdAt: T0 + 20 });
        });

        it('a login without a session stores the user and key only', async () => {
          await store.recordLogin(login('u1', { sessionId: null, key: () => 'k1' }));
          expect(await store.getUser('u1')).not.toBeNull();
          expect(await store.getSessionKeys('u1')).toMatchObject({ current: 'k1' });
          expect(await store.countActiveSessions(T0)).toBe(0);
        });

        it('is atomic: when the session cannot be stored, neither is the user nor the key', async () => {
          await store.recordLogin(login('u1', { tokenId: 'rt-dup', key: () => 'k1' }));
          await expect(store.recordLogin(login('u2', { tokenId: 'rt-dup', key: () => 'k2' }))).rejects.toBeInstanceOf(
            StoreUnavailableError,
          );
          expect(await store.getUser('u2')).toBeNull();
          expect(await store.getSessionKeys('u2')).toBeNull();
          expect(await store.getSession('s-u2')).toBeNull();
          // a returning user's key is not replaced either
          await expect(
            store.recordLogin(login('x', { openId: 'o-u1', sessionId: 's9', tokenId: 'rt-dup', key: () => 'k9' })),
          ).rejects.toBeInstanceOf(StoreUnavailableError);
          expect(await store.getSessionKeys('u1')).toMatchObject({ current: 'k1', previous: null });
        });

        it('is atomic: a session-key callback that throws leaves nothing behind', async () => {
          await expect(
            store.recordLogin(
              login('u1', {
                key: () => {
                  throw new Error('cannot seal');
                },
              }),
            ),
          ).rejects.toBeInstanceOf(Error);
          expect(await store.getUser('u1')).toBeNull();
          expect(await store.getSession('s-u1')).toBeNull();
        });

        it('rejects a time that is not whole seconds with TypeError, writing nothing', async () => {
          await expect(store.recordLogin(login('u1', { now: T0 + 0.5 }))).rejects.toBeInstanceOf(TypeError);
          await expect(store.recordLogin(login('u1', { now: Date.now() }))).rejects.toBeInstanceOf(TypeError);
          expect(await store.getUser('u1')).toBeNull();
        });

        it('race: 20 concurrent logins of one new (appId, openId) create one user, 20 sessions', async () => {
          const all = await instances();
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (all[i % all.length] as Store).recordLogin(
                login(`cand${i}`, { openId: 'o-race', sessionId: `s${i}`, key: () => `k${i}` }),
              ),
            ),
          );
          const created = results.filter((r) => r.created);
          expect(created).toHaveLength(1);
          const winner = created[0]?.user.id as string;
          expect(new Set(results.map((r) => r.user.id))).toEqual(new Set([winner]));
          for (let i = 0; i < 20; i++) expect(await store.getSession(`s${i}`)).toMatchObject({ userId: winner });
          const keys = await store.getSessionKeys(winner);
          expect(keys?.previous).not.toBe(keys?.current);
        });
      });

      describe('sessions and refresh tokens', () => {
        it('createSession stores the session and its first refresh token', async () => {
          await addUser('u1');
          const input = newSession('s1', 'u1', { expiresAt: T0 + 3600 });
          await store.createSession(input);
          expect(await store.getSession('s1')).toEqual(input.session);
          expect(await store.getRefreshToken('s1-rt0')).toEqual(input.refreshToken);
        });

        it('createSession is atomic: when the token cannot be stored, neither is the session', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { tokenId: 'rt-dup' }));
          await expect(store.createSession(newSession('s2', 'u1', { tokenId: 'rt-dup' }))).rejects.toBeInstanceOf(
            Error,
          );
          expect(await store.getSession('s2')).toBeNull();
          expect(await store.getRefreshToken('rt-dup')).toMatchObject({ sessionId: 's1' });
        });

        it('concurrent writes: one that fails is rolled back alone, the others are stored', async () => {
          await addUser('u1');
          await store.createSession(newSession('s0', 'u1', { tokenId: 'rt-dup' }));
          const results = await Promise.allSettled([
            store.createSession(newSession('s1', 'u1')),
            store.createSession(newSession('s2', 'u1', { tokenId: 'rt-dup' })),
            store.revokeSession('s0', T0 + 1),
            store.createSession(newSession('s3', 'u1')),
          ]);
          expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
          expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
          expect(await store.getSession('s1')).not.toBeNull();
          expect(await store.getSession('s2')).toBeNull();
          expect(await store.getSession('s3')).not.toBeNull();
          expect(await store.getSession('s0')).toMatchObject({ revokedAt: T0 + 1 });
          expect(await store.getRefreshToken('rt-dup')).toMatchObject({ sessionId: 's0' });
        });

        it('createSession refuses a first token of another session with TypeError', async () => {
          await addUser('u1');
          const input = newSession('s1', 'u1');
          const wrong = { ...input, refreshToken: { ...input.refreshToken, sessionId: 's2' } };
          await expect(store.createSession(wrong)).rejects.toBeInstanceOf(TypeError);
          expect(await store.getSession('s1')).toBeNull();
        });

        it('revokeSession is idempotent: the first revokedAt stays', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1'));
          expect(await store.revokeSession('s1', T0 + 10)).toBe(true);
          expect(await store.revokeSession('s1', T0 + 20)).toBe(true);
          expect(await store.getSession('s1')).toMatchObject({ revokedAt: T0 + 10 });
        });

        it('countActiveSessions counts sessions neither revoked nor expired', async () => {
          await addUser('u1');
          expect(await store.countActiveSessions(T0)).toBe(0);
          for (const id of ['a1', 'a2', 'a3']) await store.createSession(newSession(id, 'u1', { expiresAt: T0 + 100 }));
          await store.createSession(newSession('a4', 'u1', { expiresAt: T0 + 10 }));
          await store.revokeSession('a1', T0 + 1);
          expect(await store.countActiveSessions(T0 + 5)).toBe(3);
          expect(await store.countActiveSessions(T0 + 50)).toBe(2);
          expect(await store.countActiveSessions(T0 + 100)).toBe(0);
        });

        it('listRevokedSessionIds lists sessions revoked at or after `since`', async () => {
          await addUser('u1');
          for (const id of ['s1', 's2', 's3', 's4']) await store.createSession(newSession(id, 'u1'));
          await store.revokeSession('s1', T0 + 5);
          await store.revokeSession('s2', T0 + 10);
          await store.revokeSession('s3', T0 + 20);
          const ids = await store.listRevokedSessionIds(T0 + 10);
          expect([...ids].sort()).toEqual(['s2', 's3']);
          expect(await store.listRevokedSessionIds(T0 + 21)).toEqual([]);
        });

        it('rotateRefreshToken spends the token, stores the next one and moves the session expiry', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { expiresAt: T0 + 100 }));
          const next = nextToken('rt1', 's1', T0 + 500);
          expect(await store.rotateRefreshToken('s1-rt0', next, T0 + 50)).toBe(true);
          expect(await store.getRefreshToken('s1-rt0')).toMatchObject({ spentAt: T0 + 50, expiresAt: T0 + 100 });
          expect(await store.getRefreshToken('rt1')).toEqual(next);
          expect(await store.getSession('s1')).toMatchObject({ expiresAt: T0 + 500, revokedAt: null });
          // the new token rotates in turn
          expect(await store.rotateRefreshToken('rt1', nextToken('rt2', 's1', T0 + 900), T0 + 60)).toBe(true);
          expect(await store.getSession('s1')).toMatchObject({ expiresAt: T0 + 900 });
        });

        it('rotateRefreshToken answers false for a spent token and writes nothing', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { expiresAt: T0 + 100 }));
          expect(await store.rotateRefreshToken('s1-rt0', nextToken('rt1', 's1', T0 + 500), T0 + 10)).toBe(true);
          expect(await store.rotateRefreshToken('s1-rt0', nextToken('rt2', 's1', T0 + 800), T0 + 20)).toBe(false);
          expect(await store.getRefreshToken('rt2')).toBeNull();
          expect(await store.getRefreshToken('s1-rt0')).toMatchObject({ spentAt: T0 + 10 });
          expect(await store.getSession('s1')).toMatchObject({ expiresAt: T0 + 500 });
        });

        it('rotateRefreshToken answers false on a revoked session and writes nothing', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { expiresAt: T0 + 100 }));
          await store.revokeSession('s1', T0 + 5);
          expect(await store.rotateRefreshToken('s1-rt0', nextToken('rt1', 's1', T0 + 500), T0 + 10)).toBe(false);
          expect(await store.getRefreshToken('rt1')).toBeNull();
          expect(await store.getRefreshToken('s1-rt0')).toMatchObject({ spentAt: null });
          expect(await store.getSession('s1')).toMatchObject({ expiresAt: T0 + 100, revokedAt: T0 + 5 });
        });

        it('rotateRefreshToken refuses a next token of another session with TypeError', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1'));
          await store.createSession(newSession('s2', 'u1'));
          await expect(
            store.rotateRefreshToken('s1-rt0', nextToken('rt1', 's2', T0 + 500), T0 + 10),
          ).rejects.toBeInstanceOf(TypeError);
          expect(await store.getRefreshToken('rt1')).toBeNull();
          expect(await store.getRefreshToken('s1-rt0')).toMatchObject({ spentAt: null });
        });

        it('race: of 20 concurrent rotations of one token exactly one succeeds and stores its token', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { expiresAt: T0 + 100 }));
          const all = await instances();
          const nexts = Array.from({ length: 20 }, (_, i) => nextToken(`next${i}`, 's1', T0 + 1000 + i));
          const results = await Promise.all(
            nexts.map((next, i) => (all[i % all.length] as Store).rotateRefreshToken('s1-rt0', next, T0 + 10)),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          const winner = results.indexOf(true);
          const stored = await Promise.all(nexts.map((next) => store.getRefreshToken(next.id)));
          expect(stored.filter((t) => t !== null).map((t) => t?.id)).toEqual([`next${winner}`]);
          expect(await store.getSession('s1')).toMatchObject({ expiresAt: T0 + 1000 + winner });
          expect(await store.getRefreshToken('s1-rt0')).toMatchObject({ spentAt: T0 + 10 });
        });

        it('race: rotation against revocation leaves no usable token behind', async () => {
          await addUser('u1');
          await store.createSession(newSession('s1', 'u1', { expiresAt: T0 + 100 }));
          const all = await instances();
          const [rotated] = await Promise.all([
            (all[0] as Store).rotateRefreshToken('s1-rt0', nextToken('rt1', 's1', T0 + 500), T0 + 10),
            (all[all.length - 1] as Store).revokeSession('s1', T0 + 10),
          ]);
          expect(await store.getSession('s1')).toMatchObject({ revokedAt: T0 + 10 });
          expect((await store.getRefreshToken('rt1')) !== null).toBe(rotated);
          expect(await store.rotateRefreshToken('rt1', nextToken('rt2', 's1', T0 + 900), T0 + 20)).toBe(false);
        });

        it('deleteExpired removes sessions and tokens that expired before `before`', async () => {
          await addUser('u1');
          await store.createSession(newSession('old', 'u1', { expiresAt: T0 + 100 }));
          await store.createSession(newSession('edge', 'u1', { expiresAt: T0 + 150 }));
          await store.createSession(newSession('live', 'u1', { expiresAt: T0 + 120 }));
          // live: its first token expires at +120 and is spent; the session moves on to +1000
          expect(await store.rotateRefreshToken('live-rt0', nextToken('live-rt1', 'live', T0 + 1000), T0 + 10)).toBe(
            true,
          );
          await store.revokeSession('edge', T0 + 20);
          expect(await store.deleteExpired(T0 + 150)).toBe(1);
          expect(await store.getSession('old')).toBeNull();
          expect(await store.getRefreshToken('old-rt0')).toBeNull();
          expect(await store.getRefreshToken('live-rt0')).toBeNull();
          expect(await store.getSession('live')).toMatchObject({ expiresAt: T0 + 1000 });
          expect(await store.getRefreshToken('live-rt1')).not.toBeNull();
          // expiring exactly at `before` is not "before"
          expect(await store.getSession('edge')).not.toBeNull();
          expect(await store.listRevokedSessionIds(0)).toEqual(['edge']);
          expect(await store.deleteExpired(T0 + 150)).toBe(0);
        });
      });

      describe('signing keys', () => {
        it('addSigningKey makes the key active and retires the previous one; listed newest first', async () => {
          const k1 = signingKey('k1', T0);
          await store.addSigningKey(k1, T0);
          expect(await store.listSigningKeys()).toEqual([k1]);
          const k2 = signingKey('k2', T0 + 100, 'ES256');
          await store.addSigningKey(k2, T0 + 100);
          expect(await store.listSigningKeys()).toEqual([k2, { ...k1, retiredAt: T0 + 100 }]);
          await store.addSigningKey(signingKey('k3', T0 + 200), T0 + 200);
          const listed = await store.listSigningKeys();
          expect(listed.map((k) => [k.kid, k.retiredAt])).toEqual([
            ['k3', null],
            ['k2', T0 + 200],
            ['k1', T0 + 100],
          ]);
        });

        it('addSigningKey stores the key active whatever its retiredAt says', async () => {
          await store.addSigningKey({ ...signingKey('k1', T0), retiredAt: T0 - 1 }, T0);
          expect(await store.listSigningKeys()).toMatchObject([{ kid: 'k1', retiredAt: null }]);
        });

        it('race: 10 concurrent addSigningKey calls leave exactly one active key', async () => {
          await store.addSigningKey(signingKey('k0', T0), T0);
          const all = await instances();
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (all[i % all.length] as Store).addSigningKey(signingKey(`k${i + 1}`, T0 + 10), T0 + 10),
            ),
          );
          const keys = await store.listSigningKeys();
          expect(keys).toHaveLength(11);
          const active = keys.filter((k) => k.retiredAt === null);
          expect(active).toHaveLength(1);
          expect(keys[0]).toEqual(active[0]);
          expect(keys.find((k) => k.kid === 'k0')?.retiredAt).toBe(T0 + 10);
        });

        it('deleteRetiredSigningKeys deletes keys retired before `before`, never the active one', async () => {
          await store.addSigningKey(signingKey('k1', T0), T0);
          await store.addSigningKey(signingKey('k2', T0 + 10), T0 + 10);
          await store.addSigningKey(signingKey('k3', T0 + 20), T0 + 20);
          // k1 retired at +10, k2 at +20, k3 active
          expect(await store.deleteRetiredSigningKeys(T0 + 20)).toBe(1);
          expect((await store.listSigningKeys()).map((k) => k.kid)).toEqual(['k3', 'k2']);
          expect(await store.deleteRetiredSigningKeys(T0 + 1_000_000)).toBe(1);
          expect((await store.listSigningKeys()).map((k) => k.kid)).toEqual(['k3']);
        });
      });
    });
  });
}
