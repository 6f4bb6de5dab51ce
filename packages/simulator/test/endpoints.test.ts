import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_APP, type Simulator, startSimulator } from '../src/index.js';
import { internalsOf } from '../src/simulator.js';
import {
  APPS,
  Clock,
  checkSession,
  classicToken,
  code2Session,
  decrypt,
  get,
  hmacEmpty,
  LONE_APP,
  login,
  OPENID,
  phoneNumber,
  post,
  RID,
  resetSessionKey,
  SESSION_KEY,
  SIBLING_APP,
  sha1Hex,
  stableToken,
  tokenErrcode,
  tryDecryptJson,
} from './helpers.js';

let clock: Clock;
let sim: Simulator;

beforeEach(async () => {
  clock = new Clock();
  sim = await startSimulator({ apps: APPS, now: clock.now });
});

afterEach(async () => {
  await sim.close();
});

describe('GET /sns/jscode2session', () => {
  it('answers {session_key, openid, unionid} as text/plain without errcode', async () => {
    const minted = sim.mintLoginCode();
    const res = await code2Session(sim, minted.code);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain');
    expect(Object.keys(res.json)).toEqual(['session_key', 'openid', 'unionid']);
    expect(res.json.session_key).toMatch(SESSION_KEY);
    expect(res.json.openid).toBe(minted.openid);
    expect(res.json.unionid).toBe(minted.unionid);
    expect(minted.openid).toMatch(OPENID);
    expect(minted.unionid).toMatch(OPENID);
    expect(minted.appId).toBe(DEV_APP.appId);
  });

  it('leaves unionid out for an app without an open platform account', async () => {
    const minted = sim.mintLoginCode({ appId: LONE_APP.appId });
    expect(minted.unionid).toBeNull();
    const res = await code2Session(sim, minted.code, LONE_APP);
    expect(Object.keys(res.json)).toEqual(['session_key', 'openid']);
  });

  it('keeps openids stable per app and unionids shared across the open platform account', () => {
    const a1 = sim.mintLoginCode({ user: 'alice' });
    const a2 = sim.mintLoginCode({ user: 'alice' });
    const b = sim.mintLoginCode({ user: 'bob' });
    const sibling = sim.mintLoginCode({ appId: SIBLING_APP.appId, user: 'alice' });
    expect(a2.openid).toBe(a1.openid);
    expect(a2.code).not.toBe(a1.code);
    expect(b.openid).not.toBe(a1.openid);
    expect(b.unionid).not.toBe(a1.unionid);
    expect(sibling.openid).not.toBe(a1.openid);
    expect(sibling.unionid).toBe(a1.unionid);
    expect(sim.openidOf(DEV_APP.appId, 'alice')).toBe(a1.openid);
  });

  it('accepts a code once; the second exchange gets 40163', async () => {
    const { code } = sim.mintLoginCode();
    expect((await code2Session(sim, code)).json.session_key).toMatch(SESSION_KEY);
    const again = await code2Session(sim, code);
    expect(again.status).toBe(200);
    expect(again.type).toBe('text/plain');
    expect(again.json.errcode).toBe(40163);
    expect(again.json.errmsg).toMatch(/^code been used, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it('expires codes after 5 minutes', async () => {
    const early = sim.mintLoginCode();
    const late = sim.mintLoginCode();
    clock.advance(299);
    expect((await code2Session(sim, early.code)).json.openid).toBe(early.openid);
    clock.advance(1);
    const res = await code2Session(sim, late.code);
    expect(res.json.errcode).toBe(40029);
    expect(res.json.errmsg).toMatch(/^invalid code, rid: /);
  });

  it('forgets codes an hour after they were minted (40029, as expired), however many there were', async () => {
    const { loginCodeState } = internalsOf(sim);
    const old = Array.from({ length: 300 }, () => sim.mintLoginCode());
    const redeemed = old[0]?.code ?? '';
    expect((await code2Session(sim, redeemed)).json.openid).toBe(old[0]?.openid);
    clock.advance(3599);
    const fresh = sim.mintLoginCode();
    // still remembered: dead, but inspectable
    expect(loginCodeState(redeemed)?.state).toBe('redeemed');
    expect(loginCodeState(old[1]?.code ?? '')?.state).toBe('expired');
    clock.advance(1);
    sim.mintLoginCode();
    for (const { code } of old) expect(loginCodeState(code)).toBeNull();
    expect(loginCodeState(fresh.code)?.state).toBe('pending');
    expect((await code2Session(sim, old[1]?.code ?? '')).json.errcode).toBe(40029);
    expect((await code2Session(sim, fresh.code)).json.openid).toBe(fresh.openid);
  });

  it('expires a code on demand', async () => {
    const { code } = sim.mintLoginCode();
    sim.expireCode(code);
    expect((await code2Session(sim, code)).json.errcode).toBe(40029);
    expect(() => sim.expireCode('no-such-code')).toThrow(TypeError);
  });

  it('refuses a code of another app with 40029 and leaves it usable by its own app', async () => {
    const { code } = sim.mintLoginCode({ appId: SIBLING_APP.appId });
    expect((await code2Session(sim, code, DEV_APP)).json.errcode).toBe(40029);
    expect((await code2Session(sim, code, SIBLING_APP)).json.session_key).toMatch(SESSION_KEY);
  });

  it('answers the documented errcodes for bad credentials and parameters', async () => {
    const { code } = sim.mintLoginCode();
    const base = { appid: DEV_APP.appId, secret: DEV_APP.secret, js_code: code, grant_type: 'authorization_code' };
    const errcode = async (query: Record<string, string>): Promise<unknown> =>
      (await get(sim, '/sns/jscode2session', query)).json.errcode;
    expect(await errcode({ ...base, secret: 'f'.repeat(32) })).toBe(40125);
    expect(await errcode({ ...base, appid: 'wxffffffffffffffff' })).toBe(40013);
    const { appid: _a, ...noAppid } = base;
    expect(await errcode(noAppid)).toBe(41002);
    const { secret: _s, ...noSecret } = base;
    expect(await errcode(noSecret)).toBe(41004);
    const { js_code: _c, ...noCode } = base;
    expect(await errcode(noCode)).toBe(41008);
    expect(await errcode({ ...base, grant_type: 'client_credential' })).toBe(40002);
    expect(await errcode({ ...base, js_code: 'garbage' })).toBe(40029);
    const posted = await post(sim, '/sns/jscode2session', {}, base);
    expect(posted.json.errcode).toBe(43001);
    // none of the refusals burned the code
    expect((await errcode(base)) ?? 0).toBe(0);
  });

  it('rotates the session key on each new login', async () => {
    const first = await login(sim);
    const second = await login(sim);
    expect(second.openid).toBe(first.openid);
    expect(second.sessionKey).not.toBe(first.sessionKey);
    expect(sim.sessionKeyOf(DEV_APP.appId, first.openid)).toBe(second.sessionKey);
  });
});

describe('sessionKeyRotationMinSeconds', () => {
  it('keeps the key for logins within the window and rotates after it', async () => {
    const local = await startSimulator({ now: clock.now, sessionKeyRotationMinSeconds: 60 });
    try {
      const first = await login(local);
      clock.advance(59);
      expect((await login(local)).sessionKey).toBe(first.sessionKey);
      clock.advance(1);
      const third = await login(local);
      expect(third.sessionKey).not.toBe(first.sessionKey);
      clock.advance(30);
      expect((await login(local)).sessionKey).toBe(third.sessionKey);
    } finally {
      await local.close();
    }
  });

  it('always replaces an expired key', async () => {
    const local = await startSimulator({ now: clock.now, sessionKeyRotationMinSeconds: 3600 });
    try {
      const first = await login(local);
      local.expireSessionKey(DEV_APP.appId, first.openid);
      expect((await login(local)).sessionKey).not.toBe(first.sessionKey);
    } finally {
      await local.close();
    }
  });
});

describe('GET /wxa/checksession', () => {
  it('answers errcode 0 for the current key and 87009 otherwise', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    const ok = await checkSession(sim, token, openid, hmacEmpty(sessionKey));
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^application\/json/);
    expect(ok.json).toEqual({ errcode: 0, errmsg: 'ok' });
    const bad = await checkSession(sim, token, openid, hmacEmpty('AAAAAAAAAAAAAAAAAAAAAA=='));
    expect(bad.json.errcode).toBe(87009);
    expect(bad.json.errmsg).toMatch(/^invalid signature, rid: /);
  });

  it('rejects the previous key after a new login and accepts the new one', async () => {
    const token = await classicToken(sim);
    const first = await login(sim);
    const second = await login(sim);
    expect((await checkSession(sim, token, first.openid, hmacEmpty(first.sessionKey))).json.errcode).toBe(87009);
    expect((await checkSession(sim, token, first.openid, hmacEmpty(second.sessionKey))).json.errcode).toBe(0);
  });

  it('does not accept the HMAC keyed with the decoded key bytes', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    const { createHmac } = await import('node:crypto');
    const wrong = createHmac('sha256', Buffer.from(sessionKey, 'base64')).update('').digest('hex');
    expect((await checkSession(sim, token, openid, wrong)).json.errcode).toBe(87009);
  });

  it('answers 87009 for an expired key, an unknown openid or a user of another app', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    const sibling = await login(sim, 'alice', SIBLING_APP);
    expect((await checkSession(sim, token, sibling.openid, hmacEmpty(sibling.sessionKey))).json.errcode).toBe(87009);
    expect((await checkSession(sim, token, `o${'x'.repeat(27)}`, hmacEmpty(sessionKey))).json.errcode).toBe(87009);
    sim.expireSessionKey(DEV_APP.appId, openid);
    expect((await checkSession(sim, token, openid, hmacEmpty(sessionKey))).json.errcode).toBe(87009);
    expect(sim.sessionKeyOf(DEV_APP.appId, openid)).toBe(sessionKey);
  });

  it('checks sig_method and the arguments', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    const sig = hmacEmpty(sessionKey);
    expect((await checkSession(sim, token, openid, sig, 'md5')).json.errcode).toBe(87008);
    expect((await get(sim, '/wxa/checksession', { access_token: token, openid, signature: sig })).json.errcode).toBe(
      87008,
    );
    expect((await checkSession(sim, token, '', sig)).json.errcode).toBe(40097);
    expect((await checkSession(sim, token, openid, '')).json.errcode).toBe(40097);
  });

  it('follows rotateSessionKey', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    sim.rotateSessionKey(DEV_APP.appId, openid);
    const rotated = sim.sessionKeyOf(DEV_APP.appId, openid) ?? '';
    expect(rotated).not.toBe(sessionKey);
    expect((await checkSession(sim, token, openid, hmacEmpty(sessionKey))).json.errcode).toBe(87009);
    expect((await checkSession(sim, token, openid, hmacEmpty(rotated))).json.errcode).toBe(0);
    expect(() => sim.rotateSessionKey(DEV_APP.appId, 'o-unknown')).toThrow(TypeError);
  });
});

