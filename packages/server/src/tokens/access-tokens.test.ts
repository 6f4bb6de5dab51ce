import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createSealer } from '../crypto/seal.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { AccessTokens } from './access-tokens.js';

type Spied = { verifyFresh(token: string): unknown };

describe('AccessTokens', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  async function make(now: () => number = Date.now, alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<AccessTokens> {
    const store = createSqliteStore({ path: ':memory:' });
    stores.push(store);
    await store.migrate();
    const tokens = new AccessTokens(store, createSealer([randomBytes(32).toString('base64')]), {
      issuer: 'wxlogin',
      audience: 'wxlogin',
      ttlSeconds: 60,
      alg,
      now,
    });
    await tokens.init();
    return tokens;
  }

  it('verifies a new token once for any number of concurrent callers, then serves it from the cache', async () => {
    const tokens = await make();
    const token = await tokens.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
    const proto = AccessTokens.prototype as unknown as Spied;
    const original = proto.verifyFresh;
    let calls = 0;
    proto.verifyFresh = function (this: Spied, value: string) {
      calls += 1;
      return original.call(this, value);
    };
    try {
      const results = await Promise.all(Array.from({ length: 50 }, () => tokens.verify(token)));
      expect(calls).toBe(1);
      for (const claims of results) expect(claims).toMatchObject({ sub: 'u1', sid: 's1', openid: 'o1' });
      await tokens.verify(token);
      expect(calls).toBe(1);
      expect(await tokens.verify(`${token}x`)).toBeNull();
      expect(calls).toBe(2);
    } finally {
      proto.verifyFresh = original;
    }
  });

  it("verifies a token of another instance's new key once for concurrent callers, after one reload of the keys", async () => {
    let t = Date.now();
    const store = createSqliteStore({ path: ':memory:' });
    stores.push(store);
    await store.migrate();
    const sealer = createSealer([randomBytes(32).toString('base64')]);
    const options = { issuer: 'wxlogin', audience: 'wxlogin', ttlSeconds: 60, alg: 'EdDSA' as const, now: () => t };
    const here = new AccessTokens(store, sealer, options);
    const there = new AccessTokens(store, sealer, options);
    await here.init();
    await there.init();
    await there.rotate();
    const token = await there.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
    // within 10 s of its last reload, an instance does not reload for an unknown kid
    expect(await here.verify(token)).toBeNull();
    t += 11_000;
    const proto = AccessTokens.prototype as unknown as Spied & { reload(): Promise<void> };
    const original = { verifyFresh: proto.verifyFresh, reload: proto.reload };
    const calls = { verifyFresh: 0, reload: 0 };
    proto.verifyFresh = function (this: Spied, value: string) {
      calls.verifyFresh += 1;
      return original.verifyFresh.call(this, value);
    };
    proto.reload = function (this: AccessTokens) {
      calls.reload += 1;
      return original.reload.call(this);
    };
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => here.verify(token)));
      for (const claims of results) expect(claims).toMatchObject({ sub: 'u1', sid: 's1' });
      expect(calls).toEqual({ verifyFresh: 1, reload: 1 });
    } finally {
      Object.assign(proto, original);
    }
  });

  it('stops accepting a cached token at its expiry', async () => {
    let t = Date.now();
    const tokens = await make(() => t);
    const token = await tokens.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
    expect(await tokens.verify(token)).not.toBeNull();
    t += 61_000;
    expect(await tokens.verify(token)).toBeNull();
  });

  for (const alg of ['EdDSA', 'ES256'] as const) {
    it(`signs ${alg} tokens that an independent JOSE implementation verifies against the JWKS`, async () => {
      const t = 1_800_000_000_000;
      const tokens = await make(() => t, alg);
      const token = await tokens.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
      const header = decodeProtectedHeader(token);
      const [jwk] = tokens.jwks().keys;
      expect(header).toEqual({ alg, typ: 'JWT', kid: jwk?.kid });
      expect(jwk).toMatchObject({ alg, use: 'sig' });
      expect(jwk).not.toHaveProperty('d');
      const { payload } = await jwtVerify(token, await importJWK(jwk as object, alg), {
        issuer: 'wxlogin',
        audience: 'wxlogin',
        currentDate: new Date(t),
      });
      expect(payload).toEqual({
        iss: 'wxlogin',
        aud: 'wxlogin',
        sub: 'u1',
        sid: 's1',
        appid: 'wx0123456789abcdef',
        openid: 'o1',
        iat: 1_800_000_000,
        exp: 1_800_000_060,
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(await tokens.verify(token)).toEqual(payload);
    });
  }

  it('refuses a token signed by a key of another store, and one whose header names no known kid', async () => {
    const tokens = await make();
    const other = await make();
    const foreign = await other.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
    expect(await tokens.verify(foreign)).toBeNull();
    const own = await tokens.sign({ userId: 'u1', sessionId: 's1', appId: 'wx0123456789abcdef', openId: 'o1' });
    const [, payload, signature] = own.split('.');
    const noKid = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url');
    expect(await tokens.verify(`${noKid}.${payload}.${signature}`)).toBeNull();
    expect(await tokens.verify('not-a-token')).toBeNull();
  });
});
