import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createFakeWx,
  createSimulator,
  DEV_APP,
  type FakeWx,
  type Simulator,
  startSimulator,
  type WxFailResult,
} from '../src/index.js';
import {
  Clock,
  classicToken,
  code2Session,
  decrypt,
  phoneNumber,
  SESSION_KEY,
  sha1Hex,
  tryDecryptJson,
} from './helpers.js';

let clock: Clock;
let sim: Simulator;
let wx: FakeWx;

beforeEach(async () => {
  clock = new Clock();
  sim = await startSimulator({ now: clock.now });
  wx = createFakeWx({ simulator: sim });
});

afterEach(async () => {
  await sim.close();
});

/** What a server does with a login code. */
async function exchange(code: string): Promise<{ openid: string; sessionKey: string }> {
  const { json } = await code2Session(sim, code);
  return { openid: json.openid as string, sessionKey: json.session_key as string };
}

function callback<T>(
  call: (callbacks: { success: (r: T) => void; fail: (e: WxFailResult) => void }) => void,
): Promise<T> {
  return new Promise((resolve, reject) => call({ success: resolve, fail: reject }));
}

describe('login and checkSession', () => {
  it('gives a login code the server can redeem once', async () => {
    const res = await wx.login();
    expect(res.errMsg).toBe('login:ok');
    const { openid, sessionKey } = await exchange(res.code);
    expect(openid).toBe(sim.openidOf(DEV_APP.appId, 'alice'));
    expect(sessionKey).toMatch(SESSION_KEY);
    expect((await code2Session(sim, res.code)).json.errcode).toBe(40163);
    expect(wx.__calls.login).toBe(1);
  });

  it('checkSession fails before any login, then succeeds after it', async () => {
    await expect(wx.checkSession()).rejects.toEqual({ errMsg: 'checkSession:fail session time out', errno: 1 });
    const { code } = await wx.login();
    expect(await wx.checkSession()).toEqual({ errMsg: 'checkSession:ok' });
    await exchange(code);
    expect(await wx.checkSession()).toEqual({ errMsg: 'checkSession:ok' });
  });

  it('checkSession fails once another login rotated the key', async () => {
    await exchange((await wx.login()).code);
    const other = createFakeWx({ simulator: sim });
    await exchange((await other.login()).code);
    await expect(wx.checkSession()).rejects.toMatchObject({ errMsg: 'checkSession:fail session time out' });
    expect(await other.checkSession()).toEqual({ errMsg: 'checkSession:ok' });
  });

  it('checkSession fails when the key expired or the unredeemed code did', async () => {
    await exchange((await wx.login()).code);
    sim.expireSessionKey(DEV_APP.appId, sim.openidOf(DEV_APP.appId, 'alice'));
    await expect(wx.checkSession()).rejects.toMatchObject({ errMsg: 'checkSession:fail session time out' });
    await wx.login();
    expect(await wx.checkSession()).toEqual({ errMsg: 'checkSession:ok' });
    clock.advance(300);
    await expect(wx.checkSession()).rejects.toMatchObject({ errMsg: 'checkSession:fail session time out' });
  });

  it('is independent per user and per app', async () => {
    const bob = createFakeWx({ simulator: sim, user: 'bob' });
    await exchange((await wx.login()).code);
    await exchange((await bob.login()).code);
    expect(await wx.checkSession()).toEqual({ errMsg: 'checkSession:ok' });
    expect(() => createFakeWx({ simulator: sim, appId: 'wxnope' })).toThrow(TypeError);
    expect(() => createFakeWx({ simulator: {} as Simulator })).toThrow(TypeError);
  });
});

describe('callback and promise styles', () => {
  it('calls success then complete, and returns nothing', async () => {
    const events: string[] = [];
    const done = new Promise<void>((resolve) => {
      const returned = wx.login({
        success: (res) => events.push(`success ${res.errMsg}`),
        complete: (res) => {
          events.push(`complete ${res.errMsg}`);
          resolve();
        },
      });
      expect(returned).toBeUndefined();
    });
    expect(events).toEqual([]);
    await done;
    expect(events).toEqual(['success login:ok', 'complete login:ok']);
  });

  it('calls fail then complete', async () => {
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      wx.checkSession({
        success: () => events.push('success'),
        fail: (err) => events.push(`fail ${err.errMsg}`),
        complete: (res) => {
          events.push(`complete ${res.errMsg}`);
          resolve();
        },
      });
    });
    expect(events).toEqual(['fail checkSession:fail session time out', 'complete checkSession:fail session time out']);
  });

  it('treats a lone fail or complete callback as callback style', async () => {
    const failed = await new Promise<WxFailResult>((resolve) => {
      expect(wx.checkSession({ fail: resolve })).toBeUndefined();
    });
    expect(failed.errMsg).toBe('checkSession:fail session time out');
    const completed = await new Promise<{ errMsg: string }>((resolve) => {
      expect(wx.getSetting({ complete: resolve })).toBeUndefined();
    });
    expect(completed.errMsg).toBe('getSetting:ok');
  });
});

