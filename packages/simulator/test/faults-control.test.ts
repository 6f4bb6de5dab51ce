import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_APP, type FaultSpec, SIM_ENDPOINTS, type Simulator, startSimulator } from '../src/index.js';
import {
  Clock,
  checkSession,
  classicToken,
  code2Session,
  get,
  hmacEmpty,
  login,
  phoneNumber,
  post,
  RID,
  SESSION_KEY,
  stableToken,
  tokenErrcode,
} from './helpers.js';

let clock: Clock;
let sim: Simulator;
let lines: string[];

beforeEach(async () => {
  clock = new Clock();
  lines = [];
  sim = await startSimulator({ now: clock.now, logger: (line) => lines.push(line) });
});

afterEach(async () => {
  await sim.close();
});

const tokenQuery = { grant_type: 'client_credential', appid: DEV_APP.appId, secret: DEV_APP.secret };

describe('fault injection', () => {
  it('answers an errcode once with the canonical errmsg, then normally; the code is not consumed', async () => {
    sim.inject({ endpoint: 'jscode2session', errcode: 40226 });
    const { code } = sim.mintLoginCode();
    const faulted = await code2Session(sim, code);
    expect(faulted.status).toBe(200);
    expect(faulted.type).toBe('text/plain');
    expect(faulted.json.errcode).toBe(40226);
    expect(faulted.json.errmsg).toMatch(/^code blocked, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect((await code2Session(sim, code)).json.session_key).toMatch(SESSION_KEY);
  });

  it('answers an errcode N times', async () => {
    sim.inject({ endpoint: 'token', errcode: -1, times: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await get(sim, '/cgi-bin/token', tokenQuery);
      expect(res.json.errcode).toBe(-1);
      expect(res.json.errmsg).toMatch(/^system error, rid: /);
    }
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.access_token).toEqual(expect.any(String));
  });

  it("answers an errcode 'always' until the faults are cleared", async () => {
    sim.inject({ endpoint: 'stable_token', errcode: 45011, times: 'always' });
    for (let i = 0; i < 5; i++) expect((await stableToken(sim)).json.errcode).toBe(45011);
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.access_token).toEqual(expect.any(String));
    sim.clearFaults();
    expect((await stableToken(sim)).json.access_token).toEqual(expect.any(String));
  });

  it("applies '*' to every endpoint and uses a custom errmsg with the rid suffix", async () => {
    sim.inject({ endpoint: '*', errcode: 40001, errmsg: 'custom text', times: 2 });
    const a = await get(sim, '/cgi-bin/token', tokenQuery);
    const b = await checkSession(sim, 'x', 'y', 'z');
    expect(a.json).toMatchObject({ errcode: 40001 });
    expect(a.json.errmsg).toMatch(/^custom text, rid: /);
    expect(b.json.errcode).toBe(40001);
    expect((await checkSession(sim, 'x', 'y', 'z')).json.errcode).toBe(40014);
  });

  it('applies faults in the order they were injected', async () => {
    sim.inject({ endpoint: 'token', errcode: 45009 });
    sim.inject({ endpoint: '*', errcode: -1 });
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.errcode).toBe(45009);
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.errcode).toBe(-1);
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.access_token).toEqual(expect.any(String));
  });

  it('delays a normal answer', async () => {
    sim.inject({ endpoint: 'token', delayMs: 150 });
    const started = performance.now();
    const res = await get(sim, '/cgi-bin/token', tokenQuery);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.json.access_token).toEqual(expect.any(String));
    const quick = performance.now();
    await get(sim, '/cgi-bin/token', tokenQuery);
    expect(performance.now() - quick).toBeLessThan(140);
  });

  it('combines a delay with an errcode', async () => {
    sim.inject({ endpoint: 'token', delayMs: 100, errcode: -1 });
    const started = performance.now();
    const res = await get(sim, '/cgi-bin/token', tokenQuery);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(res.json.errcode).toBe(-1);
  });

  it('answers an HTML 502 page', async () => {
    sim.inject({ endpoint: 'getuserphonenumber', html: true });
    const res = await phoneNumber(sim, await classicToken(sim), sim.phoneCode().code);
    expect(res.status).toBe(502);
    expect(res.type).toBe('text/html');
    expect(res.text).toContain('502 Bad Gateway');
  });

  it('answers a raw body', async () => {
    sim.inject({ endpoint: 'checksession', body: 'not json at all' });
    const res = await checkSession(sim, 'a', 'b', 'c');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain');
    expect(res.text).toBe('not json at all');
  });

  it('drops the connection, then serves the next request', async () => {
    sim.inject({ endpoint: 'resetusersessionkey', drop: true });
    await expect(fetch(`${sim.url}/wxa/resetusersessionkey`)).rejects.toThrow(TypeError);
    expect((await get(sim, '/wxa/resetusersessionkey')).json.errcode).toBe(41001);
  });

  it('drops after a delay', async () => {
    sim.inject({ endpoint: 'token', drop: true, delayMs: 50 });
    await expect(fetch(`${sim.url}/cgi-bin/token`)).rejects.toThrow(TypeError);
  });

  it('rejects fault specs that make no sense', () => {
    const bad: unknown[] = [
      { endpoint: 'nope', errcode: 1 },
      { endpoint: 'token' },
      { endpoint: 'token', errcode: 0 },
      { endpoint: 'token', errcode: 1.5 },
      { endpoint: 'token', errcode: 1, html: true },
      { endpoint: 'token', body: 'x', drop: true },
      { endpoint: 'token', errcode: 1, times: 0 },
      { endpoint: 'token', errcode: 1, times: 'sometimes' },
      { endpoint: 'token', delayMs: -1 },
      { endpoint: 'token', errmsg: 'text only' },
      null,
    ];
    for (const spec of bad) expect(() => sim.inject(spec as FaultSpec)).toThrow(TypeError);
  });

  it('closes cleanly while a delayed answer is pending', async () => {
    sim.inject({ endpoint: 'token', delayMs: 10_000 });
    const pending = fetch(`${sim.url}/cgi-bin/token`).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sim.close();
    expect(await pending).toBe('failed');
  });
});

