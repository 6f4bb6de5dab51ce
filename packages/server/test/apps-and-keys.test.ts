/** Several mini programs in one service, and signing-key rotation. */
import type { Profile, TokenResponse } from '@wxlogin/protocol';
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { describe, expect, it } from 'vitest';
import { startStack } from './harness.js';

const SECOND_APP = {
  appId: 'wx00000000000000b2',
  secret: 'second-app-secret-0123456789abcd',
  openPlatformId: DEV_APP.openPlatformId,
};

describe('several mini programs', () => {
  it('keeps the app explicit: per-app users, the same unionid linked across apps', async () => {
    const sim = await startSimulator({ apps: [DEV_APP, SECOND_APP] });
    const stack = await startStack({
      simulator: sim,
      overrides: {
        apps: [
          { appId: DEV_APP.appId, secret: DEV_APP.secret },
          { appId: SECOND_APP.appId, secret: SECOND_APP.secret },
        ],
      },
    });
    try {
      // with two apps, a login must name its app
      const anonymous = await stack.request('POST', '/v1/auth/login', {
        body: { code: sim.mintLoginCode({ user: 'zoe' }).code },
      });
      expect(anonymous.status).toBe(400);
      const first = await stack.login('zoe', DEV_APP.appId);
      const second = await stack.login('zoe', SECOND_APP.appId);
      expect(first.user.appId).toBe(DEV_APP.appId);
      expect(second.user.appId).toBe(SECOND_APP.appId);
      expect(second.user.id).not.toBe(first.user.id);
      expect(second.user.openid).not.toBe(first.user.openid);
      expect(second.user.unionid).not.toBeNull();
      expect(second.user.unionid).toBe(first.user.unionid);
      const linked = await stack.runtime.store.listUsersByUnionId(first.user.unionid as string);
      expect(linked.map((u) => u.id).sort()).toEqual([first.user.id, second.user.id].sort());

      // a code of one app presented as the other's is refused by WeChat
      const crossed = await stack.request('POST', '/v1/auth/login', {
        body: { code: sim.mintLoginCode({ user: 'zoe', appId: DEV_APP.appId }).code, appId: SECOND_APP.appId },
      });
      expect(crossed.status).toBe(400);
      expect((crossed.body as { error: { code: string } }).error.code).toBe('invalid_code');

      // everything after login knows its app from the token
      const me = await stack.request<Profile>('GET', '/v1/me', { token: second.accessToken });
      expect(me.body.appId).toBe(SECOND_APP.appId);
      const phone = sim.phoneCode({ user: 'zoe', appId: SECOND_APP.appId });
      const bound = await stack.request('POST', '/v1/me/phone', {
        token: second.accessToken,
        body: { code: phone.code },
      });
      expect(bound.status, bound.text).toBe(200);
      const info = sim.userInfo({ user: 'zoe', appId: SECOND_APP.appId, profile: { nickName: 'Zoe B' } });
      const verified = await stack.request<Profile>('POST', '/v1/me/userinfo', {
        token: second.accessToken,
        body: info,
      });
      expect(verified.status, verified.text).toBe(200);
      // data of app 2 does not pass as app 1's (watermark)
      const wrongApp = await stack.request('POST', '/v1/auth/decrypt', {
        token: first.accessToken,
        body: { encryptedData: info.encryptedData, iv: info.iv },
      });
      expect(wrongApp.status).toBe(400);
    } finally {
      await stack.close();
      await sim.close();
    }
  });
});

describe('signing keys', () => {
  it('rotation: new tokens use the new key, earlier tokens keep verifying', async () => {
    const stack = await startStack();
    try {
      const before = await stack.login('kim');
      const kidOf = (token: string): string =>
        (JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
      const newKid = await stack.runtime.tokens.rotate();
      const after = await stack.login('kim');
      expect(kidOf(after.accessToken)).toBe(newKid);
      expect(kidOf(before.accessToken)).not.toBe(newKid);
      expect((await stack.request('GET', '/v1/me', { token: before.accessToken })).status).toBe(200);
      expect((await stack.request('GET', '/v1/me', { token: after.accessToken })).status).toBe(200);
      const jwks = await stack.request<{ keys: Array<{ kid: string }> }>('GET', '/.well-known/jwks.json');
      expect(jwks.body.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kidOf(before.accessToken), newKid]));
    } finally {
      await stack.close();
    }
  });

  it('ES256 when configured', async () => {
    const stack = await startStack({ overrides: { signingAlg: 'ES256' } });
    try {
      const tokens: TokenResponse = await stack.login();
      const header = JSON.parse(Buffer.from(tokens.accessToken.split('.')[0] as string, 'base64url').toString()) as {
        alg: string;
      };
      expect(header.alg).toBe('ES256');
      expect((await stack.request('GET', '/v1/me', { token: tokens.accessToken })).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});
