/**
 * Opaque identifiers and refresh tokens. A refresh token is `<id>.<secret>`:
 * the id finds the row, only a SHA-256 of the secret is stored, and the
 * comparison is constant-time.
 */
import { createHash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

export type RandomBytes = (size: number) => Buffer;

/** Bytes drawn from the CSPRNG at a time by `pooledRandomBytes`. */
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * `crypto.randomBytes` served from a buffer the same CSPRNG fills 4 KiB at a
 * time: one call to the generator per many identifiers instead of one each.
 * Every result is a fresh copy; bytes handed out are wiped from the buffer and
 * never handed out twice. Requests larger than the buffer go to `randomBytes` directly.
 */
export const pooledRandomBytes: RandomBytes = (size) => {
  // larger requests, and invalid ones (for randomBytes' own errors), go straight to the generator
  if (!(Number.isSafeInteger(size) && size >= 0 && size <= POOL_SIZE)) return randomBytes(size);
  if (size > POOL_SIZE - poolOffset) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += size;
  // its own memory, like randomBytes' result (not a slice of a shared slab)
  const out = Buffer.allocUnsafeSlow(size);
  pool.copy(out, 0, start, poolOffset);
  pool.fill(0, start, poolOffset);
  return out;
};

/** A random, URL-safe identifier of `bytes` random bytes. */
export function randomId(random: RandomBytes, bytes = 16): string {
  return random(bytes).toString('base64url');
}

/**
 * An identifier that starts with its creation time: 6 bytes of the ms clock,
 * then 10 random bytes (80 bits), in base64url — the shape of
 * `randomId(random, 16)` (22 characters). The first 8 characters are the
 * time, so ids made within seconds of each other share a prefix, and rows
 * keyed by them land in a few neighbouring index pages instead of anywhere in
 * a large table (measured: a login's inserts into 100k-row tables cost about
 * a third). Ids are not secrets (a refresh token's secret is its other part);
 * the time an id reveals is also in the token's `iat`.
 */
export function sortableId(random: RandomBytes, now: number = Date.now()): string {
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(Math.floor(Math.max(0, now)) % 2 ** 48, 0, 6);
  random(10).copy(bytes, 6);
  return bytes.toString('base64url');
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

export function issueRefreshToken(random: RandomBytes = pooledRandomBytes): IssuedRefreshToken {
  const id = sortableId(random);
  const secret = randomId(random, 32);
  return { token: `${id}.${secret}`, id, secretHash: hashSecret(secret) };
}

const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** Splits a presented refresh token; null when it does not have the shape of one. */
export function parseRefreshToken(token: string): { id: string; secret: string } | null {
  const match = REFRESH_TOKEN.exec(token);
  return match ? { id: match[1] as string, secret: match[2] as string } : null;
}

// The digests compared by `secretMatches`: writing into these two buffers is
// cheaper than a Buffer allocated by `digest()` at every call, and the check is
// synchronous, so one pair serves every call.
const presentedDigest = Buffer.alloc(32);
const storedDigest = Buffer.alloc(32);

/**
 * Constant-time check of a presented secret against a stored hash (64 hex
 * digits, either case; anything else never matches). Where the digests differ
 * does not change the time taken.
 */
export function secretMatches(secret: string, storedHash: string): boolean {
  presentedDigest.write(createHash('sha256').update(secret, 'utf8').digest('binary'), 'binary');
  // write() stops at the first character that is not part of a hex digit pair
  const valid = storedHash.length === 64 && storedDigest.write(storedHash, 'hex') === 32;
  return valid && timingSafeEqual(presentedDigest, storedDigest);
}

/** Hash of a WeChat login code for the redeemed-code markers (the code itself is never kept). */
export function codeDigest(appId: string, code: string): string {
  return createHash('sha256').update(appId).update('\0').update(code).digest('base64url').slice(0, 32);
}