describe('call counters', () => {
  it('counts every request per endpoint, faulted and failed ones included', async () => {
    sim.inject({ endpoint: 'jscode2session', errcode: -1 });
    await code2Session(sim, 'x');
    await code2Session(sim, 'y');
    await login(sim);
    await get(sim, '/cgi-bin/token', tokenQuery);
    await post(sim, '/cgi-bin/stable_token', '');
    await get(sim, '/unknown');
    expect(sim.calls('jscode2session')).toBe(3);
    expect(sim.calls('token')).toBe(1);
    expect(sim.calls('stable_token')).toBe(1);
    expect(sim.calls('checksession')).toBe(0);
    expect(sim.calls()).toBe(5);
    sim.resetCalls();
    expect(sim.calls()).toBe(0);
    expect(() => sim.calls('nope' as 'token')).toThrow(TypeError);
  });
});

describe('logger', () => {
  it('logs method, path and outcome, never a secret or a query string', async () => {
    const { code } = sim.mintLoginCode();
    await code2Session(sim, code);
    const token = await classicToken(sim);
    await checkSession(sim, token, 'o', 'sig');
    const log = lines.join('\n');
    expect(lines).toContain('GET /sns/jscode2session -> ok');
    expect(log).toContain('GET /wxa/checksession -> errcode 87009');
    expect(log).not.toContain(DEV_APP.secret);
    expect(log).not.toContain(token);
    expect(log).not.toContain(code);
    expect(log).not.toContain('?');
  });
});

