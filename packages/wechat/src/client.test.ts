import { describe, expect, it } from 'vitest';
import { failure } from '../test/failure.js';
import { createWechatClient, type WechatClient, type WechatClientOptions } from './client.js';
import { ERRCODE_TABLE, type WechatEndpoint } from './errors.js';
import { MAX_RESPONSE_BYTES } from './http.js';
import { APP_ID, type FakeRoute, fakeWechat, issuingTokens, SECRET } from './testing/fake-fetch.js';

const SESSION_KEY = 'ABEiM0RVZneImaq7zN3u/w==';
const USER = { openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE', sessionKey: SESSION_KEY };

function client(routes: Record<string, FakeRoute>, options: Partial<WechatClientOptions> = {}) {
  const wechat = fakeWechat({ '/cgi-bin/stable_token': issuingTokens(), '/cgi-bin/token': issuingTokens(), ...routes });
  const instance = createWechatClient({
    appId: APP_ID,
    secret: SECRET,
    fetch: wechat.fetch,
    sleep: async () => {},
    random: () => 0.5,
    ...options,
  });
  return { wechat, client: instance };
}

interface EndpointCase {
  endpoint: WechatEndpoint;
  path: string;
  call: (c: WechatClient) => Promise<unknown>;
  options?: Partial<WechatClientOptions>;
}

const ENDPOINTS: EndpointCase[] = [
  { endpoint: 'jscode2session', path: '/sns/jscode2session', call: (c) => c.code2Session('code-1') },
  { endpoint: 'stable_token', path: '/cgi-bin/stable_token', call: (c) => c.getAccessToken() },
  {
    endpoint: 'token',
    path: '/cgi-bin/token',
    call: (c) => c.getAccessToken(),
    options: { accessTokenMode: 'classic' },
  },
  { endpoint: 'checksession', path: '/wxa/checksession', call: (c) => c.checkSessionKey(USER) },
  { endpoint: 'resetusersessionkey', path: '/wxa/resetusersessionkey', call: (c) => c.resetUserSessionKey(USER) },
  {
    endpoint: 'getuserphonenumber',
    path: '/wxa/business/getuserphonenumber',
    call: (c) => c.getPhoneNumber('phone-code'),
  },
];

const ERRCODES = [...ERRCODE_TABLE.entries()];

describe('errcode table', () => {
  it('has one row per listed errcode, and only -1 is retryable', () => {
    expect(ERRCODES.length).toBe(33);
    expect(ERRCODES.filter(([, info]) => info.retryable).map(([errcode]) => errcode)).toEqual([-1]);
  });

  for (const { endpoint, path, call, options } of ENDPOINTS) {
    describe(endpoint, () => {
      it.each(ERRCODES)('errcode %i → its code', async (errcode, info) => {
        // checksession answers false (not an error) for a rejected key
        if (endpoint === 'checksession' && (errcode === 87009 || errcode === 87007)) return;
        const { client: c } = client(
          { [path]: () => ({ json: { errcode, errmsg: `some text, rid: 652d44d0-1d0af18b-5b069232` } }) },
          { maxRetries: 0, ...options },
        );
        const error = await failure(call(c));
        expect(error).toMatchObject({
          name: 'WechatError',
          code: info.code,
          errcode,
          endpoint,
          retryable: info.retryable,
        });
        expect(error.errmsg).toBe('some text, rid: 652d44d0-1d0af18b-5b069232');
        expect(error.message).toBe(`WeChat ${endpoint} failed: errcode ${errcode} (${info.description})`);
      });

      it.each([12345, 61003, 1])('unknown errcode %i → unknown_errcode', async (errcode) => {
        const { client: c } = client({ [path]: () => ({ json: { errcode, errmsg: 'new' } }) }, options);
        const error = await failure(call(c));
        expect(error).toMatchObject({ code: 'unknown_errcode', errcode, endpoint, retryable: false });
      });

      it.each([
        [
          'an HTML page (502)',
          { text: '<html><body>502 Bad Gateway</body></html>', status: 502, contentType: 'text/html' },
          true,
        ],
        ['garbage text', { text: 'not json at all' }, false],
        ['an empty body', { text: '' }, false],
        ['a JSON array', { text: '[1,2]' }, false],
        ['JSON null', { text: 'null' }, false],
        ['an empty object', { json: {} }, false],
        ['a string errcode', { json: { errcode: '40029', errmsg: 'x' } }, false],
      ] as const)('%s → unexpected', async (_name, reply, retryable) => {
        const { client: c } = client({ [path]: () => reply }, { maxRetries: 0, ...options });
        const error = await failure(call(c));
        expect(error).toMatchObject({ code: 'unexpected', errcode: null, endpoint, retryable });
        expect(error.message).toMatch(new RegExp(`^WeChat ${endpoint} failed: unexpected response`));
      });

      it('a request that outlives requestTimeoutMs → timeout, quickly', async () => {
        const { client: c } = client(
          { [path]: () => ({ hang: true }) },
          { requestTimeoutMs: 40, maxRetries: 0, ...options },
        );
        const started = Date.now();
        const error = await failure(call(c));
        expect(error).toMatchObject({ code: 'timeout', endpoint, retryable: true, errcode: null });
        expect(Date.now() - started).toBeLessThan(2000);
      });

      it('a dropped connection → network', async () => {
        const { client: c } = client({ [path]: () => ({ network: true }) }, { maxRetries: 0, ...options });
        const error = await failure(call(c));
        expect(error).toMatchObject({ code: 'network', endpoint, retryable: true });
        expect(error.cause).toBeInstanceOf(TypeError);
      });
    });
  }
});

describe('successful calls', () => {
  it('code2Session reads text/plain JSON without errcode and sends the documented query', async () => {
    const { client: c, wechat } = client({
      '/sns/jscode2session': () => ({
        text: '{"session_key":"tQY+38pdTVnAIWCBNiM1+A==","openid":"o--sB5rdWBfwTidbZzzn4FXfWpEg"}',
        contentType: 'text/plain',
      }),
    });
    await expect(c.code2Session('0a3Xyz')).resolves.toEqual({
      openId: 'o--sB5rdWBfwTidbZzzn4FXfWpEg',
      sessionKey: 'tQY+38pdTVnAIWCBNiM1+A==',
      unionId: null,
    });
    const [request] = wechat.requests;
    expect(request?.method).toBe('GET');
    expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({
      appid: APP_ID,
      secret: SECRET,
      js_code: '0a3Xyz',
      grant_type: 'authorization_code',
    });
  });

  it('code2Session maps unionid and tolerates errcode 0 and an old expires_in', async () => {
    const { client: c } = client({
      '/sns/jscode2session': () => ({
        json: { errcode: 0, openid: 'o1', session_key: SESSION_KEY, unionid: 'u1', expires_in: 7200 },
      }),
    });
    await expect(c.code2Session('x')).resolves.toEqual({ openId: 'o1', sessionKey: SESSION_KEY, unionId: 'u1' });
  });

  it('stable_token is a POST with a JSON body; the token is cached', async () => {
    const { client: c, wechat } = client({});
    await expect(c.getAccessToken()).resolves.toBe('ACCESS-1');
    await expect(c.getAccessToken()).resolves.toBe('ACCESS-1');
    expect(wechat.requests).toHaveLength(1);
    expect(wechat.requests[0]).toMatchObject({
      method: 'POST',
      path: '/cgi-bin/stable_token',
      body: { grant_type: 'client_credential', appid: APP_ID, secret: SECRET, force_refresh: false },
    });
    expect(wechat.requests[0]?.url.search).toBe('');
  });

  it('classic mode uses GET /cgi-bin/token', async () => {
    const { client: c, wechat } = client({}, { accessTokenMode: 'classic' });
    await expect(c.getAccessToken()).resolves.toBe('ACCESS-1');
    expect(wechat.requests[0]?.method).toBe('GET');
    expect(Object.fromEntries(wechat.requests[0]?.url.searchParams ?? [])).toEqual({
      grant_type: 'client_credential',
      appid: APP_ID,
      secret: SECRET,
    });
  });

  it('checkSessionKey sends the HMAC of "" and maps 0 → true, 87009/87007 → false', async () => {
    let answer = 0;
    const { client: c, wechat } = client({ '/wxa/checksession': () => ({ json: { errcode: answer, errmsg: 'x' } }) });
    await expect(c.checkSessionKey(USER)).resolves.toBe(true);
    const query = Object.fromEntries(wechat.requests[1]?.url.searchParams ?? []);
    expect(query).toEqual({
      access_token: 'ACCESS-1',
      openid: USER.openId,
      signature: 'cb4ddd2bfeb25111be82a9e5d42e49c7da1f2ecb281cb3f8c188dbb12d9c0798',
      sig_method: 'hmac_sha256',
    });
    answer = 87009;
    await expect(c.checkSessionKey(USER)).resolves.toBe(false);
    answer = 87007;
    await expect(c.checkSessionKey(USER)).resolves.toBe(false);
  });

  it('resetUserSessionKey maps the new key', async () => {
    const { client: c } = client({
      '/wxa/resetusersessionkey': () => ({
        json: { errcode: 0, errmsg: 'ok', openid: USER.openId, session_key: 'tiihtNczf5v6AKRyjwEUhQ==' },
      }),
    });
    await expect(c.resetUserSessionKey(USER)).resolves.toEqual({
      openId: USER.openId,
      sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
    });
  });

  it('getPhoneNumber posts {code, openid} and turns a numeric countryCode into a string', async () => {
    const { client: c, wechat } = client({
      '/wxa/business/getuserphonenumber': () => ({
        json: {
          errcode: 0,
          errmsg: 'ok',
          phone_info: {
            phoneNumber: '13580006666',
            purePhoneNumber: '13580006666',
            countryCode: 86,
            watermark: { timestamp: 1637744274, appid: APP_ID },
          },
        },
      }),
    });
    await expect(c.getPhoneNumber('pc', { openId: 'o1' })).resolves.toEqual({
      phoneNumber: '13580006666',
      purePhoneNumber: '13580006666',
      countryCode: '86',
      watermark: { appId: APP_ID, timestamp: 1637744274 },
    });
    const request = wechat.requests[1];
    expect(request).toMatchObject({ method: 'POST', body: { code: 'pc', openid: 'o1' } });
    expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({ access_token: 'ACCESS-1' });
  });

  it('getPhoneNumber with a wrong phone_info shape → unexpected', async () => {
    const { client: c } = client({
      '/wxa/business/getuserphonenumber': () => ({
        json: { errcode: 0, errmsg: 'ok', phone_info: { phoneNumber: 1 } },
      }),
    });
    expect(await failure(c.getPhoneNumber('pc'))).toMatchObject({ code: 'unexpected', endpoint: 'getuserphonenumber' });
  });

  it('an injected fetch is read with the same size bound: past MAX_RESPONSE_BYTES → unexpected, the stream cancelled', async () => {
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const c = createWechatClient({
      appId: APP_ID,
      secret: SECRET,
      fetch: async () => new Response(endless, { status: 200, headers: { 'content-type': 'text/plain' } }),
      maxRetries: 0,
    });
    const error = await failure(c.code2Session('c'));
    expect(error).toMatchObject({ code: 'unexpected', retryable: false, endpoint: 'jscode2session' });
    expect(error.message).toContain(`response body larger than ${MAX_RESPONSE_BYTES} bytes`);
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(2 * MAX_RESPONSE_BYTES);
  });

  it('keeps a baseUrl path prefix', async () => {
    const { client: c, wechat } = client({}, { baseUrl: 'http://127.0.0.1:1/prefix/' });
    await failure(c.code2Session('x'));
    expect(wechat.requests[0]?.url.href).toMatch(/^http:\/\/127\.0\.0\.1:1\/prefix\/sns\/jscode2session\?/);
  });
});

describe('retry policy', () => {
  it('retries -1 on the token endpoint maxRetries times with full-jitter backoff', async () => {
    const sleeps: number[] = [];
    const { client: c, wechat } = client(
      { '/cgi-bin/stable_token': () => ({ json: { errcode: -1, errmsg: 'system error' } }) },
      { maxRetries: 3, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(await failure(c.getAccessToken())).toMatchObject({ code: 'system_busy', retryable: true });
    expect(wechat.count('/cgi-bin/stable_token')).toBe(4);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('retries timeouts and network failures on the classic token endpoint (default maxRetries 2)', async () => {
    let n = 0;
    const { client: c, wechat } = client(
      {
        '/cgi-bin/token': () =>
          ++n === 1 ? { hang: true } : n === 2 ? { network: true } : { json: { access_token: 'T', expires_in: 7200 } },
      },
      { accessTokenMode: 'classic', requestTimeoutMs: 30 },
    );
    await expect(c.getAccessToken()).resolves.toBe('T');
    expect(wechat.count('/cgi-bin/token')).toBe(3);
  });

  it('retries checksession on -1 and then answers', async () => {
    let n = 0;
    const { client: c, wechat } = client({
      '/wxa/checksession': () => ({ json: n++ < 2 ? { errcode: -1, errmsg: 'busy' } : { errcode: 0, errmsg: 'ok' } }),
    });
    await expect(c.checkSessionKey(USER)).resolves.toBe(true);
    expect(wechat.count('/wxa/checksession')).toBe(3);
  });

  it('does not retry non-retryable errcodes on safe calls', async () => {
    const { client: c, wechat } = client({
      '/cgi-bin/stable_token': () => ({ json: { errcode: 40125, errmsg: 'x' } }),
    });
    expect(await failure(c.getAccessToken())).toMatchObject({ code: 'invalid_secret' });
    expect(wechat.count('/cgi-bin/stable_token')).toBe(1);
  });

  const unsafe: Array<[string, string, (c: WechatClient) => Promise<unknown>]> = [
    ['code2Session', '/sns/jscode2session', (c) => c.code2Session('code')],
    ['getPhoneNumber', '/wxa/business/getuserphonenumber', (c) => c.getPhoneNumber('code')],
    ['resetUserSessionKey', '/wxa/resetusersessionkey', (c) => c.resetUserSessionKey(USER)],
  ];
  for (const [name, path, call] of unsafe) {
    it.each([
      ['-1', { json: { errcode: -1, errmsg: 'system error' } }, 'system_busy'],
      ['a timeout', { hang: true }, 'timeout'],
      ['a network failure', { network: true }, 'network'],
      ['a 502 page', { text: '<html></html>', status: 502 }, 'unexpected'],
    ] as const)(`${name} is never retried on %s`, async (_what, reply, code) => {
      const { client: c, wechat } = client({ [path]: () => reply }, { maxRetries: 5, requestTimeoutMs: 30 });
      expect(await failure(call(c))).toMatchObject({ code, retryable: true });
      expect(wechat.count(path)).toBe(1);
    });
  }
});

describe('secrets stay out of errors', () => {
  it('messages never hold the secret, the access token, the session key or the URL', async () => {
    const token = 'ACCESSTOKENVALUE_abcdefghijklmnopqrstuvwxyz0123456789';
    const routes: Record<string, FakeRoute> = {
      '/cgi-bin/stable_token': () => ({ json: { access_token: token, expires_in: 7200 } }),
      '/sns/jscode2session': () => ({ json: { errcode: 40029, errmsg: `invalid code, secret=${SECRET} rid: 1` } }),
      '/wxa/checksession': () => ({ json: { errcode: 40097, errmsg: `bad access_token=${token}` } }),
      '/wxa/business/getuserphonenumber': () => ({ network: true }),
    };
    const { client: c } = client(routes, { maxRetries: 0 });
    const errors = [
      await failure(c.code2Session('the-code')),
      await failure(c.checkSessionKey(USER)),
      await failure(c.getPhoneNumber('phone')),
    ];
    for (const error of errors) {
      const text = `${error.message} ${error.errmsg ?? ''} ${JSON.stringify(error)} ${String(error.cause ?? '')}`;
      for (const secret of [SECRET, token, SESSION_KEY, 'weixin.qq.com', '?', 'access_token=A', 'the-code']) {
        expect(text).not.toContain(secret);
      }
    }
    expect(errors[0]?.errmsg).toBe('invalid code, secret=[redacted] rid: 1');
    expect(errors[1]?.errmsg).toBe('bad access_token=[redacted]');
  });

  it('rejects bad options without echoing the secret', () => {
    expect(() => createWechatClient({ appId: '', secret: SECRET })).toThrow(TypeError);
    expect(() => createWechatClient({ appId: APP_ID, secret: SECRET, requestTimeoutMs: 0 })).toThrow(
      /requestTimeoutMs/,
    );
    expect(() => createWechatClient({ appId: APP_ID, secret: SECRET, maxRetries: -1 })).toThrow(/maxRetries/);
    for (const maxConnections of [0, -1, 1.5, Number.NaN]) {
      expect(
        () => createWechatClient({ appId: APP_ID, secret: SECRET, maxConnections }),
        String(maxConnections),
      ).toThrow(/maxConnections must be a positive integer/);
    }
    try {
      createWechatClient({ appId: APP_ID, secret: SECRET, baseUrl: 'ftp://x', fetch: fetch });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain(SECRET);
    }
  });

  it('a caller mistake rejects with TypeError before any request', async () => {
    const { client: c, wechat } = client({});
    await expect(c.code2Session('')).rejects.toThrow(TypeError);
    await expect(c.getPhoneNumber(undefined as unknown as string)).rejects.toThrow(TypeError);
    await expect(c.getPhoneNumber('pc', { openId: '' })).rejects.toThrow(TypeError);
    await expect(c.checkSessionKey({ openId: 'o', sessionKey: '' })).rejects.toThrow(TypeError);
    await expect(c.resetUserSessionKey(null as unknown as typeof USER)).rejects.toThrow(TypeError);
    expect(wechat.requests).toHaveLength(0);
  });
});

describe('observer and cancellation', () => {
  it('onCall sees one event per HTTP attempt with the clock-measured duration', async () => {
    let clock = 1000;
    const events: unknown[] = [];
    const { client: c } = client(
      {
        '/cgi-bin/stable_token': () => {
          clock += 7;
          return { json: { errcode: -1, errmsg: 'busy' } };
        },
      },
      { now: () => clock, maxRetries: 1, onCall: (event) => events.push(event) },
    );
    await failure(c.getAccessToken());
    expect(events).toEqual([
      { endpoint: 'stable_token', durationMs: 7, outcome: 'system_busy', errcode: -1 },
      { endpoint: 'stable_token', durationMs: 7, outcome: 'system_busy', errcode: -1 },
    ]);
  });

  it('a throwing observer does not change the outcome', async () => {
    const { client: c } = client(
      { '/sns/jscode2session': () => ({ json: { openid: 'o', session_key: SESSION_KEY } }) },
      {
        onCall: () => {
          throw new Error('observer bug');
        },
      },
    );
    await expect(c.code2Session('x')).resolves.toMatchObject({ openId: 'o' });
  });

  it("code2Session rethrows the caller's own abort reason", async () => {
    const { client: c } = client({ '/sns/jscode2session': () => ({ hang: true }) });
    const controller = new AbortController();
    const pending = c.code2Session('x', { signal: controller.signal });
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});
