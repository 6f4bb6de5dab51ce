import { describe, expect, it } from 'vitest';
import { createWechatClient, type WechatClientOptions } from './client.js';
import { WechatError } from './errors.js';
import { APP_ID, type FakeRoute, fakeWechat, issuingTokens, SECRET } from './testing/fake-fetch.js';
import { type CachedAccessToken, MemoryTokenCache, type TokenCache } from './token-cache.js';
import { accessTokenCacheKey } from './token-manager.js';

const STABLE = '/cgi-bin/stable_token';
const CLASSIC = '/cgi-bin/token';
const PHONE = '/wxa/business/getuserphonenumber';
const USER = { openId: 'o1', sessionKey: 'ABEiM0RVZneImaq7zN3u/w==' };

const PHONE_OK = {
  json: {
    errcode: 0,
    errmsg: 'ok',
    phone_info: {
      phoneNumber: '13800138000',
      purePhoneNumber: '13800138000',
      countryCode: '86',
      watermark: { timestamp: 1700000000, appid: APP_ID },
    },
  },
};

function setup(routes: Record<string, FakeRoute>, options: Partial<WechatClientOptions> = {}) {
  const wechat = fakeWechat({ [STABLE]: issuingTokens(), [CLASSIC]: issuingTokens(), ...routes });
  const client = createWechatClient({
    appId: APP_ID,
    secret: SECRET,
    fetch: wechat.fetch,
    sleep: async () => {},
    random: () => 0,
    ...options,
  });
  return { wechat, client };
}

/** A cache that records what happens to it, with an optional lock. */
class RecordingCache extends MemoryTokenCache {
  readonly log: string[] = [];
  override async get(key: string): Promise<CachedAccessToken | null> {
    this.log.push(`get ${key}`);
    return super.get(key);
  }
  override async set(key: string, value: CachedAccessToken): Promise<void> {
    this.log.push(`set ${key} ${value.token}`);
    return super.set(key, value);
  }
  override async delete(key: string): Promise<void> {
    this.log.push(`delete ${key}`);
    return super.delete(key);
  }
}

class LockingCache extends RecordingCache implements TokenCache {
  locks = 0;
  #tail: Promise<unknown> = Promise.resolve();
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    this.locks++;
    this.log.push(`lock ${key}`);
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }
}