describe('GET /wxa/resetusersessionkey', () => {
  it('rotates the key at once and returns the new one; the old key then fails checksession', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    const res = await resetSessionKey(sim, token, openid, hmacEmpty(sessionKey));
    expect(res.type).toMatch(/^application\/json/);
    expect(Object.keys(res.json)).toEqual(['errcode', 'errmsg', 'openid', 'session_key']);
    expect(res.json).toMatchObject({ errcode: 0, errmsg: 'ok', openid });
    const fresh = res.json.session_key as string;
    expect(fresh).toMatch(SESSION_KEY);
    expect(fresh).not.toBe(sessionKey);
    expect(sim.sessionKeyOf(DEV_APP.appId, openid)).toBe(fresh);
    expect((await checkSession(sim, token, openid, hmacEmpty(sessionKey))).json.errcode).toBe(87009);
    expect((await checkSession(sim, token, openid, hmacEmpty(fresh))).json.errcode).toBe(0);
  });

  it('answers 87009 for a bad signature and 87007 when the key expired', async () => {
    const token = await classicToken(sim);
    const { openid, sessionKey } = await login(sim);
    expect((await resetSessionKey(sim, token, openid, hmacEmpty('AAAAAAAAAAAAAAAAAAAAAA=='))).json.errcode).toBe(87009);
    expect(sim.sessionKeyOf(DEV_APP.appId, openid)).toBe(sessionKey);
    sim.expireSessionKey(DEV_APP.appId, openid);
    const res = await resetSessionKey(sim, token, openid, hmacEmpty(sessionKey));
    expect(res.json.errcode).toBe(87007);
    expect(res.json.errmsg).toMatch(/^session_key is not existd or expired, rid: /);
  });
});