describe('user info', () => {
  it('getUserProfile data decrypts with the current key, without openId, and not after a rotation', async () => {
    const { sessionKey } = await exchange((await wx.login()).code);
    const res = await wx.getUserProfile({ desc: 'show your profile' });
    expect(res.errMsg).toBe('getUserProfile:ok');
    expect(res.signature).toBe(sha1Hex(res.rawData + sessionKey));
    expect(res.userInfo).toEqual(JSON.parse(res.rawData));
    const data = JSON.parse(decrypt(sessionKey, res.encryptedData, res.iv)) as Record<string, unknown>;
    expect(data).not.toHaveProperty('openId');
    expect(data.watermark).toEqual({ appid: DEV_APP.appId, timestamp: Math.floor(clock.ms / 1000) });

    const { sessionKey: rotated } = await exchange((await wx.login()).code);
    expect(tryDecryptJson(rotated, res.encryptedData, res.iv)).toBeNull();
    const fresh = await wx.getUserProfile({ desc: 'again' });
    expect(tryDecryptJson(rotated, fresh.encryptedData, fresh.iv)).toMatchObject({ nickName: 'alice' });
  });

  it('getUserInfo carries openId and unionId; without credentials it carries no encrypted data', async () => {
    const { openid, sessionKey } = await exchange((await wx.login()).code);
    const res = await callback<Awaited<ReturnType<FakeWx['getUserInfo']>> & object>((cb) =>
      wx.getUserInfo({ withCredentials: true, ...cb }),
    );
    expect(JSON.parse(decrypt(sessionKey, res.encryptedData, res.iv))).toMatchObject({
      openId: openid,
      unionId: sim.mintLoginCode().unionid,
    });
    const bare = await wx.getUserInfo({ withCredentials: false });
    expect(bare).toMatchObject({ encryptedData: '', iv: '', signature: '' });
    expect(bare.userInfo.nickName).toBe('alice');
  });

  it('uses the profile and anonymous options', async () => {
    const anon = createFakeWx({ simulator: sim, anonymous: true });
    const custom = createFakeWx({ simulator: sim, user: 'band', profile: { nickName: 'Band', gender: 1 } });
    await exchange((await anon.login()).code);
    await exchange((await custom.login()).code);
    expect((await anon.getUserProfile({ desc: 'x' })).userInfo).toMatchObject({ nickName: '微信用户', language: '' });
    expect((await custom.getUserProfile({ desc: 'x', lang: 'en' })).userInfo).toMatchObject({
      nickName: 'Band',
      gender: 1,
      language: 'en',
    });
  });

  it('fails without desc, with a long desc, or before any login', async () => {
    await expect(wx.getUserProfile({ desc: 'x' })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^getUserProfile:fail /),
    });
    await exchange((await wx.login()).code);
    await expect(wx.getUserProfile({} as { desc: string })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^getUserProfile:fail parameter error/),
    });
    await expect(wx.getUserProfile({ desc: 'x'.repeat(31) })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^getUserProfile:fail /),
    });
  });

  it('getSetting reports scope.userInfo once user info was read', async () => {
    expect(await wx.getSetting()).toMatchObject({ authSetting: {}, errMsg: 'getSetting:ok' });
    await exchange((await wx.login()).code);
    await wx.getUserProfile({ desc: 'x' });
    expect((await wx.getSetting()).authSetting).toEqual({ 'scope.userInfo': true });
  });
});

describe('phone button', () => {
  it('gives a phone code the server can redeem once, and legacy data under the current key', async () => {
    const { sessionKey } = await exchange((await wx.login()).code);
    const detail = wx.__tapPhoneButton({ phoneNumber: '13700000000' });
    if (detail.errMsg !== 'getPhoneNumber:ok') throw new Error('expected a phone code');
    const token = await classicToken(sim);
    expect((await phoneNumber(sim, token, detail.code)).json.phone_info).toMatchObject({
      purePhoneNumber: '13700000000',
    });
    expect((await phoneNumber(sim, token, detail.code)).json.errcode).toBe(40029);
    expect(JSON.parse(decrypt(sessionKey, detail.encryptedData, detail.iv))).toMatchObject({
      phoneNumber: '13700000000',
    });
  });

  it('reports a refusal', () => {
    expect(wx.__tapPhoneButton({ deny: true })).toEqual({ errMsg: 'getPhoneNumber:fail user deny' });
    expect(wx.__calls.tapPhoneButton).toBe(1);
  });
});

