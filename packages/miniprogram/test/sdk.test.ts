import { createServer } from 'node:net';
import { createAuth, type Profile, WxloginError } from '@wxlogin/miniprogram';
import { DEV_APP } from '@wxlogin/simulator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, device, http, recordedWx, type Service, startService } from './helpers.js';

let service: Service;

beforeAll(async () => {
  // a short access token lifetime for the expiry cases; no grace for the previous session key, so data made
  // under an older key is refused as WeChat would after the grace window
  service = await startService({ overrides: { accessTokenTtlSeconds: 30, sessionKeyGraceSeconds: 0 } });
});

afterAll(async () => {
  await service.close();
});

beforeEach(() => {
  service.sim.clearFaults();
  service.sim.resetCalls();
});

describe('login', () => {
  it('serves 20 concurrent requests on a cold start with one wx.login and one login call', async () => {
    const { auth, wx, count } = device(service);
    const logins: string[] = [];
    auth.on('login', ({ user }) => logins.push(user.id));

    const answers = await Promise.all(Array.from({ length: 20 }, () => auth.request<Profile>({ url: '/v1/me' })));

    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.data.id)).size).toBe(1);
    expect(answers[0]?.requestId).toMatch(/.+/);
    expect(wx.__calls.login).toBe(1);
    expect(service.sim.calls('jscode2session')).toBe(1);
    expect(count('/v1/auth/login')).toBe(1);
    expect(count('/v1/me')).toBe(20);
    expect(logins).toEqual([answers[0]?.data.id]);
    expect(wx.getStorageSync<{ accessToken: string }>('wxlogin.tokens').accessToken).toBe(await auth.getAccessToken());
  });

  it('shares one login between concurrent login() and ensureLogin() callers', async () => {
    const { auth, wx } = device(service);
    const users = await Promise.all([auth.login(), auth.login(), auth.ensureLogin(), auth.getAccessToken()]);
    expect(wx.__calls.login).toBe(1);
    expect(users[0]).toEqual(users[1]);
    expect(users[0]).toEqual(users[2]);
    expect(users[0]).toMatchObject({ appId: DEV_APP.appId, created: true });
  });

  it('reuses the stored session after an app restart (no wx.login, no network)', async () => {
    const storage = new Map<string, unknown>();
    const first = device(service, { storage });
    const user = await first.auth.ensureLogin();

    const restarted = recordedWx({ simulator: service.sim, user: first.user, storage });
    const auth = createAuth({ baseUrl: service.url, wx: restarted.wx });
    expect(auth.getUser()).toEqual(user);
    expect(await auth.ensureLogin()).toEqual(user);
    expect(restarted.wx.__calls.login).toBe(0);
    expect(restarted.sent).toEqual([]);
  });

  it('never lets a used code (WeChat 40163) reach the app: it logs in again with a fresh code', async () => {
    const { auth, wx } = device(service);
    service.sim.inject({ endpoint: 'jscode2session', errcode: 40163 });

    const user = await auth.login();

    expect(user.openid).toMatch(/.+/);
    expect(wx.__calls.login).toBe(2);
    expect(service.sim.calls('jscode2session')).toBe(2);
  });

  it('fails with login_failed when WeChat keeps refusing fresh codes', async () => {
    const { auth, wx } = device(service);
    service.sim.inject({ endpoint: 'jscode2session', errcode: 40029, times: 'always' });

    const error = await auth.login().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WxloginError);
    expect(error).toMatchObject({ code: 'login_failed', status: 400, cause: { code: 'invalid_code' } });
    expect(wx.__calls.login).toBe(2);
  });

  it('passes a blocked user through as user_blocked', async () => {
    const { auth } = device(service);
    service.sim.inject({ endpoint: 'jscode2session', errcode: 40226 });
    await expect(auth.login()).rejects.toMatchObject({ code: 'user_blocked', status: 403, wechatErrcode: 40226 });
  });

  it('gives a typed network_error after bounded retries when the service is down', async () => {
    const port = await closedPort();
    const { wx, sent } = recordedWx({ simulator: service.sim });
    const auth = createAuth({
      baseUrl: `http://127.0.0.1:${port}`,
      wx,
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
    });

    const error = await auth.ensureLogin().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WxloginError);
    expect(error).toMatchObject({ code: 'network_error', status: null, requestId: null });
    expect((error as WxloginError).errMsg).toMatch(/^request:fail/);
    expect(sent).toEqual(Array(4).fill('POST /v1/auth/login'));
    expect(wx.__calls.login).toBe(1);
  });

  it('recovers from a network blip with the same code', async () => {
    const { auth, wx, count } = device(service, { retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 20 } });
    wx.__setOffline(true);
    setTimeout(() => wx.__setOffline(false), 15);

    await auth.ensureLogin();

    expect(wx.__calls.login).toBe(1);
    expect(count('/v1/auth/login')).toBeGreaterThan(1);
    expect(service.sim.calls('jscode2session')).toBe(1);
  });
});