describe('GET /cgi-bin/token', () => {
  it('answers {access_token, expires_in} and a new token on every call', async () => {
    const query = { grant_type: 'client_credential', appid: DEV_APP.appId, secret: DEV_APP.secret };
    const res = await get(sim, '/cgi-bin/token', query);
    expect(res.type).toMatch(/^application\/json/);
    expect(Object.keys(res.json)).toEqual(['access_token', 'expires_in']);
    expect(res.json.expires_in).toBe(7200);
    expect((res.json.access_token as string).length).toBeGreaterThanOrEqual(100);
    const next = await get(sim, '/cgi-bin/token', query);
    expect(next.json.access_token).not.toBe(res.json.access_token);
  });

  it('keeps the previous token valid for 300 s, then answers 40001 for it', async () => {
    const first = await classicToken(sim);
    clock.advance(1000);
    const second = await classicToken(sim);
    clock.advance(299);
    expect(await tokenErrcode(sim, first)).toBe(0);
    clock.advance(1);
    expect(await tokenErrcode(sim, first)).toBe(40001);
    expect(await tokenErrcode(sim, second)).toBe(0);
  });

  it('expires a token after expires_in seconds with 42001', async () => {
    const token = await classicToken(sim);
    clock.advance(7199);
    expect(await tokenErrcode(sim, token)).toBe(0);
    clock.advance(1);
    expect(await tokenErrcode(sim, token)).toBe(42001);
  });

  it('honours accessTokenTtlSeconds', async () => {
    const local = await startSimulator({ now: clock.now, accessTokenTtlSeconds: 600 });
    try {
      const res = await get(local, '/cgi-bin/token', {
        grant_type: 'client_credential',
        appid: DEV_APP.appId,
        secret: DEV_APP.secret,
      });
      expect(res.json.expires_in).toBe(600);
    } finally {
      await local.close();
    }
  });

  it('answers the documented errcodes', async () => {
    const base = { grant_type: 'client_credential', appid: DEV_APP.appId, secret: DEV_APP.secret };
    const errcode = async (query: Record<string, string>): Promise<unknown> =>
      (await get(sim, '/cgi-bin/token', query)).json.errcode;
    expect(await errcode({ ...base, secret: 'nope' })).toBe(40125);
    expect(await errcode({ ...base, appid: 'wxnope' })).toBe(40013);
    expect(await errcode({ ...base, grant_type: 'authorization_code' })).toBe(40002);
    expect(await errcode({ grant_type: 'client_credential', secret: DEV_APP.secret })).toBe(41002);
    expect(await errcode({ grant_type: 'client_credential', appid: DEV_APP.appId })).toBe(41004);
  });
});