describe('control API', () => {
  it('POST /__sim/login-code mints a code', async () => {
    const res = await post(sim, '/__sim/login-code', { user: 'bob' });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      code: expect.any(String),
      appId: DEV_APP.appId,
      openid: sim.openidOf(DEV_APP.appId, 'bob'),
      unionid: expect.any(String),
    });
    expect((await code2Session(sim, res.json.code as string)).json.openid).toBe(res.json.openid);
    const empty = await fetch(`${sim.url}/__sim/login-code`, { method: 'POST' });
    expect(empty.status).toBe(200);
    expect(((await empty.json()) as { openid: string }).openid).toBe(sim.openidOf(DEV_APP.appId, 'alice'));
  });

  it('POST /__sim/userinfo and /__sim/phone-code give what the client would get', async () => {
    expect((await post(sim, '/__sim/userinfo', { user: 'erin' })).status).toBe(400);
    await login(sim, 'erin');
    const info = await post(sim, '/__sim/userinfo', { user: 'erin', anonymous: true });
    expect(info.status).toBe(200);
    expect(Object.keys(info.json).sort()).toEqual(['encryptedData', 'iv', 'rawData', 'signature', 'userInfo']);
    expect(info.json.userInfo).toMatchObject({ nickName: '微信用户' });
    const phone = await post(sim, '/__sim/phone-code', { user: 'erin', phoneNumber: '13900000000' });
    expect(phone.json).toMatchObject({ errMsg: 'getPhoneNumber:ok', phoneNumber: '13900000000', countryCode: '86' });
    const redeemed = await phoneNumber(sim, await classicToken(sim), phone.json.code as string);
    expect(redeemed.json.phone_info).toMatchObject({ purePhoneNumber: '13900000000' });
  });

  it('POST and DELETE /__sim/faults', async () => {
    const injected = await post(sim, '/__sim/faults', { endpoint: 'token', errcode: 40164, times: 'always' });
    expect(injected.status).toBe(204);
    expect(injected.text).toBe('');
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.errcode).toBe(40164);
    expect((await post(sim, '/__sim/faults', {}, {}, 'DELETE')).status).toBe(204);
    expect((await get(sim, '/cgi-bin/token', tokenQuery)).json.access_token).toEqual(expect.any(String));
    const bad = await post(sim, '/__sim/faults', { endpoint: 'token' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toEqual(expect.any(String));
  });

  it('GET and DELETE /__sim/calls', async () => {
    await get(sim, '/cgi-bin/token', tokenQuery);
    const res = await get(sim, '/__sim/calls');
    expect(res.json).toEqual({ ...Object.fromEntries(SIM_ENDPOINTS.map((e) => [e, 0])), token: 1 });
    expect((await post(sim, '/__sim/calls', '', {}, 'DELETE')).status).toBe(204);
    expect(sim.calls()).toBe(0);
  });

  it('POST /__sim/expire for access tokens, session keys and codes', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    expect((await post(sim, '/__sim/expire', { kind: 'session_key', openid })).status).toBe(204);
    expect((await checkSession(sim, token, openid, hmacEmpty(sessionKey))).json.errcode).toBe(87009);
    expect((await post(sim, '/__sim/expire', { kind: 'access_tokens', appId: DEV_APP.appId })).status).toBe(204);
    expect(await tokenErrcode(sim, token)).toBe(42001);
    const { code } = sim.mintLoginCode();
    expect((await post(sim, '/__sim/expire', { kind: 'code', code })).status).toBe(204);
    expect((await code2Session(sim, code)).json.errcode).toBe(40029);
    expect((await post(sim, '/__sim/expire', { kind: 'everything' })).status).toBe(400);
    expect((await post(sim, '/__sim/expire', { kind: 'code', code: 'unknown' })).status).toBe(400);
    expect((await post(sim, '/__sim/expire', { kind: 'session_key' })).status).toBe(400);
  });

  it('answers 400 for bad JSON, 404 for unknown paths and 405 for wrong methods', async () => {
    expect((await post(sim, '/__sim/login-code', '{nope')).status).toBe(400);
    expect((await post(sim, '/__sim/login-code', '[]')).status).toBe(400);
    expect((await post(sim, '/__sim/login-code', { appId: 'wxnope' })).status).toBe(400);
    expect((await post(sim, '/__sim/login-code', { user: 42 })).status).toBe(400);
    expect((await get(sim, '/__sim/nothing')).status).toBe(404);
    expect((await get(sim, '/__sim/login-code')).status).toBe(405);
    expect(sim.calls()).toBe(0);
  });

  it('rid suffixes and control answers do not count as WeChat calls', async () => {
    await post(sim, '/__sim/login-code', {});
    expect(sim.calls()).toBe(0);
    expect(((await code2Session(sim, 'bad')).json.errmsg as string) ?? '').toMatch(RID);
  });
});
