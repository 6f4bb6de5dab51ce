import type { TokenResponse } from '@wxlogin/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accessTokenUsable,
  parseStoredSession,
  parseTokenResponse,
  refreshTokenUsable,
  sessionFromTokens,
} from './session.js';

const tokens = (expiresIn: number): TokenResponse => ({
  accessToken: 'a',
  tokenType: 'Bearer',
  expiresIn,
  refreshToken: 'r',
  refreshExpiresIn: 600,
  user: { id: 'u', appId: 'wx0123456789abcdef', openid: 'o', unionid: null, created: false },
});

describe('token expiry', () => {
  it('counts a token expired a margin early, the margin at most a tenth of its lifetime', () => {
    const t0 = 1_700_000_000_000;
    const hour = sessionFromTokens(tokens(3600), t0);
    expect(accessTokenUsable(hour, t0 + 3569_000, 30)).toBe(true);
    expect(accessTokenUsable(hour, t0 + 3570_000, 30)).toBe(false);
    const short = sessionFromTokens(tokens(30), t0);
    expect(accessTokenUsable(short, t0 + 26_999, 30)).toBe(true);
    expect(accessTokenUsable(short, t0 + 27_000, 30)).toBe(false);
    expect(accessTokenUsable(short, t0 - 1, 30)).toBe(false); // the clock went back: do not trust it
    expect(refreshTokenUsable(short, t0 + 599_999)).toBe(true);
    expect(refreshTokenUsable(short, t0 + 600_000)).toBe(false);
  });

  it('is usable right after issue and never at or after expiry, for any lifetime and margin', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86_400 }),
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (expiresIn, margin, t0) => {
          const session = sessionFromTokens(tokens(expiresIn), t0);
          expect(accessTokenUsable(session, t0, margin)).toBe(true);
          expect(accessTokenUsable(session, t0 + expiresIn * 1000, margin)).toBe(false);
        },
      ),
    );
  });
});

describe('parsing', () => {
  it('round-trips a stored session through JSON', () => {
    const session = sessionFromTokens(tokens(3600), 5);
    expect(parseStoredSession(JSON.parse(JSON.stringify(session)))).toEqual(session);
  });

  it('never throws and returns null for anything that is not a session', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(parseStoredSession(value)).toBeNull();
        expect(parseTokenResponse(value)).toBeNull();
      }),
    );
    expect(parseStoredSession('')).toBeNull();
    expect(parseStoredSession({ ...sessionFromTokens(tokens(60), 0), v: 2 })).toBeNull();
  });

  it('accepts the contract answer and refuses a malformed one', () => {
    expect(parseTokenResponse(tokens(60))).toEqual(tokens(60));
    expect(parseTokenResponse({ ...tokens(60), expiresIn: 0 })).toBeNull();
    expect(parseTokenResponse({ ...tokens(60), user: { id: 'u' } })).toBeNull();
  });
});
