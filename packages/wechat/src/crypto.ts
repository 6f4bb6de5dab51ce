/**
 * Open-data crypto of mini programs (shared/wechat-api.md §3, §7, §8): pure
 * functions over node:crypto. Every decryption failure is an OpenDataError with
 * a reason for the operator; nothing else is ever thrown by decryptOpenData.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OpenDataError } from './errors.js';

const BLOCK = 16;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Any value at or above this in {@link SEXTETS} marks a character outside the alphabet. */
const INVALID = 64;
/** The 6-bit value of each ASCII character, INVALID for the rest; a space reads as '+'. */
const SEXTETS = new Uint8Array(128).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;
SEXTETS[0x20] = 62;
const PAD = 0x3d; // '='

/**
 * Up to this many characters, decoding in JavaScript beats a native decode plus
 * re-encode (no call into C++, no string built): keys and ivs (24 characters) go here.
 */
const SHORT_BASE64 = 64;

/**
 * Strict base64: canonical alphabet, length a multiple of 4, correct padding and
 * zero trailing bits (the encoding must round-trip). Spaces are first mapped back to
 * '+', repairing the common corruption of a value sent through a query string or
 * an unencoded form body. `null` when the text is not strict base64.
 */
export function decodeStrictBase64(text: unknown): Buffer | null {
  if (typeof text !== 'string' || text.length % 4 !== 0) return null;
  if (text.length <= SHORT_BASE64) return decodeShort(text);
  // Buffer.from skips foreign characters and accepts the URL-safe alphabet, so
  // only a re-encode that gives back the very same text proves it canonical.
  const repaired = text.includes(' ') ? text.replace(/ /g, '+') : text;
  const bytes = Buffer.from(repaired, 'base64');
  return bytes.toString('base64') === repaired ? bytes : null;
}

function sextet(text: string, at: number): number {
  const code = text.charCodeAt(at);
  return code < 128 ? (SEXTETS[code] as number) : INVALID;
}

/** Decodes and validates in one pass; `text.length` is a multiple of 4. */
function decodeShort(text: string): Buffer | null {
  const length = text.length;
  if (length === 0) return Buffer.alloc(0);
  const padding = text.charCodeAt(length - 1) !== PAD ? 0 : text.charCodeAt(length - 2) !== PAD ? 1 : 2;
  const bytes = Buffer.allocUnsafe((length / 4) * 3 - padding);
  const whole = padding === 0 ? length : length - 4;
  // OR of every sextet: INVALID or above as soon as one character is outside the alphabet
  let seen = 0;
  let out = 0;
  let at = 0;
  for (; at < whole; at += 4) {
    const a = sextet(text, at);
    const b = sextet(text, at + 1);
    const c = sextet(text, at + 2);
    const d = sextet(text, at + 3);
    seen |= a | b | c | d;
    bytes[out++] = (a << 2) | (b >> 4);
    bytes[out++] = ((b & 15) << 4) | (c >> 2);
    bytes[out++] = ((c & 3) << 6) | d;
  }
  if (padding === 1) {
    const a = sextet(text, at);
    const b = sextet(text, at + 1);
    const c = sextet(text, at + 2);
    // the last character carries 2 unused bits, which must be zero
    seen |= a | b | c | ((c & 3) === 0 ? 0 : INVALID);
    bytes[out++] = (a << 2) | (b >> 4);
    bytes[out] = ((b & 15) << 4) | (c >> 2);
  } else if (padding === 2) {
    const a = sextet(text, at);
    const b = sextet(text, at + 1);
    // the last character carries 4 unused bits, which must be zero
    seen |= a | b | ((b & 15) === 0 ? 0 : INVALID);
    bytes[out] = (a << 2) | (b >> 4);
  }
  return seen < INVALID ? bytes : null;
}

function keyBytes(sessionKey: unknown): Buffer {
  const key = decodeStrictBase64(sessionKey);
  if (key === null || key.length !== BLOCK) throw new OpenDataError('bad_key');
  return key;
}

function ivBytes(iv: unknown): Buffer {
  const bytes = decodeStrictBase64(iv);
  if (bytes === null || bytes.length !== BLOCK) throw new OpenDataError('bad_iv');
  return bytes;
}