describe('POST /cgi-bin/stable_token', () => {
  it('returns the same token in normal mode with a shrinking expires_in', async () => {
    const first = await stableToken(sim);
    expect(first.type).toMatch(/^application\/json/);
    expect(Object.keys(first.json)).toEqual(['access_token', 'expires_in']);
    expect(first.json.expires_in).toBe(7200);
    clock.advance(100);
    const second = await stableToken(sim, false);
    expect(second.json.access_token).toBe(first.json.access_token);
    expect(second.json.expires_in).toBe(7100);
  });

  it('rotates in the last 300 s; the old token lives out its life', async () => {
    const first = (await stableToken(sim)).json;
    clock.advance(6899);
    expect((await stableToken(sim)).json).toEqual({ access_token: first.access_token, expires_in: 301 });
    clock.advance(1);
    const second = (await stableToken(sim)).json;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.expires_in).toBe(7200);
    expect(await tokenErrcode(sim, first.access_token as string)).toBe(0);
    expect((await stableToken(sim)).json.access_token).toBe(second.access_token);
    clock.advance(300);
    expect(await tokenErrcode(sim, first.access_token as string)).toBe(42001);
    expect(await tokenErrcode(sim, second.access_token as string)).toBe(0);
  });

  it('force_refresh rotates and revokes, at most once per 30 s', async () => {
    const first = (await stableToken(sim)).json.access_token as string;
    const forced = (await stableToken(sim, true)).json.access_token as string;
    expect(forced).not.toBe(first);
    expect(await tokenErrcode(sim, first)).toBe(40001);
    clock.advance(29);
    expect((await stableToken(sim, true)).json.access_token).toBe(forced);
    clock.advance(1);
    const again = (await stableToken(sim, true)).json.access_token as string;
    expect(again).not.toBe(forced);
    expect(await tokenErrcode(sim, forced)).toBe(40001);
    expect(await tokenErrcode(sim, again)).toBe(0);
  });

  it('force_refresh works at most 20 times a day', async () => {
    let last = '';
    for (let i = 0; i < 20; i++) {
      const token = (await stableToken(sim, true)).json.access_token as string;
      expect(token).not.toBe(last);
      last = token;
      clock.advance(30);
    }
    expect((await stableToken(sim, true)).json.access_token).toBe(last);
    clock.advance(86_400);
    expect((await stableToken(sim, true)).json.access_token).not.toBe(last);
  });

  it('keeps the two token families independent', async () => {
    const stable = (await stableToken(sim)).json.access_token as string;
    const classic = await classicToken(sim);
    await classicToken(sim);
    clock.advance(301);
    expect(await tokenErrcode(sim, stable)).toBe(0);
    const classic2 = await classicToken(sim);
    await stableToken(sim, true);
    expect(await tokenErrcode(sim, classic2)).toBe(0);
    expect(await tokenErrcode(sim, classic)).toBe(40001);
    expect(await tokenErrcode(sim, stable)).toBe(40001);
  });

  it('is POST JSON only and checks its fields', async () => {
    const query = { grant_type: 'client_credential', appid: DEV_APP.appId, secret: DEV_APP.secret };
    expect((await get(sim, '/cgi-bin/stable_token', query)).json.errcode).toBe(43002);
    const body = { grant_type: 'client_credential', appid: DEV_APP.appId, secret: DEV_APP.secret };
    const errcode = async (b: unknown): Promise<unknown> => (await post(sim, '/cgi-bin/stable_token', b)).json.errcode;
    expect(await errcode('')).toBe(44002);
    expect(await errcode('{not json')).toBe(47001);
    expect(await errcode('[1,2]')).toBe(47001);
    expect(await errcode({ ...body, secret: 'nope' })).toBe(40125);
    expect(await errcode({ ...body, appid: 'wxnope' })).toBe(40013);
    expect(await errcode({ ...body, grant_type: 'x' })).toBe(40002);
    expect(await errcode({ grant_type: 'client_credential', secret: DEV_APP.secret })).toBe(41002);
    expect(await errcode({ grant_type: 'client_credential', appid: DEV_APP.appId })).toBe(41004);
    expect(await errcode({ ...body, force_refresh: 'yes' })).toBe(47001);
  });
});

