import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codeDigest,
  hashSecret,
  issueRefreshToken,
  parseRefreshToken,
  pooledRandomBytes,
  randomId,
  secretMatches,
  sortableId,
} from './tokens.js';

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

  it('matches a stored hash in either case of hex, and nothing that is not 64 hex digits', () => {
    const secret = 'a'.repeat(43);
    const hash = hashSecret(secret);
    expect(secretMatches(secret, hash)).toBe(true);
    expect(secretMatches(secret, hash.toUpperCase())).toBe(true);
    for (const stored of [
      '',
      hash.slice(0, 62),
      `${hash}0`,
      `${hash}00`,
      `${hash}z`,
      `${hash.slice(0, 62)}zz`,
      `zz${hash.slice(2)}`,
      ` ${hash.slice(1)}`,
      createHash('sha256').update(secret).digest('base64'),
    ]) {
      // each follows a successful check, so nothing of the previous call may be reused
      expect(secretMatches(secret, hash)).toBe(true);
      expect(secretMatches(secret, stored)).toBe(false);
    }
  });

  it('matches exactly when the stored hash is the hex SHA-256 of the secret', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.boolean(), (secret, other, upper) => {
        const hash = upper ? hashSecret(secret).toUpperCase() : hashSecret(secret);
        expect(secretMatches(secret, hash)).toBe(true);
        expect(secretMatches(other, hash)).toBe(hashSecret(other) === hashSecret(secret));
        expect(secretMatches(secret, other)).toBe(other.toLowerCase() === hashSecret(secret));
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

describe('pooledRandomBytes', () => {
  it('gives the size asked for, as a buffer of its own', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), (size) => {
        const bytes = pooledRandomBytes(size);
        expect(bytes.length).toBe(size);
        expect(bytes.byteOffset).toBe(0);
        expect(bytes.buffer.byteLength).toBe(size);
      }),
    );
  });

  it('never gives the same bytes twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    let zeros = 0;
    for (let i = 0; i < 5000; i++) {
      // odd sizes too, so that requests straddle the end of the pool
      const bytes = pooledRandomBytes(i % 7 === 0 ? 13 : 16);
      if (bytes.every((b) => b === 0)) zeros++;
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(5000);
    expect(zeros).toBe(0);
  });

  it('is not changed by what a caller does to an earlier result', () => {
    const first = pooledRandomBytes(32);
    first.fill(0);
    const second = pooledRandomBytes(32);
    expect(second.every((b) => b === 0)).toBe(false);
    expect(second.equals(first)).toBe(false);
  });

  it('looks uniform: every byte value turns up about equally often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4096; i++) for (const b of pooledRandomBytes(16)) counts[b] = (counts[b] ?? 0) + 1;
    // 256 per value expected; a chi-square over 255 degrees of freedom is above 400 with probability < 1e-8
    const chiSquare = counts.reduce((sum, n) => sum + (n - 256) ** 2 / 256, 0);
    expect(chiSquare).toBeLessThan(400);
  });

  it('treats sizes that are not byte counts as randomBytes does', () => {
    const lengthOrError = (random: (size: number) => Buffer, size: number): number | string => {
      try {
        return random(size).length;
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      }
    };
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 31]) {
      expect(lengthOrError(pooledRandomBytes, size)).toBe(lengthOrError(randomBytes, size));
    }
    expect(() => pooledRandomBytes(-1)).toThrow(RangeError);
  });

  it('is the default source of refresh tokens; an injected source still decides them', () => {
    const zero = (size: number): Buffer => Buffer.alloc(size);
    const issued = issueRefreshToken(zero);
    // the id's first 8 characters are the time (see sortableId)
    expect(issued.token.slice(8)).toBe(`${'A'.repeat(14)}.${'A'.repeat(43)}`);
    expect(randomId(zero)).toBe('A'.repeat(22));
    expect(issueRefreshToken().token).not.toBe(issueRefreshToken().token);
  });
});

describe('sortableId', () => {
  it('is 22 base64url characters: 6 bytes of the ms clock, then 10 random bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.uint8Array({ minLength: 10, maxLength: 10 }),
        (now, tail) => {
          const id = sortableId(() => Buffer.from(tail), now);
          expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
          const bytes = Buffer.from(id, 'base64url');
          expect(bytes.readUIntBE(0, 6)).toBe(now);
          expect([...bytes.subarray(6)]).toEqual([...tail]);
        },
      ),
    );
  });

  it('gives ids made close together a common prefix, and never the same id twice', () => {
    const now = 1_800_000_000_000;
    const ids = Array.from({ length: 1000 }, (_, i) => sortableId(pooledRandomBytes, now + (i % 50)));
    expect(new Set(ids).size).toBe(1000);
    expect(new Set(ids.map((id) => id.slice(0, 6))).size).toBe(1);
    expect(sortableId(pooledRandomBytes, now + 10 * 60_000).slice(0, 6)).not.toBe(ids[0]?.slice(0, 6));
  });

  it('is the id of refresh tokens, which still parse', () => {
    const issued = issueRefreshToken();
    const time = Buffer.from(issued.id, 'base64url').readUIntBE(0, 6);
    expect(Math.abs(time - Date.now())).toBeLessThan(60_000);
    expect(parseRefreshToken(issued.token)?.id).toBe(issued.id);
  });
});