// Fatal decoding validates as it decodes, for no more than plain toString('utf8') costs.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decrypts `encryptedData` (AES-128-CBC, PKCS#7) with the user's session key and
 * checks that `watermark.appid` is `appId`.
 *
 * Inputs are strict base64 (spaces read as '+'). A ciphertext that is not a
 * non-empty multiple of 16 bytes is `bad_base64` (a malformed value, before any
 * decryption); a wrong key or corrupted data is `bad_padding` (or, rarely, `not_json`).
 * @throws OpenDataError with reason bad_base64 | bad_key | bad_iv | bad_padding | not_json | watermark_mismatch
 * @example const phone = decryptOpenData<{ phoneNumber: string }>({ encryptedData, iv, sessionKey, appId });
 */
export function decryptOpenData<T = Record<string, unknown>>(input: {
  encryptedData: string;
  iv: string;
  sessionKey: string;
  appId: string;
}): T & { watermark: { appid: string; timestamp: number } } {
  const { encryptedData, iv, sessionKey, appId } = (
    typeof input === 'object' && input !== null ? input : {}
  ) as Partial<typeof input>;
  const key = keyBytes(sessionKey);
  const ivb = ivBytes(iv);
  const data = decodeStrictBase64(encryptedData);
  if (data === null || data.length === 0 || data.length % BLOCK !== 0) throw new OpenDataError('bad_base64');

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ivb);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch (error) {
    throw new OpenDataError('bad_padding', { cause: error });
  }

  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(plain));
  } catch (error) {
    throw new OpenDataError('not_json', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new OpenDataError('not_json');

  const watermark = (value as { watermark?: unknown }).watermark;
  if (typeof watermark !== 'object' || watermark === null) throw new OpenDataError('watermark_mismatch');
  const { appid, timestamp } = watermark as { appid?: unknown; timestamp?: unknown };
  if (typeof appId !== 'string' || appid !== appId || typeof timestamp !== 'number') {
    throw new OpenDataError('watermark_mismatch');
  }
  return value as T & { watermark: { appid: string; timestamp: number } };
}

/**
 * The inverse of {@link decryptOpenData}, for tests, benchmarks and simulation:
 * JSON-encodes `data` and encrypts it. A random iv is drawn when none is given.
 * @throws OpenDataError bad_key | bad_iv, or not_json when `data` has no JSON form
 */
export function encryptOpenData(input: { data: unknown; sessionKey: string; iv?: string }): {
  encryptedData: string;
  iv: string;
} {
  const key = keyBytes(input.sessionKey);
  const ivb = input.iv === undefined ? randomBytes(BLOCK) : ivBytes(input.iv);
  let json: string | undefined;
  try {
    json = JSON.stringify(input.data);
  } catch (error) {
    throw new OpenDataError('not_json', { cause: error });
  }
  if (json === undefined) throw new OpenDataError('not_json');
  const cipher = createCipheriv('aes-128-cbc', key, ivb);
  const encrypted = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return { encryptedData: encrypted.toString('base64'), iv: ivb.toString('base64') };
}

const SIGNATURE = /^[0-9a-f]{40}$/;

/**
 * Checks `signature === sha1(rawData + sessionKey)` (lowercase hex) in constant time.
 * Use `rawData` exactly as received: re-serializing it changes the bytes.
 * False for any mismatch or malformed input; never throws.
 */
export function verifySignature(rawData: string, signature: string, sessionKey: string): boolean {
  if (typeof rawData !== 'string' || typeof signature !== 'string' || typeof sessionKey !== 'string') return false;
  if (!SIGNATURE.test(signature)) return false;
  const expected = createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

/**
 * HMAC-SHA256 keyed with the session key's base64 TEXT (not its decoded bytes), lowercase hex.
 * With the default empty message it is the `signature` of checksession/resetusersessionkey.
 */
export function hmacSessionSignature(sessionKey: string, message = ''): string {
  return createHmac('sha256', sessionKey).update(message, 'utf8').digest('hex');
}