describe('tokens', () => {
  it('refreshes an expired access token transparently (device clock past expiry), once for many callers', async () => {
    let now = Date.now();
    const { auth, wx, count } = device(service, { now: () => now });
    await auth.ensureLogin();
    const before = await auth.getAccessToken();

    now += 31_000;
    const answers = await Promise.all(Array.from({ length: 10 }, () => auth.getProfile()));

    expect(answers.every((p) => p.id === answers[0]?.id)).toBe(true);
    expect(count('/v1/auth/refresh')).toBe(1);
    expect(wx.__calls.login).toBe(1);
    expect(await auth.getAccessToken()).not.toBe(before);
  });

  it('refreshes after a 401 when the service considers the token expired, and retries', async () => {
    let serverOffset = 0;
    const skewed = await startService({
      overrides: { accessTokenTtlSeconds: 30 },
      now: () => Date.now() + serverOffset,
    });
    try {
      const { auth, wx, sent } = device(skewed);
      await auth.ensureLogin();
      serverOffset = 60_000;

      const profile = await auth.getProfile();

      expect(profile.id).toBe(auth.getUser()?.id);
      expect(sent).toEqual(['POST /v1/auth/login', 'GET /v1/me', 'POST /v1/auth/refresh', 'GET /v1/me']);
      expect(wx.__calls.login).toBe(1);
    } finally {
      await skewed.close();
    }
  });

  it('logs in again when the session was logged out from another client', async () => {
    const { auth, wx, sent } = device(service);
    const events: string[] = [];
    auth.on('logout', ({ reason }) => events.push(`logout:${reason}`));
    auth.on('login', () => events.push('login'));
    const first = await auth.ensureLogin();
    expect((await http(service, 'POST', '/v1/auth/logout', { token: await auth.getAccessToken() })).status).toBe(204);

    const profile = await auth.getProfile();

    expect(profile.id).toBe(first.id);
    expect(wx.__calls.login).toBe(2);
    expect(sent).toEqual([
      'POST /v1/auth/login',
      'GET /v1/me',
      'POST /v1/auth/refresh',
      'POST /v1/auth/login',
      'GET /v1/me',
    ]);
    expect(events).toEqual(['login', 'logout:session_ended', 'login']);
  });

  it('logs in again when an operator revoked the session', async () => {
    const { auth, wx } = device(service);
    await auth.ensureLogin();
    const session = await auth.request<{ sessionId: string }>({ url: '/v1/auth/session' });
    const revoked = await http(service, 'POST', `/v1/admin/sessions/${session.data.sessionId}/revoke`, {
      token: ADMIN_TOKEN,
    });
    expect(revoked.status).toBe(204);

    const after = await auth.request<{ sessionId: string }>({ url: '/v1/auth/session' });

    expect(after.data.sessionId).not.toBe(session.data.sessionId);
    expect(wx.__calls.login).toBe(2);
  });

  it('rejects with the service code for other errors, and http_error for foreign ones', async () => {
    const { auth } = device(service);
    await expect(auth.request({ url: '/v1/nothing-here' })).rejects.toMatchObject({
      code: 'not_found',
      status: 404,
      requestId: expect.stringMatching(/.+/),
    });
    await expect(
      auth.request({ url: '/v1/auth/login', method: 'POST', data: { code: '' }, auth: false }),
    ).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
  });
});