describe('access token manager', () => {
  it('100 concurrent callers with no cached token cause exactly one token fetch', async () => {
    const { client, wechat } = setup({ [STABLE]: issuingTokens({ delayMs: 20 }) });
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()));
    expect(new Set(tokens)).toEqual(new Set(['ACCESS-1']));
    expect(wechat.count(STABLE)).toBe(1);
  });

  it('100 concurrent callers with an expired cached token cause exactly one token fetch', async () => {
    const cache = new RecordingCache();
    const now = 1_000_000;
    await cache.set(accessTokenCacheKey(APP_ID, 'stable'), { token: 'OLD', expiresAt: now - 1 });
    const { client, wechat } = setup(
      { [STABLE]: issuingTokens({ delayMs: 20 }) },
      { tokenCache: cache, now: () => now },
    );
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken()));
    expect(new Set(tokens)).toEqual(new Set(['ACCESS-1']));
    expect(wechat.count(STABLE)).toBe(1);
    // one shared refresh: 100 first reads + 1 re-read inside the refresh, one write
    expect(cache.log.filter((line) => line.startsWith('get')).length).toBe(101);
    expect(cache.log.filter((line) => line.startsWith('set')).length).toBe(2);
    await expect(cache.get(accessTokenCacheKey(APP_ID, 'stable'))).resolves.toEqual({
      token: 'ACCESS-1',
      expiresAt: now + 7_200_000,
    });
  });

  it('refreshes refreshMarginSeconds ahead of expiry, not earlier', async () => {
    let now = 0;
    const { client, wechat } = setup({}, { now: () => now, refreshMarginSeconds: 300 });
    await expect(client.getAccessToken()).resolves.toBe('ACCESS-1');
    now = (7200 - 300) * 1000 - 1;
    await expect(client.getAccessToken()).resolves.toBe('ACCESS-1');
    expect(wechat.count(STABLE)).toBe(1);
    now = (7200 - 300) * 1000;
    await expect(client.getAccessToken()).resolves.toBe('ACCESS-2');
    expect(wechat.count(STABLE)).toBe(2);
  });

  it('honours the margin for a token another process cached', async () => {
    const cache = new MemoryTokenCache();
    const key = accessTokenCacheKey(APP_ID, 'stable');
    await cache.set(key, { token: 'SHARED', expiresAt: 600_000 });
    let now = 0;
    const { client, wechat } = setup({}, { tokenCache: cache, now: () => now, refreshMarginSeconds: 60 });
    await expect(client.getAccessToken()).resolves.toBe('SHARED');
    now = 540_000;
    await expect(client.getAccessToken()).resolves.toBe('ACCESS-1');
    expect(wechat.count(STABLE)).toBe(1);
  });

  it('a token issued with less life than the margin is reused for half its life instead of refetched per call', async () => {
    let now = 0;
    const { client, wechat } = setup({ [STABLE]: issuingTokens({ expiresIn: 120 }) }, { now: () => now });
    await client.getAccessToken();
    now = 59_000;
    await client.getAccessToken();
    expect(wechat.count(STABLE)).toBe(1);
    now = 60_000;
    await client.getAccessToken();
    expect(wechat.count(STABLE)).toBe(2);
  });

  it('keys the cache by appId and mode, never by the secret', async () => {
    const cache = new RecordingCache();
    const { client } = setup({}, { tokenCache: cache, accessTokenMode: 'classic' });
    await client.getAccessToken();
    expect(cache.log).toContain(`set wxlogin:wechat-access-token:${APP_ID}:classic ACCESS-1`);
    for (const line of cache.log) expect(line).not.toContain(SECRET);
  });

  it('two clients sharing a cache fetch once', async () => {
    const cache = new MemoryTokenCache();
    const first = setup({}, { tokenCache: cache });
    const second = setup({}, { tokenCache: cache });
    await first.client.getAccessToken();
    await expect(second.client.getAccessToken()).resolves.toBe('ACCESS-1');
    expect(second.wechat.count(STABLE)).toBe(0);
  });

  it('refreshes under withLock and re-reads the cache inside the lock', async () => {
    const cache = new LockingCache();
    const key = accessTokenCacheKey(APP_ID, 'stable');
    const { client, wechat } = setup({}, { tokenCache: cache });
    // Another process stores a token while this one waits for the lock.
    const original = cache.withLock.bind(cache);
    cache.withLock = async (lockKey, fn) => {
      await MemoryTokenCache.prototype.set.call(cache, key, { token: 'FROM-OTHER', expiresAt: Date.now() + 3_600_000 });
      return original(lockKey, fn);
    };
    await expect(client.getAccessToken()).resolves.toBe('FROM-OTHER');
    expect(wechat.count(STABLE)).toBe(0);
    expect(cache.log).toEqual([`get ${key}`, `lock ${key}`, `get ${key}`]);
  });

  it('with withLock, concurrent callers take the lock once', async () => {
    const cache = new LockingCache();
    const { client, wechat } = setup({ [STABLE]: issuingTokens({ delayMs: 10 }) }, { tokenCache: cache });
    await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()));
    expect(cache.locks).toBe(1);
    expect(wechat.count(STABLE)).toBe(1);
  });

  it('forceRefresh skips the cache but still asks stable_token without force_refresh', async () => {
    const { client, wechat } = setup({});
    await client.getAccessToken();
    await expect(client.getAccessToken({ forceRefresh: true })).resolves.toBe('ACCESS-2');
    expect(wechat.requests.map((r) => (r.body as { force_refresh: boolean }).force_refresh)).toEqual([false, false]);
  });

  it('a failed refresh is not cached: the next caller tries again', async () => {
    let fail = true;
    const { client, wechat } = setup(
      {
        [STABLE]: () =>
          fail ? { json: { errcode: 40164, errmsg: 'ip' } } : { json: { access_token: 'T', expires_in: 7200 } },
      },
      { maxRetries: 0 },
    );
    await expect(client.getAccessToken()).rejects.toMatchObject({ code: 'ip_not_whitelisted' });
    fail = false;
    await expect(client.getAccessToken()).resolves.toBe('T');
    expect(wechat.count(STABLE)).toBe(2);
  });
});