describe('access token checks', () => {
  it('answers 41001 missing, 40014 malformed, 40001 unknown, 42001 expired', async () => {
    const { openid, sessionKey } = await login(sim);
    const sig = hmacEmpty(sessionKey);
    const missing = await get(sim, '/wxa/checksession', { openid, signature: sig, sig_method: 'hmac_sha256' });
    expect(missing.json.errcode).toBe(41001);
    expect((await checkSession(sim, 'short!', openid, sig)).json.errcode).toBe(40014);
    expect((await checkSession(sim, `90_${'A'.repeat(134)}`, openid, sig)).json.errcode).toBe(40001);
    const classic = await classicToken(sim);
    const stable = (await stableToken(sim)).json.access_token as string;
    sim.expireAccessTokens(DEV_APP.appId);
    const expired = await checkSession(sim, classic, openid, sig);
    expect(expired.json.errcode).toBe(42001);
    expect(expired.json.errmsg).toMatch(/^access_token expired, rid: /);
    expect((await checkSession(sim, stable, openid, sig)).json.errcode).toBe(42001);
    expect((await stableToken(sim)).json.access_token).not.toBe(stable);
  });

  it('expires only the named app when given one', async () => {
    const dev = await classicToken(sim);
    const sibling = await classicToken(sim, SIBLING_APP);
    sim.expireAccessTokens(SIBLING_APP.appId);
    expect(await tokenErrcode(sim, dev)).toBe(0);
    const { openid, sessionKey } = await login(sim, 'alice', SIBLING_APP);
    expect((await checkSession(sim, sibling, openid, hmacEmpty(sessionKey))).json.errcode).toBe(42001);
    expect(() => sim.expireAccessTokens('wxnope')).toThrow(TypeError);
  });
});

