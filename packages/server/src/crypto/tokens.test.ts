import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeDigest, hashSecret, issueRefreshToken, parseRefreshToken, secretMatches } from './tokens.js';

describe('refresh tokens', () => {
  it('issues <id>.<secret> tokens that parse back and whose hash matches', () => {
    for (let i = 0; i < 50; i++) {
      const issued = issueRefreshToken();
      const parsed = parseRefreshToken(issued.token);
      expect(parsed).not.toBeNull();
      expect(parsed?.id).toBe(issued.id);
      expect(secretMatches(parsed?.secret as string, issued.secretHash)).toBe(true);
      expect(issued.secretHash).not.toContain(parsed?.secret as string);
      expect(issued.secretHash).toBe(hashSecret(parsed?.secret as string));
    }
  });

  it('parses only well-formed tokens and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parseRefreshToken(text);
        if (parsed !== null) expect(`${parsed.id}.${parsed.secret}`).toBe(text);
      }),
    );
    expect(parseRefreshToken(`${'a'.repeat(22)}.${'b'.repeat(42)}`)).toBeNull();
    expect(parseRefreshToken(`${'a'.repeat(22)}.${'b'.repeat(43)}\n`)).toBeNull();
  });

  it('rejects any other secret', () => {
    const issued = issueRefreshToken();
    fc.assert(
      fc.property(fc.string(), (other) => {
        fc.pre(hashSecret(other) !== issued.secretHash);
        expect(secretMatches(other, issued.secretHash)).toBe(false);
      }),
    );
  });

  it('digests codes per app without keeping the code', () => {
    const digest = codeDigest('wx0123456789abcdef', '081abc');
    expect(digest).not.toContain('081abc');
    expect(digest).toBe(codeDigest('wx0123456789abcdef', '081abc'));
    expect(digest).not.toBe(codeDigest('wx0000000000000001', '081abc'));
  });
});