describe('storage', () => {
  it('stores deep copies and answers "" for missing keys', () => {
    const value = { a: { b: [1, 2] }, when: 'now' };
    wx.setStorageSync('k', value);
    value.a.b.push(3);
    const got = wx.getStorageSync<typeof value>('k');
    expect(got).toEqual({ a: { b: [1, 2] }, when: 'now' });
    got.a.b.push(4);
    expect(wx.getStorageSync<typeof value>('k').a.b).toEqual([1, 2]);
    expect(wx.getStorageSync('missing')).toBe('');
    wx.setStorageSync('n', 42);
    expect(wx.getStorageSync('n')).toBe(42);
    wx.removeStorageSync('n');
    expect(wx.getStorageSync('n')).toBe('');
    wx.clearStorageSync();
    expect(wx.getStorageSync('k')).toBe('');
  });

  it('drops what JSON cannot carry, keeps Dates, and shares a Map across fakes', () => {
    const storage = new Map<string, unknown>();
    const first = createFakeWx({ simulator: sim, storage });
    first.setStorageSync('v', { f: () => 1, u: undefined, d: new Date(0) });
    first.setStorageSync('date', new Date(5));
    const second = createFakeWx({ simulator: sim, storage });
    expect(second.getStorageSync('v')).toEqual({ d: '1970-01-01T00:00:00.000Z' });
    expect(second.getStorageSync('date')).toEqual(new Date(5));
    expect(storage.has('v')).toBe(true);
  });

  it('throws for a bad key', () => {
    expect(() => wx.setStorageSync('', 1)).toThrow(/setStorageSync:fail/);
    expect(() => wx.getStorageSync(1 as unknown as string)).toThrow(/getStorageSync:fail/);
  });
});

describe('request', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url?.startsWith('/hang')) return;
        if (req.url?.startsWith('/text')) {
          res.writeHead(404, { 'content-type': 'text/plain', 'set-cookie': 'a=1' });
          res.end('plain words');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' });
        res.end(
          JSON.stringify({ method: req.method, url: req.url, body, contentType: req.headers['content-type'] ?? null }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('POSTs an object as JSON with the given headers and parses the JSON answer', async () => {
    const res = await wx.request({
      url: `${base}/echo`,
      method: 'POST',
      data: { code: 'abc', n: 1 },
      header: { Authorization: 'Bearer t' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.errMsg).toBe('request:ok');
    expect(res.header['x-echo']).toBe('yes');
    expect(res.data).toEqual({
      method: 'POST',
      url: '/echo',
      body: '{"code":"abc","n":1}',
      contentType: 'application/json',
    });
    expect(seen[0]?.headers.authorization).toBe('Bearer t');
  });

  it('puts GET data in the query string', async () => {
    const res = await wx.request({ url: `${base}/q?x=1`, data: { a: 'b c', n: 2, o: { k: 1 } } });
    expect((res.data as { url: string }).url).toBe('/q?x=1&a=b+c&n=2&o=%7B%22k%22%3A1%7D');
  });

  it('sends string data as is and returns non-JSON as text, with any status', async () => {
    const res = await callback<Awaited<ReturnType<FakeWx['request']>> & object>((cb) =>
      wx.request({ url: `${base}/text`, method: 'PUT', data: 'raw', header: { 'content-type': 'text/plain' }, ...cb }),
    );
    expect(res.statusCode).toBe(404);
    expect(res.data).toBe('plain words');
    expect(res.cookies).toEqual(['a=1']);
    expect(seen[0]?.body).toBe('raw');
  });

  it('fails with "request:fail timeout" after `timeout` ms', async () => {
    const started = performance.now();
    await expect(wx.request({ url: `${base}/hang`, timeout: 100 })).rejects.toEqual({
      errMsg: 'request:fail timeout',
      errno: 5,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('fails like a dead network when nothing listens or when offline', async () => {
    const idle = createSimulator();
    await idle.listen();
    const deadUrl = idle.url;
    await idle.close();
    await expect(wx.request({ url: deadUrl })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^request:fail /),
    });
    wx.__setOffline(true);
    await expect(wx.request({ url: `${base}/echo` })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^request:fail /),
    });
    expect(seen).toHaveLength(0);
    wx.__setOffline(false);
    expect((await wx.request({ url: `${base}/echo` })).statusCode).toBe(200);
    expect(wx.__calls.request).toBe(3);
  });

  it('returns a task that can be aborted and reports headers', async () => {
    const headers: Array<Record<string, string>> = [];
    const outcome = new Promise<WxFailResult | string>((resolve) => {
      const task = wx.request({ url: `${base}/hang`, success: () => resolve('success'), fail: resolve });
      task.onHeadersReceived((h) => headers.push(h.header));
      setTimeout(() => task.abort(), 50);
    });
    expect(await outcome).toMatchObject({ errMsg: 'request:fail abort' });
    const task = wx.request({ url: `${base}/echo` });
    task.onHeadersReceived((h) => headers.push(h.header));
    await task;
    expect(headers).toHaveLength(1);
    expect(headers[0]?.['x-echo']).toBe('yes');
  });

  it('fails for a bad url', async () => {
    await expect(wx.request({ url: 'not a url' })).rejects.toMatchObject({
      errMsg: expect.stringMatching(/^request:fail invalid url/),
    });
  });

  it('reaches the simulator itself', async () => {
    const { code } = await wx.login();
    const res = await wx.request({
      url: `${sim.url}/sns/jscode2session`,
      data: { appid: DEV_APP.appId, secret: DEV_APP.secret, js_code: code, grant_type: 'authorization_code' },
    });
    expect(res.data).toMatchObject({ openid: sim.openidOf(DEV_APP.appId, 'alice') });
    expect(res.header['content-type']).toBe('text/plain');
  });
});
