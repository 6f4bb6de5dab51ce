import type { TokenResponse } from '@wxlogin/protocol';
import { describe, expect, it } from 'vitest';
import { createAuth } from './auth.js';
import { WxloginError } from './errors.js';
import type { WxFail, WxLike, WxRequestOption, WxResponse } from './wx.js';

type Answer = WxResponse | WxFail;

/** A scripted `wx`: `answer` decides each request's outcome; logins hand out code-1, code-2, … */
function scriptedWx(answer: (option: WxRequestOption, index: number) => Answer) {
  const storage = new Map<string, unknown>();
  const sent: WxRequestOption[] = [];
  let codes = 0;
  const wx: WxLike & { storage: Map<string, unknown> } = {
    storage,
    login(option) {
      codes += 1;
      const code = `code-${codes}`;
      setTimeout(() => option.success?.({ code }), 0);
    },
    checkSession(option) {
      setTimeout(() => option.success?.({ errMsg: 'checkSession:ok' }), 0);
    },
    getSetting(option) {
      setTimeout(() => option.fail?.({ errMsg: 'getSetting:fail system error' }), 0);
    },
    request(option) {
      sent.push(option);
      const result = answer(option, sent.length - 1);
      setTimeout(() => {
        if ('errMsg' in result) option.fail?.(result);
        else option.success?.(result);
      }, 0);
    },
    getStorageSync(key) {
      return storage.has(key) ? storage.get(key) : '';
    },
    setStorageSync(key, data) {
      storage.set(key, JSON.parse(JSON.stringify(data)));
    },
    removeStorageSync(key) {
      storage.delete(key);
    },
  };
  return { wx, sent, logins: () => codes };
}

function tokens(n: number, expiresIn = 3600): { statusCode: number; data: TokenResponse } {
  return {
    statusCode: 200,
    data: {
      accessToken: `access-${n}`,
      tokenType: 'Bearer',
      expiresIn,
      refreshToken: `refresh-${n}`,
      refreshExpiresIn: 86_400,
      user: { id: 'u1', appId: 'wx0123456789abcdef', openid: 'o1', unionid: null, created: n === 1 },
    },
  };
}

function failure(status: number, code: string, requestId = 'req-1'): WxResponse {
  return { statusCode: status, data: { error: { code, message: code }, requestId }, header: {} };
}

const path = (option: WxRequestOption): string => option.url.replace('https://login.example.com', '');
const bearer = (option: WxRequestOption): string | undefined => option.header?.authorization;
const base = { baseUrl: 'https://login.example.com/', retry: { baseDelayMs: 1, maxDelayMs: 2 } };