describe('rejected access token (40001/42001/40014)', () => {
  it.each([40001, 42001, 40014])('%i on getuserphonenumber → one refresh, one retry, success', async (errcode) => {
    let calls = 0;
    const { client, wechat } = setup({
      [PHONE]: (request) => {
        calls++;
        return request.url.searchParams.get('access_token') === 'ACCESS-1'
          ? { json: { errcode, errmsg: 'x' } }
          : PHONE_OK;
      },
    });
    await expect(client.getPhoneNumber('pc')).resolves.toMatchObject({ phoneNumber: '13800138000' });
    expect(calls).toBe(2);
    expect(wechat.count(STABLE)).toBe(2);
    expect(wechat.requests.map((r) => r.url.searchParams.get('access_token'))).toEqual([
      null,
      'ACCESS-1',
      null,
      'ACCESS-2',
    ]);
  });

  it('a second 40001 is an error, not a loop', async () => {
    const { client, wechat } = setup({ [PHONE]: () => ({ json: { errcode: 40001, errmsg: 'invalid credential' } }) });
    const error = await client.getPhoneNumber('pc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatError);
    expect(error).toMatchObject({ code: 'invalid_credential', errcode: 40001, endpoint: 'getuserphonenumber' });
    expect(wechat.count(PHONE)).toBe(2);
    expect(wechat.count(STABLE)).toBe(2);
  });

  it('the rejected token is dropped from the cache before the refresh', async () => {
    const cache = new RecordingCache();
    const key = accessTokenCacheKey(APP_ID, 'stable');
    let first = true;
    const { client } = setup(
      {
        [PHONE]: () => {
          if (!first) return PHONE_OK;
          first = false;
          return { json: { errcode: 42001, errmsg: 'expired' } };
        },
      },
      { tokenCache: cache },
    );
    await client.getPhoneNumber('pc');
    expect(cache.log).toEqual([
      `get ${key}`,
      `get ${key}`,
      `set ${key} ACCESS-1`,
      `get ${key}`,
      `delete ${key}`,
      `set ${key} ACCESS-2`,
    ]);
  });

  it('stable mode uses force_refresh:true only when the normal refresh returns the rejected token', async () => {
    let forced = 0;
    const stable: FakeRoute = (request) => {
      const force = (request.body as { force_refresh: boolean }).force_refresh;
      if (force) forced++;
      return { json: { access_token: forced > 0 ? 'FRESH' : 'STALE', expires_in: 7200 } };
    };
    const { client, wechat } = setup({
      [STABLE]: stable,
      '/wxa/checksession': (request) =>
        request.url.searchParams.get('access_token') === 'STALE'
          ? { json: { errcode: 40001, errmsg: 'not latest' } }
          : { json: { errcode: 0, errmsg: 'ok' } },
    });
    await expect(client.checkSessionKey(USER)).resolves.toBe(true);
    expect(wechat.requests.filter((r) => r.path === STABLE).map((r) => r.body)).toMatchObject([
      { force_refresh: false },
      { force_refresh: false },
      { force_refresh: true },
    ]);
  });

  it('a normal refresh that yields a new token does not force', async () => {
    const { client, wechat } = setup({
      '/wxa/resetusersessionkey': (request) =>
        request.url.searchParams.get('access_token') === 'ACCESS-1'
          ? { json: { errcode: 40014, errmsg: 'invalid access_token' } }
          : { json: { errcode: 0, errmsg: 'ok', openid: 'o1', session_key: 'tiihtNczf5v6AKRyjwEUhQ==' } },
    });
    await expect(client.resetUserSessionKey(USER)).resolves.toEqual({
      openId: 'o1',
      sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
    });
    expect(wechat.requests.filter((r) => r.path === STABLE).map((r) => r.body)).toMatchObject([
      { force_refresh: false },
      { force_refresh: false },
    ]);
  });

  it('concurrent calls rejected with the same token share one refresh', async () => {
    const { client, wechat } = setup({
      [STABLE]: issuingTokens({ delayMs: 10 }),
      [PHONE]: (request) =>
        request.url.searchParams.get('access_token') === 'ACCESS-1'
          ? { json: { errcode: 40001, errmsg: 'x' } }
          : PHONE_OK,
    });
    await client.getAccessToken();
    await Promise.all(Array.from({ length: 20 }, () => client.getPhoneNumber('pc')));
    expect(wechat.count(STABLE)).toBe(2);
    expect(wechat.count(PHONE)).toBe(40);
  });

  it('classic mode refreshes with GET /cgi-bin/token and never sends force_refresh', async () => {
    const { client, wechat } = setup(
      {
        [PHONE]: (request) =>
          request.url.searchParams.get('access_token') === 'ACCESS-1'
            ? { json: { errcode: 40001, errmsg: 'x' } }
            : PHONE_OK,
      },
      { accessTokenMode: 'classic' },
    );
    await client.getPhoneNumber('pc');
    expect(wechat.count(CLASSIC)).toBe(2);
    expect(wechat.count(STABLE)).toBe(0);
  });

  it('other errcodes do not refresh the token', async () => {
    const { client, wechat } = setup({ [PHONE]: () => ({ json: { errcode: 41001, errmsg: 'missing' } }) });
    await expect(client.getPhoneNumber('pc')).rejects.toMatchObject({ code: 'access_token_missing' });
    expect(wechat.count(STABLE)).toBe(1);
    expect(wechat.count(PHONE)).toBe(1);
  });
});
