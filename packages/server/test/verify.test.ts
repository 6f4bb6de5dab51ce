import { describe, expect, it } from 'vitest';
import { AccessTokenError, createAccessTokenVerifier } from '../src/verify.js';
import { createClock, startStack } from './harness.js';

describe('createAccessTokenVerifier (other services checking wxlogin tokens)', () => {
  it('accepts a valid token and refuses expired, forged and wrong-audience ones', async () => {
    const clock = createClock();
    const stack = await startStack({ clock });
    try {
      const tokens = await stack.login('val');
      const jwksUrl = `${stack.url}/.well-known/jwks.json`;
      const verify = createAccessTokenVerifier({ jwksUrl, now: clock.now });
      const verified = await verify(tokens.accessToken);
      expect(verified).toMatchObject({ userId: tokens.user.id, appId: tokens.user.appId, openId: tokens.user.openid });
      expect(verified.sessionId).toEqual(expect.any(String));
      await expect(verify(`${tokens.accessToken.slice(0, -4)}AAAA`)).rejects.toBeInstanceOf(AccessTokenError);
      await expect(
        createAccessTokenVerifier({ jwksUrl, audience: 'someone-else' })(tokens.accessToken),
      ).rejects.toMatchObject({
        code: 'unauthorized',
      });
      clock.advance(stack.config.accessTokenTtlSeconds + 1);
      await expect(verify(tokens.accessToken)).rejects.toBeInstanceOf(AccessTokenError);
      await expect(createAccessTokenVerifier({ jwksUrl, now: clock.now })(tokens.accessToken)).rejects.toBeInstanceOf(
        AccessTokenError,
      );
    } finally {
      await stack.close();
    }
  });
});
