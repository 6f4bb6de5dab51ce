/**
 * The simulator's own WeChat crypto (shared/wechat-api.md §3, §7, §8), built on
 * node:crypto alone. It is deliberately independent of `@wxlogin/wechat`: both
 * are checked against the official vectors, so one bug cannot hide in both.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Source of random bytes; the simulator takes one so tests can make it deterministic. */
export type RandomBytes = (size: number) => Uint8Array;

/**
 * node:crypto randomness drawn `poolBytes` at a time: one call into OpenSSL per ~250
 * session keys instead of one per key. A slice is handed out once and a spent pool is
 * replaced, never refilled, so bytes already handed out never change.
 */
export function pooledRandomBytes(poolBytes = 4096): RandomBytes {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return (size) => {
    if (size > poolBytes) return randomBytes(size);
    if (offset + size > pool.length) {
      pool = randomBytes(poolBytes);
      offset = 0;
    }
    const bytes = pool.subarray(offset, offset + size);
    offset += size;
    return bytes;
  };
}

/** A fresh session_key: base64 of 16 random bytes (24 characters ending in `==`). */
export function newSessionKey(random: RandomBytes): string {
  return Buffer.from(random(16)).toString('base64');
}

/** Open-data encryption: AES-128-CBC, PKCS#7, key = base64-decoded session_key, random 16-byte iv. */
export function encryptOpenData(
  sessionKey: string,
  plaintext: string,
  random: RandomBytes,
): { encryptedData: string; iv: string } {
  const iv = Buffer.from(random(16));
  return { encryptedData: encryptWithIv(sessionKey, plaintext, iv.toString('base64')), iv: iv.toString('base64') };
}

/** Deterministic form of {@link encryptOpenData}, for fixed vectors. */
export function encryptWithIv(sessionKey: string, plaintext: string, iv: string): string {
  const cipher = createCipheriv('aes-128-cbc', keyBytes(sessionKey), ivBytes(iv));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/**
 * Decrypts open data to its UTF-8 plaintext (no JSON parsing, no watermark check).
 * @throws TypeError when the key or iv is not 16 bytes; node:crypto's error on a bad key or padding.
 */
export function decryptOpenData(sessionKey: string, encryptedData: string, iv: string): string {
  const decipher = createDecipheriv('aes-128-cbc', keyBytes(sessionKey), ivBytes(iv));
  return Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]).toString('utf8');
}

/** The rawData signature: lowercase hex sha1 of `rawData + sessionKey` (the key as its base64 text). */
export function rawDataSignature(rawData: string, sessionKey: string): string {
  return createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest('hex');
}

/** The user login-state signature: lowercase hex HMAC-SHA256 of `message`, keyed with the session_key TEXT. */
export function sessionSignature(sessionKey: string, message = ''): string {
  return createHmac('sha256', sessionKey).update(message, 'utf8').digest('hex');
}

/** Constant-time comparison of two signature strings. */
export function signatureMatches(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function keyBytes(sessionKey: string): Buffer {
  const key = Buffer.from(sessionKey, 'base64');
  if (key.length !== 16) throw new TypeError('session key must be base64 of 16 bytes');
  return key;
}

function ivBytes(iv: string): Buffer {
  const bytes = Buffer.from(iv, 'base64');
  if (bytes.length !== 16) throw new TypeError('iv must be base64 of 16 bytes');
  return bytes;
}