describe('user data and the session key', () => {
  it('submits user info after WeChat rotated the session key (checkSession fails → login → fresh data)', async () => {
    const { auth, wx, openid, user } = device(service);
    await auth.ensureLogin();
    service.sim.rotateSessionKey(DEV_APP.appId, openid);
    let obtained = 0;

    const profile = await auth.submitUserInfo(() => {
      obtained += 1;
      return wx.getUserProfile({ desc: 'show your profile' });
    });

    expect(profile.nickname).toBe(`nick of ${user}`);
    expect(obtained).toBe(1);
    expect(wx.__calls.checkSession).toBe(1);
    expect(wx.__calls.login).toBe(2);
  });

  it('asks for the data again (data_stale) when it was obtained before a needed re-login', async () => {
    const { auth, wx, openid, user } = device(service);
    await auth.ensureLogin();
    service.sim.rotateSessionKey(DEV_APP.appId, openid);
    const detail = await wx.getUserProfile({ desc: 'show your profile' });

    await expect(auth.submitUserInfo(detail)).rejects.toMatchObject({ code: 'data_stale' });
    expect(wx.__calls.login).toBe(2);

    // the SDK already logged in again: the next tap's data goes through without another login
    const again = await wx.getUserProfile({ desc: 'show your profile' });
    await expect(auth.submitUserInfo(again)).resolves.toMatchObject({ nickname: `nick of ${user}` });
    expect(wx.__calls.login).toBe(2);
  });

  it('uses refetch when the data it was given is stale', async () => {
    const { auth, wx, openid } = device(service);
    await auth.ensureLogin();
    service.sim.rotateSessionKey(DEV_APP.appId, openid);
    const detail = await wx.getUserProfile({ desc: 'show your profile' });
    let refetched = 0;

    const profile = await auth.submitUserInfo(detail, {
      refetch: () => {
        refetched += 1;
        return wx.getUserInfo({ withCredentials: true });
      },
    });

    expect(profile.nickname).toMatch(/^nick of/);
    expect(refetched).toBe(1);
  });

  it('re-logs in and obtains the data once more when the service cannot verify it', async () => {
    const { auth, wx, user } = device(service);
    await auth.ensureLogin();
    const old = await wx.getUserProfile({ desc: 'x' });
    await auth.login(); // a newer login: the service now holds a newer key, and `old` was made under the last one
    const sources = [old];

    const profile = await auth.submitUserInfo(async () => sources.shift() ?? wx.getUserProfile({ desc: 'x' }));

    expect(profile.nickname).toBe(`nick of ${user}`);
    expect(wx.__calls.login).toBe(3);
    expect(wx.__calls.getUserProfile).toBe(2);
  });

  it('without a way to obtain the data again, rejects with data_stale whose cause is the service answer', async () => {
    const { auth, wx } = device(service);
    await auth.ensureLogin();
    const old = await wx.getUserProfile({ desc: 'x' });
    await auth.login();

    const error = await auth.submitUserInfo(old).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'data_stale', cause: { code: 'invalid_signature' } });
    expect(wx.__calls.login).toBe(3);
  });

  it('maps a declined profile dialog to user_denied', async () => {
    const { auth } = device(service);
    await auth.ensureLogin();
    await expect(
      auth.submitUserInfo(() => Promise.reject({ errMsg: 'getUserProfile:fail auth deny', errno: 1 })),
    ).rejects.toMatchObject({ code: 'user_denied', errMsg: 'getUserProfile:fail auth deny' });
  });

  it('decrypts other open data under the current session key', async () => {
    const { auth, wx, openid } = device(service);
    await auth.ensureLogin();
    const data = await auth.decrypt<{ openId: string; watermark: { appid: string } }>(() =>
      wx.getUserInfo({ withCredentials: true }),
    );
    expect(data.openId).toBe(openid);
    expect(data.watermark.appid).toBe(DEV_APP.appId);
  });

  it('reports scopes with wx.getSetting', async () => {
    const { auth, wx } = device(service);
    await auth.ensureLogin();
    expect(await auth.isAuthorized('scope.userInfo')).toBe(false);
    await wx.getUserProfile({ desc: 'x' });
    expect(await auth.isAuthorized('scope.userInfo')).toBe(true);
    expect(await auth.isAuthorized('scope.werun')).toBe(false);
  });
});