describe('POST /wxa/business/getuserphonenumber', () => {
  it('answers the phone_info shape with countryCode as a string', async () => {
    const token = await classicToken(sim);
    const phone = sim.phoneCode();
    expect(phone.code).toMatch(/^[0-9a-f]{64}$/);
    const res = await phoneNumber(sim, token, phone.code);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: '13800138000',
        purePhoneNumber: '13800138000',
        countryCode: '86',
        watermark: { timestamp: Math.floor(clock.ms / 1000), appid: DEV_APP.appId },
      },
    });
  });

  it('includes the country code in phoneNumber for foreign numbers', async () => {
    const token = await classicToken(sim);
    const phone = sim.phoneCode({ phoneNumber: '2025550123', countryCode: '1' });
    expect(phone).toMatchObject({ phoneNumber: '+12025550123', purePhoneNumber: '2025550123', countryCode: '1' });
    const { json } = await phoneNumber(sim, token, phone.code);
    expect(json.phone_info).toMatchObject({
      phoneNumber: '+12025550123',
      purePhoneNumber: '2025550123',
      countryCode: '1',
    });
  });

  it('accepts a phone code once (40029 after), for 5 minutes, for its own app (40013 otherwise)', async () => {
    const token = await classicToken(sim);
    const once = sim.phoneCode();
    expect((await phoneNumber(sim, token, once.code)).json.errcode).toBe(0);
    expect((await phoneNumber(sim, token, once.code)).json.errcode).toBe(40029);
    const late = sim.phoneCode();
    clock.advance(300);
    expect((await phoneNumber(sim, await classicToken(sim), late.code)).json.errcode).toBe(40029);
    const foreign = sim.phoneCode({ appId: SIBLING_APP.appId });
    const res = await phoneNumber(sim, await classicToken(sim), foreign.code);
    expect(res.json.errcode).toBe(40013);
    expect((await phoneNumber(sim, await classicToken(sim, SIBLING_APP), foreign.code)).json.errcode).toBe(0);
  });

  it('refuses garbage, a login code, bad bodies and GET', async () => {
    const token = await classicToken(sim);
    expect((await phoneNumber(sim, token, 'garbage')).json.errcode).toBe(40029);
    expect((await phoneNumber(sim, token, sim.mintLoginCode().code)).json.errcode).toBe(40029);
    const path = '/wxa/business/getuserphonenumber';
    expect((await post(sim, path, '', { access_token: token })).json.errcode).toBe(44002);
    expect((await post(sim, path, '{', { access_token: token })).json.errcode).toBe(47001);
    expect((await post(sim, path, {}, { access_token: token })).json.errcode).toBe(40029);
    expect((await get(sim, path, { access_token: token })).json.errcode).toBe(43002);
    expect((await post(sim, path, { code: sim.phoneCode().code })).json.errcode).toBe(41001);
  });

  it('gives the legacy encryptedData under the current session key, or none before any login', async () => {
    const before = sim.phoneCode({ user: 'carol' });
    expect(before).toMatchObject({ encryptedData: '', iv: '', errMsg: 'getPhoneNumber:ok' });
    const { sessionKey } = await login(sim, 'carol');
    const after = sim.phoneCode({ user: 'carol' });
    expect(JSON.parse(decrypt(sessionKey, after.encryptedData, after.iv))).toEqual({
      phoneNumber: '13800138000',
      purePhoneNumber: '13800138000',
      countryCode: '86',
      watermark: { timestamp: Math.floor(clock.ms / 1000), appid: DEV_APP.appId },
    });
  });
});