describe('request', () => {
  it('logs in again and retries once on wechat_session_expired', async () => {
    let tokensIssued = 0;
    const { wx, sent, logins } = scriptedWx((option) => {
      if (path(option) === '/v1/auth/login') return tokens(++tokensIssued);
      if (bearer(option) === 'Bearer access-1') return failure(401, 'wechat_session_expired');
      return { statusCode: 200, data: { ok: true }, header: { 'X-Request-Id': 'abc' } };
    });
    const auth = createAuth({ ...base, wx });

    const response = await auth.request<{ ok: boolean }>({ url: '/api/thing', method: 'POST', data: { a: 1 } });

    expect(response).toEqual({
      data: { ok: true },
      statusCode: 200,
      header: { 'X-Request-Id': 'abc' },
      requestId: 'abc',
    });
    expect(logins()).toBe(2);
    expect(sent.map(path)).toEqual(['/v1/auth/login', '/api/thing', '/v1/auth/login', '/api/thing']);
    expect(sent[3]?.data).toEqual({ a: 1 });
  });

  it('gives up after one re-login when the service keeps saying wechat_session_expired', async () => {
    let n = 0;
    const { wx, logins } = scriptedWx((option) =>
      path(option) === '/v1/auth/login' ? tokens(++n) : failure(401, 'wechat_session_expired'),
    );
    const auth = createAuth({ ...base, wx });
    await expect(auth.request({ url: '/x' })).rejects.toMatchObject({
      code: 'wechat_session_expired',
      status: 401,
      requestId: 'req-1',
    });
    expect(logins()).toBe(2);
  });

  it('refreshes once on a 401 of your own API (no envelope) and retries with the new token', async () => {
    let n = 0;
    const { wx, sent } = scriptedWx((option) => {
      if (path(option) === '/v1/auth/login') return tokens(++n);
      if (path(option) === '/v1/auth/refresh') return tokens(++n);
      return bearer(option) === 'Bearer access-2'
        ? { statusCode: 201, data: 'created' }
        : { statusCode: 401, data: 'nope', header: {} };
    });
    const auth = createAuth({ ...base, wx });

    const response = await auth.request({
      url: 'https://api.example.com/orders',
      method: 'PUT',
      header: { Authorization: 'x' },
    });

    expect(response.statusCode).toBe(201);
    expect(sent.map((o) => `${o.method} ${path(o)} ${bearer(o) ?? ''}`)).toEqual([
      'POST /v1/auth/login ',
      'PUT https://api.example.com/orders Bearer access-1',
      'POST /v1/auth/refresh ',
      'PUT https://api.example.com/orders Bearer access-2',
    ]);
    expect(sent[1]?.header).not.toHaveProperty('Authorization');
  });

  it('rejects a second 401 in a row, and non-envelope errors as http_error', async () => {
    let n = 0;
    const { wx } = scriptedWx((option) => {
      if (path(option).startsWith('/v1/auth/')) return tokens(++n);
      if (path(option) === '/teapot') return { statusCode: 418, data: '<html>', header: { 'x-request-id': 'r9' } };
      return failure(401, 'unauthorized');
    });
    const auth = createAuth({ ...base, wx });
    await expect(auth.request({ url: '/me' })).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    await expect(auth.request({ url: '/teapot' })).rejects.toMatchObject({
      code: 'http_error',
      status: 418,
      requestId: 'r9',
    });
  });

  it('sends without a token and without logging in when auth is false', async () => {
    const { wx, sent, logins } = scriptedWx(() => ({ statusCode: 200, data: 'pong' }));
    const auth = createAuth({ ...base, wx });
    await expect(auth.request({ url: 'ping', auth: false })).resolves.toMatchObject({ data: 'pong' });
    expect(logins()).toBe(0);
    expect(sent[0]?.url).toBe('https://login.example.com/ping');
    expect(bearer(sent[0] as WxRequestOption)).toBeUndefined();
  });

  it('retries network failures with growing delays, a bounded number of times', async () => {
    const { wx, sent } = scriptedWx(() => ({ errMsg: 'request:fail timeout', errno: 5 }));
    const auth = createAuth({ ...base, wx, retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 30 } });
    const started = Date.now();
    await expect(auth.request({ url: '/x', auth: false })).rejects.toMatchObject({
      code: 'network_error',
      errMsg: 'request:fail timeout',
      cause: { errno: 5 },
    });
    expect(sent).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 + 30 + 30 - 5);
    sent.length = 0;
    await expect(auth.request({ url: '/x', auth: false, retries: 0 })).rejects.toBeInstanceOf(WxloginError);
    expect(sent).toHaveLength(1);
  });

  it('rejects a 2xx login answer without tokens as bad_response', async () => {
    const { wx } = scriptedWx(() => ({ statusCode: 200, data: '<html>portal</html>' }));
    const auth = createAuth({ ...base, wx });
    await expect(auth.login()).rejects.toMatchObject({ code: 'bad_response', status: 200 });
    expect(auth.getUser()).toBeNull();
  });

  it('throws TypeError at once for caller mistakes', () => {
    const { wx } = scriptedWx(() => tokens(1));
    const auth = createAuth({ ...base, wx });
    expect(() => auth.request({ url: '' })).toThrow(TypeError);
    expect(() => auth.request({ url: '/x', retries: -1 })).toThrow(TypeError);
    expect(() => auth.updateProfile({ nickname: '' })).toThrow(TypeError);
    expect(() => auth.updateProfile({ nickname: 'x'.repeat(65) })).toThrow(TypeError);
    expect(() => auth.bindPhone({} as never)).toThrow(TypeError);
    expect(() => auth.bindPhone({ errMsg: 'getPhoneNumber:ok' })).toThrow(TypeError);
    expect(() => auth.isAuthorized('')).toThrow(TypeError);
    expect(() => createAuth({ baseUrl: 'login.example.com', wx })).toThrow(TypeError);
    expect(() => createAuth({ ...base, wx, retry: { attempts: -1 } })).toThrow(TypeError);
    expect(() => createAuth({ ...base, storageKey: '' })).toThrow(TypeError);
  });

  it('looks up the global wx only when first needed, and says so when there is none', async () => {
    const auth = createAuth({ baseUrl: 'https://login.example.com' });
    expect(() => auth.getUser()).toThrow(/no `wx` object/);
    await expect(auth.ensureLogin()).rejects.toThrow(TypeError);
  });
});

describe('state and events', () => {
  it('keeps working when storage throws, and survives a throwing listener', async () => {
    const { wx } = scriptedWx(() => tokens(1));
    wx.setStorageSync = () => {
      throw new Error('setStorageSync:fail exceed storage max size');
    };
    const auth = createAuth({ ...base, wx });
    const seen: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      auth.on('login', () => {
        throw new Error('listener bug');
      });
      auth.on('login', ({ user }) => seen.push(user.id));
      await auth.login();
      await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(seen).toEqual(['u1']);
    expect(uncaught).toHaveLength(1);
    expect(await auth.getAccessToken()).toBe('access-1');
  });

  it('ignores a corrupt stored value and logs in', async () => {
    const { wx, logins } = scriptedWx(() => tokens(1));
    wx.storage.set('wxlogin.tokens', { v: 1, accessToken: 42 });
    const auth = createAuth({ ...base, wx });
    expect(auth.getUser()).toBeNull();
    await auth.ensureLogin();
    expect(logins()).toBe(1);
  });

  it('logs out locally even when the service cannot be reached', async () => {
    let calls = 0;
    const { wx } = scriptedWx(() => (++calls === 1 ? tokens(1) : { errMsg: 'request:fail' }));
    const auth = createAuth({ ...base, wx });
    await auth.login();
    await auth.logout();
    expect(auth.getUser()).toBeNull();
    expect(wx.storage.has('wxlogin.tokens')).toBe(false);
    expect(calls).toBe(2);
  });

  it('maps wx.getSetting failures to wx_api_failed', async () => {
    const { wx } = scriptedWx(() => tokens(1));
    const auth = createAuth({ ...base, wx });
    await expect(auth.isAuthorized('scope.werun')).rejects.toMatchObject({
      code: 'wx_api_failed',
      errMsg: 'getSetting:fail system error',
    });
  });

  it('sends appId with the code when configured', async () => {
    const { wx, sent } = scriptedWx(() => tokens(1));
    await createAuth({ ...base, wx, appId: 'wxabc' }).login();
    expect(sent[0]?.data).toEqual({ code: 'code-1', appId: 'wxabc' });
  });
});
