/**
 * Opaque identifiers and refresh tokens. A refresh token is `<id>.<secret>`:
 * the id finds the row, only a SHA-256 of the secret is stored, and the
 * comparison is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type RandomBytes = (size: number) => Buffer;

/** A random, URL-safe identifier of `bytes` random bytes. */
export function randomId(random: RandomBytes, bytes = 16): string {
  return random(bytes).toString('base64url');
}

export interface IssuedRefreshToken {
  /** What the client receives. */
  token: string;
  id: string;
  /** Hex SHA-256 of the secret part: what the store keeps. */
  secretHash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function issueRefreshToken(random: RandomBytes = randomBytes): IssuedRefreshToken {
  const id = randomId(random, 16);
  const secret = randomId(random, 32);
  return { token: `${id}.${secret}`, id, secretHash: hashSecret(secret) };
}

const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** Splits a presented refresh token; null when it does not have the shape of one. */
export function parseRefreshToken(token: string): { id: string; secret: string } | null {
  const match = REFRESH_TOKEN.exec(token);
  return match ? { id: match[1] as string, secret: match[2] as string } : null;
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** Hash of a WeChat login code for the redeemed-code markers (the code itself is never kept). */
export function codeDigest(appId: string, code: string): string {
  return createHash('sha256').update(appId).update('\0').update(code).digest('base64url').slice(0, 32);
}