describe('phone number', () => {
  it('binds a phone number with the button code', async () => {
    const { auth, wx } = device(service);
    const detail = wx.__tapPhoneButton({ phoneNumber: '13912345678' });

    const phone = await auth.bindPhone(detail);

    expect(phone).toEqual({ phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86' });
    expect((await auth.getProfile()).phoneNumber).toBe(phone.phoneNumber);
  });

  it('binds a phone number with the legacy encrypted data when the detail has no code', async () => {
    const { auth, wx } = device(service);
    await auth.ensureLogin();
    const { encryptedData, iv, errMsg } = wx.__tapPhoneButton({ phoneNumber: '13700000001' }) as {
      encryptedData: string;
      iv: string;
      errMsg: string;
    };

    const phone = await auth.bindPhone({ errMsg, encryptedData, iv });

    expect(phone.purePhoneNumber).toBe('13700000001');
  });

  it('asks for another tap when the legacy data predates a needed re-login', async () => {
    const { auth, wx, openid } = device(service);
    await auth.ensureLogin();
    service.sim.rotateSessionKey(DEV_APP.appId, openid);
    const { encryptedData, iv, errMsg } = wx.__tapPhoneButton() as {
      encryptedData: string;
      iv: string;
      errMsg: string;
    };

    await expect(auth.bindPhone({ errMsg, encryptedData, iv })).rejects.toMatchObject({ code: 'data_stale' });

    const next = wx.__tapPhoneButton() as { encryptedData: string; iv: string; errMsg: string };
    await expect(
      auth.bindPhone({ errMsg: next.errMsg, encryptedData: next.encryptedData, iv: next.iv }),
    ).resolves.toMatchObject({ purePhoneNumber: '13800138000' });
  });

  it('turns a refusal and an exhausted quota into typed errors without calling the service', async () => {
    const { auth, wx, sent } = device(service);
    await expect(auth.bindPhone(wx.__tapPhoneButton({ deny: true }))).rejects.toMatchObject({ code: 'user_denied' });
    await expect(auth.bindPhone({ errMsg: 'getPhoneNumber:fail no quota', errno: 1400001 })).rejects.toMatchObject({
      code: 'phone_quota_exhausted',
    });
    expect(sent).toEqual([]);
  });
});

describe('profile and logout', () => {
  it('updates nickname and avatar and reads them back', async () => {
    const { auth, sent } = device(service);
    const updated = await auth.updateProfile({ nickname: '小明', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(updated).toMatchObject({ nickname: '小明', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(await auth.getProfile()).toMatchObject({ nickname: '小明' });
    await auth.updateProfile({ nickname: '小红' });
    expect((await auth.getProfile()).nickname).toBe('小红');
    // wx.request has no PATCH: profile updates go out as PUT, the service's alias
    expect(sent.filter((line) => line.endsWith(' /v1/me') && line !== 'GET /v1/me')).toEqual([
      'PUT /v1/me',
      'PUT /v1/me',
    ]);
    expect(() => auth.updateProfile({})).toThrow(TypeError);
  });

  it('logs out: revokes the session on the service, clears storage, emits logout', async () => {
    const { auth, wx } = device(service);
    const reasons: string[] = [];
    const off = auth.on('logout', ({ reason }) => reasons.push(reason));
    await auth.ensureLogin();
    const token = await auth.getAccessToken();

    await auth.logout();

    expect(reasons).toEqual(['logout']);
    expect(auth.getUser()).toBeNull();
    expect(wx.getStorageSync('wxlogin.tokens')).toBe('');
    expect((await http(service, 'GET', '/v1/me', { token })).status).toBe(401);
    off();
    await auth.ensureLogin();
    await auth.logout();
    expect(reasons).toEqual(['logout']);
    expect(wx.__calls.login).toBe(2);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