describe('open data (userInfo)', () => {
  it('encrypts the getUserInfo shape under the current key and signs rawData', async () => {
    const { openid, sessionKey } = await login(sim);
    const result = sim.userInfo({ profile: { nickName: 'Band', gender: 1 } });
    expect(result.rawData).toBe(
      `{"nickName":"Band","gender":1,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"${result.userInfo.avatarUrl}"}`,
    );
    expect(result.userInfo).toEqual(JSON.parse(result.rawData));
    expect(result.signature).toBe(sha1Hex(result.rawData + sessionKey));
    expect(Buffer.from(result.iv, 'base64')).toHaveLength(16);
    const plain = decrypt(sessionKey, result.encryptedData, result.iv);
    const data = JSON.parse(plain) as Record<string, unknown>;
    expect(Object.keys(data)).toEqual([
      'openId',
      'nickName',
      'gender',
      'language',
      'city',
      'province',
      'country',
      'avatarUrl',
      'unionId',
      'watermark',
    ]);
    expect(data).toMatchObject({
      openId: openid,
      unionId: sim.mintLoginCode().unionid,
      nickName: 'Band',
      watermark: { appid: DEV_APP.appId, timestamp: Math.floor(clock.ms / 1000) },
    });
  });

  it('leaves openId and unionId out of the getUserProfile shape', async () => {
    const { sessionKey } = await login(sim);
    const result = sim.userInfo({ withOpenId: false });
    const data = JSON.parse(decrypt(sessionKey, result.encryptedData, result.iv)) as Record<string, unknown>;
    expect(data).not.toHaveProperty('openId');
    expect(data).not.toHaveProperty('unionId');
    expect(data.watermark).toEqual({ appid: DEV_APP.appId, timestamp: Math.floor(clock.ms / 1000) });
  });

  it('gives the anonymized payload WeChat sends today', async () => {
    const { sessionKey } = await login(sim);
    const result = sim.userInfo({ anonymous: true });
    expect(result.rawData).toBe(
      '{"nickName":"微信用户","gender":0,"language":"","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"}',
    );
    expect(result.signature).toBe(sha1Hex(result.rawData + sessionKey));
  });

  it('stops opening with the key once it rotated', async () => {
    const { sessionKey } = await login(sim);
    const result = sim.userInfo();
    await login(sim);
    const rotated = sim.sessionKeyOf(DEV_APP.appId, sim.openidOf(DEV_APP.appId, 'alice')) ?? '';
    expect(tryDecryptJson(sessionKey, result.encryptedData, result.iv)).not.toBeNull();
    expect(tryDecryptJson(rotated, result.encryptedData, result.iv)).toBeNull();
    expect(sha1Hex(result.rawData + rotated)).not.toBe(result.signature);
  });

  it('throws a TypeError for a user who never logged in', () => {
    expect(() => sim.userInfo({ user: 'nobody' })).toThrow(TypeError);
    expect(() => sim.userInfo({ appId: 'wxnope' })).toThrow(TypeError);
  });
});

describe('errmsg and unknown paths', () => {
  it('answers 40066 with a rid for an unknown path', async () => {
    const res = await get(sim, '/cgi-bin/nope');
    expect(res.status).toBe(200);
    expect(res.json.errcode).toBe(40066);
    expect(res.json.errmsg).toMatch(/^invalid url, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it('ends every errmsg with a fresh rid whose first group is the time', async () => {
    const a = (await code2Session(sim, 'x')).json.errmsg as string;
    const b = (await code2Session(sim, 'x')).json.errmsg as string;
    expect(a).toMatch(RID);
    expect(b).toMatch(RID);
    expect(a).not.toBe(b);
    expect(a.split('rid: ')[1]?.slice(0, 8)).toBe(Math.floor(clock.ms / 1000).toString(16));
  });
});

describe('simulator object', () => {
  it('validates apps and options', async () => {
    expect(() => sim.addApp({ appId: DEV_APP.appId, secret: 'x' })).toThrow(TypeError);
    expect(() => sim.addApp({ appId: '', secret: 'x' })).toThrow(TypeError);
    sim.addApp({ appId: 'wx3333333333333333', secret: 'd'.repeat(32) });
    expect(sim.apps.map((a) => a.appId)).toContain('wx3333333333333333');
    expect(() => sim.mintLoginCode({ appId: 'wxnope' })).toThrow(TypeError);
    expect(() => sim.mintLoginCode({ user: '' })).toThrow(TypeError);
    const { createSimulator } = await import('../src/index.js');
    expect(() => createSimulator({ accessTokenTtlSeconds: 0 })).toThrow(TypeError);
    expect(() => createSimulator({ sessionKeyRotationMinSeconds: -1 })).toThrow(TypeError);
    const idle = createSimulator();
    expect(() => idle.url).toThrow(TypeError);
  });

  it('returns null for the session key of an unknown app or user', () => {
    expect(sim.sessionKeyOf('wxnope', 'o')).toBeNull();
    expect(sim.sessionKeyOf(DEV_APP.appId, sim.openidOf(DEV_APP.appId, 'dave'))).toBeNull();
  });

  it('can be mounted through its handler and closed twice', async () => {
    const { createServer } = await import('node:http');
    const server = createServer(sim.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/sns/jscode2session`);
      expect(((await res.json()) as { errcode: number }).errcode).toBe(41002);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await sim.close();
    await sim.close();
  });
});
