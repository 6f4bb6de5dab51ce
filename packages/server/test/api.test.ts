/**
 * Every endpoint and every error row of the contract (shared/API.md), over
 * real HTTP against the WeChat simulator, on every backend.
 */
import type { ErrorBody, Profile, SessionInfo, TokenResponse } from '@wxlogin/protocol';
import { isErrorBody } from '@wxlogin/protocol';
import { DEV_APP } from '@wxlogin/simulator';
import { encryptOpenData } from '@wxlogin/wechat';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteSettings } from '../src/store/index.js';
import { StoreUnavailableError } from '../src/store/types.js';
import { backends } from './backends.js';
import { type HttpResult, type Stack, startStack } from './harness.js';

function expectError(result: HttpResult, status: number, code: string): ErrorBody {
  expect(result.status, result.text).toBe(status);
  expect(isErrorBody(result.body), result.text).toBe(true);
  const body = result.body as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.requestId).toBe(result.headers.get('x-request-id'));
  expect(result.text).not.toMatch(/at .*\.(ts|js):\d+/);
  return body;
}

describe.each(backends())('contract on $name', (backend) => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack({ backend });
  });
  afterEach(async () => {
    await stack.close();
  });

  describe('POST /v1/auth/login', () => {
    it('creates the user on the first login only, with the contract shape', async () => {
      const first = await stack.login('alice');
      expect(first).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, refreshExpiresIn: 2592000 });
      expect(first.user).toMatchObject({ appId: DEV_APP.appId, created: true });
      expect(first.user.openid).toBe(stack.sim.openidOf(DEV_APP.appId, 'alice'));
      expect(first.accessToken.split('.')).toHaveLength(3);
      const second = await stack.login('alice');
      expect(second.user).toMatchObject({ id: first.user.id, created: false });
      expect(second.refreshToken).not.toBe(first.refreshToken);
    });

    it('records the unionid of an app bound to an open platform', async () => {
      const tokens = await stack.login('bob');
      expect(tokens.user.unionid).toEqual(expect.any(String));
    });

    it('shares one code2Session call among concurrent requests with the same code', async () => {
      const { code } = stack.sim.mintLoginCode({ user: 'carol' });
      stack.sim.resetCalls();
      stack.sim.inject({ endpoint: 'jscode2session', delayMs: 150 });
      const results = await Promise.all(
        Array.from({ length: 8 }, () => stack.request<TokenResponse>('POST', '/v1/auth/login', { body: { code } })),
      );
      expect(stack.sim.calls('jscode2session')).toBe(1);
      for (const r of results) expect(r.status, r.text).toBe(200);
      expect(new Set(results.map((r) => r.body.user.id)).size).toBe(1);
      expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(8);
    });

    it('stores and answers every login of a burst that WeChat answers together (more than one turn of logins)', async () => {
      const users = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
      const codes = users.map((user) => stack.sim.mintLoginCode({ user }).code);
      stack.sim.inject({ endpoint: 'jscode2session', delayMs: 50, times: 'always' });
      const results = await Promise.all(
        codes.map((code) => stack.request<TokenResponse>('POST', '/v1/auth/login', { body: { code } })),
      );
      for (const r of results) expect(r.status, r.text).toBe(200);
      expect(results.map((r) => r.body.user.openid)).toEqual(
        users.map((user) => stack.sim.openidOf(DEV_APP.appId, user)),
      );
      expect(new Set(results.map((r) => r.body.user.id)).size).toBe(users.length);
      // every session was stored: each refresh token rotates
      const refreshed = await Promise.all(
        results.map((r) =>
          stack.request<TokenResponse>('POST', '/v1/auth/refresh', { body: { refreshToken: r.body.refreshToken } }),
        ),
      );
      for (const r of refreshed) expect(r.status, r.text).toBe(200);
    });

    it('answers code_used for a redeemed code without calling WeChat again', async () => {
      const { code } = stack.sim.mintLoginCode({ user: 'dave' });
      expect((await stack.request('POST', '/v1/auth/login', { body: { code } })).status).toBe(200);
      stack.sim.resetCalls();
      expectError(await stack.request('POST', '/v1/auth/login', { body: { code } }), 400, 'code_used');
      expect(stack.sim.calls('jscode2session')).toBe(0);
    });

    it.each([
      [40029, 400, 'invalid_code'],
      [40163, 400, 'code_used'],
      [40226, 403, 'user_blocked'],
      [45011, 429, 'rate_limited'],
      [-1, 503, 'wechat_unavailable'],
      [40125, 502, 'wechat_error'],
      [99999, 502, 'wechat_error'],
    ])('maps WeChat errcode %i to %i %s', async (errcode, status, code) => {
      stack.sim.inject({ endpoint: 'jscode2session', errcode });
      const { code: loginCode } = stack.sim.mintLoginCode({ user: 'erin' });
      const result = await stack.request('POST', '/v1/auth/login', { body: { code: loginCode } });
      const body = expectError(result, status, code);
      expect(body.error.wechatErrcode).toBe(errcode);
      if (status === 429 || status === 503) expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('answers invalid_code for a code WeChat never issued', async () => {
      expectError(
        await stack.request('POST', '/v1/auth/login', { body: { code: 'not-a-real-code' } }),
        400,
        'invalid_code',
      );
    });

    it('answers 503 within the timeout when WeChat does not answer', async () => {
      stack.sim.inject({ endpoint: 'jscode2session', delayMs: 10_000 });
      const { code } = stack.sim.mintLoginCode({ user: 'frank' });
      const started = Date.now();
      const result = await stack.request('POST', '/v1/auth/login', { body: { code } });
      expect(Date.now() - started).toBeLessThan(stack.config.wechatTimeoutMs + 1000);
      expectError(result, 503, 'wechat_unavailable');
      expect(result.headers.get('retry-after')).not.toBeNull();
    });

    it('answers 503 when the connection drops and 502 for an HTML page', async () => {
      stack.sim.inject({ endpoint: 'jscode2session', drop: true });
      expectError(
        await stack.request('POST', '/v1/auth/login', { body: { code: stack.sim.mintLoginCode({ user: 'g' }).code } }),
        503,
        'wechat_unavailable',
      );
      stack.sim.inject({ endpoint: 'jscode2session', html: true });
      expectError(
        await stack.request('POST', '/v1/auth/login', { body: { code: stack.sim.mintLoginCode({ user: 'g' }).code } }),
        502,
        'wechat_error',
      );
    });

    it.each([
      ['no body', undefined, undefined],
      ['code missing', { appId: DEV_APP.appId }, undefined],
      ['code not a string', { code: 42 }, undefined],
      ['code empty', { code: '' }, undefined],
      ['code too long', { code: 'x'.repeat(500) }, undefined],
      ['array body', [], undefined],
      ['invalid JSON', undefined, '{"code":'],
      ['unknown appId', { code: 'abc', appId: 'wx9999999999999999' }, undefined],
    ])('answers invalid_request for %s', async (_name, body, rawBody) => {
      const result = await stack.request('POST', '/v1/auth/login', {
        ...(body !== undefined ? { body } : {}),
        ...(rawBody !== undefined ? { rawBody, headers: { 'content-type': 'application/json' } } : {}),
      });
      expectError(result, 400, 'invalid_request');
    });

    it('ignores unknown fields', async () => {
      const { code } = stack.sim.mintLoginCode({ user: 'henry' });
      const result = await stack.request('POST', '/v1/auth/login', { body: { code, extra: 'ignored' } });
      expect(result.status, result.text).toBe(200);
    });

    it('answers 415 for a non-JSON body and 413 for a body over the limit', async () => {
      expectError(
        await stack.request('POST', '/v1/auth/login', {
          rawBody: 'code=abc',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        415,
        'unsupported_media_type',
      );
      expectError(
        await stack.request('POST', '/v1/auth/login', { rawBody: 'code', headers: { 'content-type': 'text/plain' } }),
        415,
        'unsupported_media_type',
      );
      const big = JSON.stringify({ code: 'x'.repeat(70 * 1024) });
      expectError(
        await stack.request('POST', '/v1/auth/login', {
          rawBody: big,
          headers: { 'content-type': 'application/json' },
        }),
        413,
        'payload_too_large',
      );
    });
  });

  describe('POST /v1/auth/refresh', () => {
    it('rotates the pair and spends the old refresh token', async () => {
      const first = await stack.login();
      const refreshed = await stack.request<TokenResponse>('POST', '/v1/auth/refresh', {
        body: { refreshToken: first.refreshToken },
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.body.refreshToken).not.toBe(first.refreshToken);
      expect(refreshed.body.user).toMatchObject({ id: first.user.id, created: false });
      expect((await stack.request('GET', '/v1/me', { token: refreshed.body.accessToken })).status).toBe(200);
    });

    it('treats reuse of a spent refresh token as theft: the whole session is revoked', async () => {
      const first = await stack.login();
      const second = await stack.request<TokenResponse>('POST', '/v1/auth/refresh', {
        body: { refreshToken: first.refreshToken },
      });
      expect(second.status).toBe(200);
      expectError(
        await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } }),
        401,
        'invalid_refresh_token',
      );
      // every token of the session is now dead, including the newest pair
      expectError(
        await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: second.body.refreshToken } }),
        401,
        'invalid_refresh_token',
      );
      expectError(await stack.request('GET', '/v1/me', { token: second.body.accessToken }), 401, 'unauthorized');
      expectError(await stack.request('GET', '/v1/me', { token: first.accessToken }), 401, 'unauthorized');
    });

    it('lets exactly one of two concurrent refreshes win and revokes the session', async () => {
      const first = await stack.login();
      const results = await Promise.all(
        [0, 1].map(() =>
          stack.request<TokenResponse>('POST', '/v1/auth/refresh', { body: { refreshToken: first.refreshToken } }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    });

    it('refuses unknown, malformed, forged and expired refresh tokens', async () => {
      const tokens = await stack.login();
      const [id] = tokens.refreshToken.split('.');
      for (const refreshToken of ['nope', `${id}.${'A'.repeat(43)}`, `${'B'.repeat(22)}.${'C'.repeat(43)}`]) {
        expectError(
          await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken } }),
          401,
          'invalid_refresh_token',
        );
      }
      // a forged secret for a real id does not revoke the real session
      expect(
        (await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: tokens.refreshToken } })).status,
      ).toBe(200);
      const other = await stack.login('ivy');
      stack.clock.advance(stack.config.refreshTokenTtlSeconds + 1);
      expectError(
        await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: other.refreshToken } }),
        401,
        'invalid_refresh_token',
      );
    });
  });

  describe('logout and access tokens', () => {
    it('logout revokes the session at once: access and refresh tokens die', async () => {
      const tokens = await stack.login();
      const out = await stack.request('POST', '/v1/auth/logout', { token: tokens.accessToken });
      expect(out.status).toBe(204);
      const me = await stack.request('GET', '/v1/me', { token: tokens.accessToken });
      expectError(me, 401, 'unauthorized');
      expect(me.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expectError(
        await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: tokens.refreshToken } }),
        401,
        'invalid_refresh_token',
      );
      expectError(await stack.request('POST', '/v1/auth/logout', { token: tokens.accessToken }), 401, 'unauthorized');
    });

    it('refuses missing, malformed, tampered, expired, alg:none and wrong-key tokens', async () => {
      const tokens = await stack.login();
      const [header, payload, signature] = tokens.accessToken.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const forgedPayload = b64({ ...claims, sub: 'someone-else' });
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      const { generateKeyPair, SignJWT } = await import('jose');
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
      const wrongKey = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);
      const hs256 = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid })
        .sign(new TextEncoder().encode('x'.repeat(32)));
      const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const token of [
        undefined,
        'garbage',
        `${header}.${forgedPayload}.${signature}`,
        none,
        wrongKey,
        hs256,
        flipped,
      ]) {
        const result = await stack.request('GET', '/v1/me', token === undefined ? {} : { token });
        expectError(result, 401, 'unauthorized');
      }
      expectError(
        await stack.request('GET', '/v1/me', { headers: { authorization: `Basic ${tokens.accessToken}` } }),
        401,
        'unauthorized',
      );
      stack.clock.advance(stack.config.accessTokenTtlSeconds + 1);
      expectError(await stack.request('GET', '/v1/me', { token: tokens.accessToken }), 401, 'unauthorized');
    });

    it('publishes the JWKS with the kid of issued tokens and the contract claims', async () => {
      const tokens = await stack.login();
      const jwks = await stack.request<{ keys: Array<Record<string, unknown>> }>('GET', '/.well-known/jwks.json');
      expect(jwks.status).toBe(200);
      const [header, payload] = tokens.accessToken.split('.') as [string, string];
      const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string; alg: string };
      expect(alg).toBe('EdDSA');
      expect(jwks.body.keys.map((k) => k.kid)).toContain(kid);
      for (const key of jwks.body.keys) expect(key).not.toHaveProperty('d');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      for (const claim of ['iss', 'sub', 'aud', 'sid', 'appid', 'openid', 'iat', 'exp', 'jti'])
        expect(claims).toHaveProperty(claim);
      expect(claims.exp).toBe((claims.iat as number) + 3600);
    });
  });

  describe('GET /v1/auth/session', () => {
    it('describes the session, and asks WeChat with ?check=wechat', async () => {
      const tokens = await stack.login('judy');
      const plain = await stack.request<SessionInfo>('GET', '/v1/auth/session', { token: tokens.accessToken });
      expect(plain.status).toBe(200);
      expect(plain.body).toMatchObject({ userId: tokens.user.id, appId: DEV_APP.appId, sessionKeyValid: null });
      expect(plain.body.expiresAt - plain.body.issuedAt).toBe(stack.config.refreshTokenTtlSeconds);
      const checked = await stack.request<SessionInfo>('GET', '/v1/auth/session?check=wechat', {
        token: tokens.accessToken,
      });
      expect(checked.body.sessionKeyValid).toBe(true);
      stack.sim.expireSessionKey(DEV_APP.appId, tokens.user.openid);
      const expired = await stack.request<SessionInfo>('GET', '/v1/auth/session?check=wechat', {
        token: tokens.accessToken,
      });
      expect(expired.body.sessionKeyValid).toBe(false);
      expectError(
        await stack.request('GET', '/v1/auth/session?check=nope', { token: tokens.accessToken }),
        400,
        'invalid_request',
      );
    });
  });

  describe('profile and user data', () => {
    it('GET and PATCH /v1/me', async () => {
      const tokens = await stack.login('kate');
      const me = await stack.request<Profile>('GET', '/v1/me', { token: tokens.accessToken });
      expect(me.body).toMatchObject({
        id: tokens.user.id,
        nickname: null,
        avatarUrl: null,
        phoneNumber: null,
        countryCode: null,
      });
      const patched = await stack.request<Profile>('PATCH', '/v1/me', {
        token: tokens.accessToken,
        body: { nickname: 'Kate', avatarUrl: 'https://example.com/a.png' },
      });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body).toMatchObject({ nickname: 'Kate', avatarUrl: 'https://example.com/a.png' });
      const put = await stack.request<Profile>('PUT', '/v1/me', {
        token: tokens.accessToken,
        body: { nickname: 'Kate P' },
      });
      expect(put.status, put.text).toBe(200);
      expect(put.body).toMatchObject({ nickname: 'Kate P', avatarUrl: 'https://example.com/a.png' });
      expectError(
        await stack.request('PATCH', '/v1/me', { token: tokens.accessToken, body: { nickname: 7 } }),
        400,
        'invalid_request',
      );
      expectError(
        await stack.request('PATCH', '/v1/me', {
          token: tokens.accessToken,
          body: { avatarUrl: 'javascript:alert(1)' },
        }),
        400,
        'invalid_request',
      );
    });

    it('POST /v1/me/userinfo verifies the signature, decrypts and stores the profile', async () => {
      const tokens = await stack.login('leo');
      const info = stack.sim.userInfo({ user: 'leo', profile: { nickName: 'Leo' } });
      const ok = await stack.request<Profile>('POST', '/v1/me/userinfo', { token: tokens.accessToken, body: info });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.nickname).toBe('Leo');
      const signedOnly = await stack.request<Profile>('POST', '/v1/me/userinfo', {
        token: tokens.accessToken,
        body: { rawData: info.rawData, signature: info.signature },
      });
      expect(signedOnly.status).toBe(200);
      expectError(
        await stack.request('POST', '/v1/me/userinfo', {
          token: tokens.accessToken,
          body: { ...info, signature: 'f'.repeat(40) },
        }),
        400,
        'invalid_signature',
      );
      expectError(
        await stack.request('POST', '/v1/me/userinfo', {
          token: tokens.accessToken,
          body: { rawData: info.rawData, signature: info.signature, iv: info.iv },
        }),
        400,
        'invalid_request',
      );
    });

    it('still decrypts data obtained just before a re-login (previous key in its grace window)', async () => {
      const tokens = await stack.login('mia');
      const info = stack.sim.userInfo({ user: 'mia', profile: { nickName: 'Mia' } });
      await stack.login('mia'); // rotates the session key
      const result = await stack.request<Profile>('POST', '/v1/me/userinfo', { token: tokens.accessToken, body: info });
      expect(result.status, result.text).toBe(200);
      expect(result.body.nickname).toBe('Mia');
    });

    it('answers decrypt_failed when WeChat still accepts the key, wechat_session_expired when it does not', async () => {
      const tokens = await stack.login('nina');
      const key = stack.sim.sessionKeyOf(DEV_APP.appId, tokens.user.openid);
      expect(key).not.toBeNull();
      const foreign = encryptOpenData({
        data: { x: 1, watermark: { appid: DEV_APP.appId, timestamp: 1 } },
        sessionKey: 'AAAAAAAAAAAAAAAAAAAAAA==',
      });
      expectError(
        await stack.request('POST', '/v1/auth/decrypt', { token: tokens.accessToken, body: foreign }),
        400,
        'decrypt_failed',
      );
      stack.sim.expireSessionKey(DEV_APP.appId, tokens.user.openid);
      expectError(
        await stack.request('POST', '/v1/auth/decrypt', { token: tokens.accessToken, body: foreign }),
        401,
        'wechat_session_expired',
      );
      const metrics = await stack.request('GET', '/metrics');
      expect(metrics.text).toMatch(/wxlogin_decrypt_failures_total\{reason="bad_padding"\} [1-9]/);
    });

    it('POST /v1/auth/decrypt returns the data and checks the watermark', async () => {
      const tokens = await stack.login('olga');
      const sessionKey = stack.sim.sessionKeyOf(DEV_APP.appId, tokens.user.openid) as string;
      const mine = encryptOpenData({
        data: { openGId: 'G1', watermark: { appid: DEV_APP.appId, timestamp: 1 } },
        sessionKey,
      });
      const ok = await stack.request<{ data: Record<string, unknown> }>('POST', '/v1/auth/decrypt', {
        token: tokens.accessToken,
        body: mine,
      });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.data).toMatchObject({ openGId: 'G1' });
      const theirs = encryptOpenData({
        data: { openGId: 'G1', watermark: { appid: 'wx1111111111111111', timestamp: 1 } },
        sessionKey,
      });
      expectError(
        await stack.request('POST', '/v1/auth/decrypt', { token: tokens.accessToken, body: theirs }),
        400,
        'watermark_mismatch',
      );
      expectError(
        await stack.request('POST', '/v1/auth/decrypt', {
          token: tokens.accessToken,
          body: { encryptedData: '%%%', iv: '%%%' },
        }),
        400,
        'invalid_request',
      );
    });

    it('POST /v1/me/phone with the code flow and the legacy encrypted flow', async () => {
      const tokens = await stack.login('pat');
      const phone = stack.sim.phoneCode({ user: 'pat', phoneNumber: '13900139000' });
      const byCode = await stack.request('POST', '/v1/me/phone', {
        token: tokens.accessToken,
        body: { code: phone.code },
      });
      expect(byCode.status, byCode.text).toBe(200);
      expect(byCode.body).toEqual({ phoneNumber: '13900139000', purePhoneNumber: '13900139000', countryCode: '86' });
      const me = await stack.request<Profile>('GET', '/v1/me', { token: tokens.accessToken });
      expect(me.body).toMatchObject({ phoneNumber: '13900139000', countryCode: '86' });
      expectError(
        await stack.request('POST', '/v1/me/phone', { token: tokens.accessToken, body: { code: phone.code } }),
        400,
        'invalid_code',
      );
      const legacy = stack.sim.phoneCode({ user: 'pat', phoneNumber: '13700137000' });
      const byData = await stack.request('POST', '/v1/me/phone', {
        token: tokens.accessToken,
        body: { encryptedData: legacy.encryptedData, iv: legacy.iv },
      });
      expect(byData.status, byData.text).toBe(200);
      expect(byData.body).toMatchObject({ phoneNumber: '13700137000' });
      expectError(
        await stack.request('POST', '/v1/me/phone', { token: tokens.accessToken, body: { code: 'x', iv: 'y' } }),
        400,
        'invalid_request',
      );
      expectError(
        await stack.request('POST', '/v1/me/phone', { token: tokens.accessToken, body: {} }),
        400,
        'invalid_request',
      );
    });

    it('phone: refreshes an expired WeChat access token once, and maps WeChat failures', async () => {
      const tokens = await stack.login('quinn');
      await stack.request('POST', '/v1/me/phone', {
        token: tokens.accessToken,
        body: { code: stack.sim.phoneCode({ user: 'quinn' }).code },
      });
      stack.sim.expireAccessTokens(DEV_APP.appId);
      const after = await stack.request('POST', '/v1/me/phone', {
        token: tokens.accessToken,
        body: { code: stack.sim.phoneCode({ user: 'quinn' }).code },
      });
      expect(after.status, after.text).toBe(200);
      stack.sim.inject({ endpoint: 'getuserphonenumber', errcode: -1 });
      expectError(
        await stack.request('POST', '/v1/me/phone', {
          token: tokens.accessToken,
          body: { code: stack.sim.phoneCode({ user: 'quinn' }).code },
        }),
        503,
        'wechat_unavailable',
      );
    });
  });

  describe('service endpoints and errors', () => {
    it('healthz, readyz, metrics, openapi', async () => {
      expect((await stack.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
      expect((await stack.request('GET', '/readyz')).body).toEqual({ status: 'ready' });
      await stack.login();
      const metrics = await stack.request('GET', '/metrics');
      expect(metrics.text).toMatch(/wxlogin_logins_total\{outcome="created"\} 1/);
      expect(metrics.text).toMatch(
        /wxlogin_wechat_call_duration_seconds_count\{endpoint="jscode2session",outcome="ok"\} 1/,
      );
      expect(metrics.text).toMatch(/^wxlogin_active_sessions 1$/m);
      const openapi = await stack.request<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
      for (const path of [
        '/v1/auth/login',
        '/v1/auth/refresh',
        '/v1/auth/logout',
        '/v1/auth/session',
        '/v1/me',
        '/v1/me/userinfo',
        '/v1/me/phone',
        '/v1/auth/decrypt',
      ]) {
        expect(openapi.body.paths).toHaveProperty(path);
      }
    });

    it('answers not_found in the envelope and echoes a sane X-Request-Id', async () => {
      const result = await stack.request('GET', '/nope', { headers: { 'x-request-id': 'abc-123' } });
      expectError(result, 404, 'not_found');
      expect(result.headers.get('x-request-id')).toBe('abc-123');
      const insane = await stack.request('GET', '/nope', { headers: { 'x-request-id': 'bad id with spaces' } });
      expect(insane.headers.get('x-request-id')).not.toBe('bad id with spaces');
      expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("sets a JSON API's security headers and no-store, on answers and on errors alike", async () => {
      for (const result of [await stack.request('GET', '/healthz'), await stack.request('GET', '/nope')]) {
        const headers: Record<string, string> = Object.fromEntries([...result.headers]);
        const transport = ['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'x-request-id'];
        for (const name of transport) delete headers[name];
        expect(headers).toEqual({
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'none';frame-ancestors 'none'",
          'cross-origin-resource-policy': 'same-site',
          'referrer-policy': 'no-referrer',
          'strict-transport-security': 'max-age=31536000; includeSubDomains',
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
        });
      }
    });

    it('admin API: 403 without the admin token', async () => {
      expectError(await stack.request('GET', '/v1/admin/users/x'), 403, 'forbidden');
      expectError(await stack.request('POST', '/v1/admin/keys/rotate', { token: 'wrong' }), 403, 'forbidden');
    });
  });
});

describe('configured behaviour', () => {
  let stack: Stack | null = null;
  afterEach(async () => {
    await stack?.close();
    stack = null;
  });

  it('opens SQLite with the configured page cache (SQLITE_CACHE_KIB)', async () => {
    stack = await startStack({ overrides: { sqliteCacheKiB: 2048 } });
    expect(sqliteSettings(stack.runtime.store)?.cacheSizeKiB).toBe(2048);
  });

  it('rate-limits login per address with 429 and Retry-After', async () => {
    stack = await startStack({ overrides: { rateLimitLoginPerMinute: 3 } });
    const statuses: number[] = [];
    let last: HttpResult | null = null;
    for (let i = 0; i < 5; i++) {
      last = await stack.request('POST', '/v1/auth/login', {
        body: { code: stack.sim.mintLoginCode({ user: `u${i}` }).code },
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expectError(last as HttpResult, 429, 'rate_limited');
    expect(Number((last as HttpResult).headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('rate-limits logins per user; a refused login opens no session but keeps the rotated session key', async () => {
    stack = await startStack({ overrides: { rateLimitUserPerMinute: 2 } });
    const first = await stack.login('same');
    await stack.login('same');
    stack.sim.rotateSessionKey(DEV_APP.appId, first.user.openid);
    const third = await stack.request('POST', '/v1/auth/login', {
      body: { code: stack.sim.mintLoginCode({ user: 'same' }).code },
    });
    expectError(third, 429, 'rate_limited');
    const { store, sealer } = stack.runtime;
    expect(await store.countActiveSessions(Math.floor(Date.now() / 1000))).toBe(2);
    const keys = await store.getSessionKeys(first.user.id);
    expect(sealer.open(keys?.current ?? '', `session-key:${first.user.id}`)).toBe(
      stack.sim.sessionKeyOf(DEV_APP.appId, first.user.openid),
    );
  });

  it('admin API works with the admin token', async () => {
    stack = await startStack({ overrides: { adminToken: 'admin-token-0123456789' } });
    const tokens = await stack.login();
    const user = await stack.request<Profile>('GET', `/v1/admin/users/${tokens.user.id}`, {
      token: 'admin-token-0123456789',
    });
    expect(user.body.id).toBe(tokens.user.id);
    const sid = (
      JSON.parse(Buffer.from(tokens.accessToken.split('.')[1] as string, 'base64url').toString()) as { sid: string }
    ).sid;
    expect(
      (await stack.request('POST', `/v1/admin/sessions/${sid}/revoke`, { token: 'admin-token-0123456789' })).status,
    ).toBe(204);
    expectError(await stack.request('GET', '/v1/me', { token: tokens.accessToken }), 401, 'unauthorized');
    const rotated = await stack.request<{ kid: string }>('POST', '/v1/admin/keys/rotate', {
      token: 'admin-token-0123456789',
    });
    expect(rotated.status).toBe(200);
    const fresh = await stack.login('other');
    expect(JSON.parse(Buffer.from(fresh.accessToken.split('.')[0] as string, 'base64url').toString()).kid).toBe(
      rotated.body.kid,
    );
  });

  it('follow-wechat policy: refresh answers wechat_session_expired when WeChat drops the key', async () => {
    stack = await startStack({ overrides: { sessionPolicy: 'follow-wechat' } });
    const tokens = await stack.login('rose');
    const ok = await stack.request<TokenResponse>('POST', '/v1/auth/refresh', {
      body: { refreshToken: tokens.refreshToken },
    });
    expect(ok.status, ok.text).toBe(200);
    stack.sim.expireSessionKey(DEV_APP.appId, tokens.user.openid);
    expectError(
      await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: ok.body.refreshToken } }),
      401,
      'wechat_session_expired',
    );
  });

  it('CORS is off by default and allows only configured origins', async () => {
    stack = await startStack({ overrides: { corsOrigins: ['https://admin.example.com'] } });
    const allowed = await stack.request('GET', '/healthz', { headers: { origin: 'https://admin.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    const other = await stack.request('GET', '/healthz', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('shares service_unavailable with concurrent duplicates when storage fails after WeChat answered', async () => {
    stack = await startStack();
    const store = stack.runtime.store;
    const original = store.recordLogin.bind(store);
    store.recordLogin = async () => {
      throw new StoreUnavailableError('recordLogin: connection refused');
    };
    stack.sim.inject({ endpoint: 'jscode2session', delayMs: 100 });
    const { code } = stack.sim.mintLoginCode({ user: 'store-down' });
    const results = await Promise.all(
      [0, 1, 2].map(() => stack?.request('POST', '/v1/auth/login', { body: { code } })),
    );
    store.recordLogin = original;
    for (const result of results) expectError(result as HttpResult, 503, 'service_unavailable');
    expect(stack.sim.calls('jscode2session')).toBe(1);
  });

  it('answers 500 internal_error in the envelope, without a stack, for a bug', async () => {
    stack = await startStack();
    const tokens = await stack.login();
    const store = stack.runtime.store;
    const original = store.getUser.bind(store);
    store.getUser = async () => {
      throw new Error('simulated bug at /secret/path.ts:12');
    };
    const result = await stack.request('GET', '/v1/me', { token: tokens.accessToken });
    store.getUser = original;
    expectError(result, 500, 'internal_error');
    expect(result.text).not.toContain('simulated bug');
    expect(stack.logs.some((line) => line.includes('simulated bug'))).toBe(true);
  });
});
