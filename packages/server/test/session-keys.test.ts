/** The session-key grace window survives logins that bring back the same key. */
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { describe, expect, it } from 'vitest';
import { startStack } from './harness.js';

describe('regression: re-login with an unchanged session key evicted the previous key', () => {
  it('keeps the real previous key usable through its grace window', async () => {
    // WeChat does not rotate a key it rotated moments ago: the second login brings the same key back
    const sim = await startSimulator({ sessionKeyRotationMinSeconds: 3600 });
    const stack = await startStack({ simulator: sim });
    try {
      const tokens = await stack.login('grace');
      const openid = tokens.user.openid;
      const oldInfo = stack.sim.userInfo({ user: 'grace', profile: { nickName: 'Before' } });
      const oldKey = stack.sim.sessionKeyOf(DEV_APP.appId, openid);
      stack.sim.rotateSessionKey(DEV_APP.appId, openid);
      await stack.login('grace'); // the new key is stored, the old one becomes "previous"
      const newKey = stack.sim.sessionKeyOf(DEV_APP.appId, openid);
      expect(newKey).not.toBe(oldKey);
      await stack.login('grace'); // same key again
      expect(stack.sim.sessionKeyOf(DEV_APP.appId, openid)).toBe(newKey);
      const result = await stack.request<{ nickname: string }>('POST', '/v1/me/userinfo', {
        token: tokens.accessToken,
        body: oldInfo,
      });
      expect(result.status, result.text).toBe(200);
      expect(result.body.nickname).toBe('Before');
    } finally {
      await stack.close();
      await sim.close();
    }
  });

  it('refuses data under the previous key once the grace window has passed', async () => {
    const stack = await startStack({ overrides: { sessionKeyGraceSeconds: 60 } });
    try {
      const tokens = await stack.login('late');
      const oldInfo = stack.sim.userInfo({ user: 'late' });
      await stack.login('late');
      stack.clock.advance(61);
      const result = await stack.request('POST', '/v1/me/userinfo', { token: tokens.accessToken, body: oldInfo });
      expect(result.status, result.text).toBe(400);
      expect((result.body as { error: { code: string } }).error.code).toBe('invalid_signature');
    } finally {
      await stack.close();
    }
  });
});
