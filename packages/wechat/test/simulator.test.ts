// The client against the simulator over real HTTP on 127.0.0.1, using the default keep-alive fetch.
import { DEV_APP, type SimEndpoint, type Simulator, startSimulator } from '@wxlogin/simulator';
import { createWechatClient, type WechatClient, type WechatClientOptions } from '@wxlogin/wechat';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from './failure.js';

let sim: Simulator;
const clients: WechatClient[] = [];

beforeEach(async () => {
  sim = await startSimulator();
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await sim.close();
});

function connect(options: Partial<WechatClientOptions> = {}): WechatClient {
  const client = createWechatClient({
    appId: DEV_APP.appId,
    secret: DEV_APP.secret,
    baseUrl: sim.url,
    sleep: async () => {},
    random: () => 0,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Logs `user` in through the client and returns what the server would hold. */
async function login(client: WechatClient, user = 'alice'): Promise<{ openId: string; sessionKey: string }> {
  const { openId, sessionKey } = await client.code2Session(sim.mintLoginCode({ user }).code);
  return { openId, sessionKey };
}

describe('success paths', () => {
  it('code2Session returns openid, the current session key and the unionid', async () => {
    const client = connect();
    const minted = sim.mintLoginCode({ user: 'alice' });
    const result = await client.code2Session(minted.code);
    expect(result).toEqual({
      openId: minted.openid,
      sessionKey: sim.sessionKeyOf(DEV_APP.appId, minted.openid),
      unionId: minted.unionid,
    });
    expect(result.unionId).not.toBeNull();
    expect(sim.calls('jscode2session')).toBe(1);
  });

  it('a redeemed code is code_used; garbage and expired codes are invalid_code', async () => {
    const client = connect();
    const minted = sim.mintLoginCode();
    await client.code2Session(minted.code);
    expect(await failure(client.code2Session(minted.code))).toMatchObject({ code: 'code_used', errcode: 40163 });
    expect(await failure(client.code2Session('garbage'))).toMatchObject({ code: 'invalid_code', errcode: 40029 });
    const expired = sim.mintLoginCode();
    sim.expireCode(expired.code);
    expect(await failure(client.code2Session(expired.code))).toMatchObject({ code: 'invalid_code', errcode: 40029 });
  });

  it('stable_token (default) is fetched once and cached', async () => {
    const client = connect();
    const token = await client.getAccessToken();
    expect(token.length).toBeGreaterThan(0);
    await expect(client.getAccessToken()).resolves.toBe(token);
    expect(sim.calls('stable_token')).toBe(1);
    expect(sim.calls('token')).toBe(0);
  });

  it('classic /cgi-bin/token works too', async () => {
    const client = connect({ accessTokenMode: 'classic' });
    const token = await client.getAccessToken();
    expect(token.length).toBeGreaterThan(0);
    expect(sim.calls('token')).toBe(1);
    expect(sim.calls('stable_token')).toBe(0);
  });

  it('checksession: true for the current key, false for a rotated or expired one', async () => {
    const client = connect();
    const user = await login(client);
    await expect(client.checkSessionKey(user)).resolves.toBe(true);
    await expect(client.checkSessionKey({ ...user, sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==' })).resolves.toBe(false);
    sim.rotateSessionKey(DEV_APP.appId, user.openId);
    await expect(client.checkSessionKey(user)).resolves.toBe(false);
    const again = await login(client);
    await expect(client.checkSessionKey(again)).resolves.toBe(true);
    sim.expireSessionKey(DEV_APP.appId, again.openId);
    await expect(client.checkSessionKey(again)).resolves.toBe(false);
  });

  it('resetusersessionkey returns the new current key', async () => {
    const client = connect();
    const user = await login(client);
    const reset = await client.resetUserSessionKey(user);
    expect(reset.openId).toBe(user.openId);
    expect(reset.sessionKey).not.toBe(user.sessionKey);
    expect(reset.sessionKey).toBe(sim.sessionKeyOf(DEV_APP.appId, user.openId));
    await expect(client.checkSessionKey(user)).resolves.toBe(false);
    await expect(client.checkSessionKey({ openId: user.openId, sessionKey: reset.sessionKey })).resolves.toBe(true);
    expect(await failure(client.resetUserSessionKey(user))).toMatchObject({
      code: 'invalid_signature',
      errcode: 87009,
    });
  });

  it('getPhoneNumber exchanges a phone code once', async () => {
    const client = connect();
    const phone = sim.phoneCode({ user: 'bob', phoneNumber: '13900139000' });
    await expect(client.getPhoneNumber(phone.code)).resolves.toEqual({
      phoneNumber: '13900139000',
      purePhoneNumber: '13900139000',
      countryCode: '86',
      watermark: { appId: DEV_APP.appId, timestamp: expect.any(Number) },
    });
    expect(await failure(client.getPhoneNumber(phone.code))).toMatchObject({ code: 'invalid_code', errcode: 40029 });
  });

  it('expired access tokens (42001) are refreshed once and the call retried', async () => {
    const client = connect();
    const user = await login(client);
    const before = await client.getAccessToken();
    sim.expireAccessTokens(DEV_APP.appId);
    await expect(client.checkSessionKey(user)).resolves.toBe(true);
    await expect(client.getAccessToken()).resolves.not.toBe(before);
    expect(sim.calls('checksession')).toBe(2);
    expect(sim.calls('stable_token')).toBe(2);
  });
});

describe('unknown app and wrong secret', () => {
  it('an unknown appid is refused on every secret endpoint', async () => {
    const client = connect({ appId: 'wx1111111111111111', maxRetries: 0 });
    expect(await failure(client.code2Session(sim.mintLoginCode().code))).toMatchObject({
      code: 'invalid_appid',
      errcode: 40013,
      endpoint: 'jscode2session',
    });
    expect(await failure(client.getAccessToken())).toMatchObject({ code: 'invalid_appid', endpoint: 'stable_token' });
  });

  it('a wrong secret is invalid_secret', async () => {
    const client = connect({ secret: 'f'.repeat(32) });
    expect(await failure(client.code2Session(sim.mintLoginCode().code))).toMatchObject({
      code: 'invalid_secret',
      errcode: 40125,
    });
    expect(await failure(client.getAccessToken())).toMatchObject({ code: 'invalid_secret', errcode: 40125 });
  });
});

describe('injected faults', () => {
  const ENDPOINT_CALLS: Array<[SimEndpoint, (client: WechatClient) => Promise<unknown>]> = [
    ['jscode2session', (c) => c.code2Session(sim.mintLoginCode().code)],
    ['stable_token', (c) => c.getAccessToken()],
    ['token', (c) => c.getAccessToken()],
    ['checksession', async (c) => c.checkSessionKey(await login(c))],
    ['resetusersessionkey', async (c) => c.resetUserSessionKey(await login(c))],
    ['getuserphonenumber', (c) => c.getPhoneNumber(sim.phoneCode().code)],
  ];
  const modeOf = (endpoint: SimEndpoint): Partial<WechatClientOptions> =>
    endpoint === 'token' ? { accessTokenMode: 'classic' } : {};

  for (const [endpoint, call] of ENDPOINT_CALLS) {
    describe(endpoint, () => {
      it.each([
        [-1, 'system_busy'],
        [40029, 'invalid_code'],
        [40163, 'code_used'],
        [45011, 'rate_limited'],
        [40226, 'user_blocked'],
      ] as const)('errcode %i → %s', async (errcode, code) => {
        const client = connect({ maxRetries: 0, ...modeOf(endpoint) });
        sim.inject({ endpoint, errcode, times: 'always' });
        expect(await failure(call(client))).toMatchObject({ code, errcode, endpoint });
      });

      it('errcode 40001', async () => {
        const client = connect({ maxRetries: 0, ...modeOf(endpoint) });
        sim.inject({ endpoint, errcode: 40001, times: 'always' });
        expect(await failure(call(client))).toMatchObject({ code: 'invalid_credential', errcode: 40001, endpoint });
      });

      it('a delay beyond the timeout → timeout, quickly', async () => {
        const client = connect({ maxRetries: 0, requestTimeoutMs: 100, ...modeOf(endpoint) });
        sim.inject({ endpoint, delayMs: 800, times: 'always' });
        const started = performance.now();
        expect(await failure(call(client))).toMatchObject({ code: 'timeout', retryable: true, endpoint });
        expect(performance.now() - started).toBeLessThan(700);
      });

      it('a delay within the timeout is a normal answer', async () => {
        const client = connect({ ...modeOf(endpoint) });
        sim.inject({ endpoint, delayMs: 30 });
        await expect(call(client)).resolves.toBeDefined();
      });

      it('an HTML 502 page → unexpected', async () => {
        const client = connect({ maxRetries: 0, ...modeOf(endpoint) });
        sim.inject({ endpoint, html: true, times: 'always' });
        expect(await failure(call(client))).toMatchObject({ code: 'unexpected', retryable: true, endpoint });
      });

      it('a garbage body → unexpected', async () => {
        const client = connect({ maxRetries: 0, ...modeOf(endpoint) });
        sim.inject({ endpoint, body: 'Service Unavailable', times: 'always' });
        expect(await failure(call(client))).toMatchObject({ code: 'unexpected', retryable: false, endpoint });
      });

      it('a dropped connection → network', async () => {
        const client = connect({ maxRetries: 0, ...modeOf(endpoint) });
        sim.inject({ endpoint, drop: true, times: 'always' });
        expect(await failure(call(client))).toMatchObject({ code: 'network', retryable: true, endpoint });
      });
    });
  }
});

describe('retry policy against the simulator', () => {
  it.each([
    ['-1', { errcode: -1 }],
    ['a drop', { drop: true }],
    ['an HTML page', { html: true }],
  ] as const)('stable_token is retried after %s and succeeds', async (_what, fault) => {
    const client = connect();
    sim.inject({ endpoint: 'stable_token', times: 2, ...fault });
    await expect(client.getAccessToken()).resolves.toEqual(expect.any(String));
    expect(sim.calls('stable_token')).toBe(3);
  });

  it('token calls stop after 1 + maxRetries attempts', async () => {
    const client = connect({ maxRetries: 2 });
    sim.inject({ endpoint: 'stable_token', errcode: -1, times: 'always' });
    expect(await failure(client.getAccessToken())).toMatchObject({ code: 'system_busy' });
    expect(sim.calls('stable_token')).toBe(3);
  });

  it('checksession is retried after a timeout', async () => {
    const client = connect({ requestTimeoutMs: 150 });
    const user = await login(client);
    sim.inject({ endpoint: 'checksession', delayMs: 1000 });
    await expect(client.checkSessionKey(user)).resolves.toBe(true);
    expect(sim.calls('checksession')).toBe(2);
  });

  it.each([
    ['-1', { errcode: -1 }],
    ['a drop', { drop: true }],
  ] as const)('code2Session is never retried after %s', async (_what, fault) => {
    const client = connect({ maxRetries: 5 });
    sim.inject({ endpoint: 'jscode2session', ...fault });
    await failure(client.code2Session(sim.mintLoginCode().code));
    expect(sim.calls('jscode2session')).toBe(1);
  });

  it('getPhoneNumber is never retried after a timeout', async () => {
    const client = connect({ maxRetries: 5, requestTimeoutMs: 150 });
    await client.getAccessToken();
    sim.inject({ endpoint: 'getuserphonenumber', delayMs: 1000 });
    expect(await failure(client.getPhoneNumber(sim.phoneCode().code))).toMatchObject({ code: 'timeout' });
    expect(sim.calls('getuserphonenumber')).toBe(1);
  });

  it('40001 on getuserphonenumber → one token refresh, one retry, success', async () => {
    const client = connect();
    const phone = sim.phoneCode();
    sim.inject({ endpoint: 'getuserphonenumber', errcode: 40001 });
    await expect(client.getPhoneNumber(phone.code)).resolves.toMatchObject({ phoneNumber: '13800138000' });
    expect(sim.calls('getuserphonenumber')).toBe(2);
    // first fetch, then the normal refresh returns the same token, so a forced refresh follows
    expect(sim.calls('stable_token')).toBe(3);
  });

  it('a second 40001 is an error, not a loop', async () => {
    const client = connect();
    sim.inject({ endpoint: 'getuserphonenumber', errcode: 40001, times: 'always' });
    expect(await failure(client.getPhoneNumber(sim.phoneCode().code))).toMatchObject({ code: 'invalid_credential' });
    expect(sim.calls('getuserphonenumber')).toBe(2);
  });
});
