/**
 * Sealing of secrets at rest (WeChat session keys, private signing keys):
 * AES-256-GCM under the server secret (`WXLOGIN_SECRET`), with a key id so the
 * secret can be rotated: new values are sealed under the current secret, and
 * values sealed under a previous secret (`WXLOGIN_PREVIOUS_SECRETS`) still open.
 * Each sealed value is bound to its purpose and owner (GCM additional data), so
 * a sealed value copied into another row does not open there.
 *
 * Format: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { pooledRandomBytes, type RandomBytes } from './tokens.js';

/** Thrown when a sealed value cannot be opened (unknown key id, tampered, wrong context). */
export class UnsealError extends Error {
  override readonly name = 'UnsealError';
  constructor(readonly reason: 'malformed' | 'unknown_key' | 'tampered') {
    super(`sealed value cannot be opened: ${reason}`);
  }
}

export interface Sealer {
  /** The key id of the current secret (safe to log). */
  readonly keyId: string;
  seal(plaintext: string, context: string): string;
  /** @throws UnsealError */
  open(sealed: string, context: string): string;
  /** True when the value was sealed under an older secret and should be sealed again. */
  isStale(sealed: string): boolean;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * True when `text` is base64url in its one canonical spelling: the alphabet
 * only, no padding, no impossible length, and the unused low bits of the last
 * character zero. Exactly the texts that decoding and encoding again give back
 * unchanged, so no two texts open to the same bytes.
 */
export function isCanonicalBase64url(text: string): boolean {
  if (!BASE64URL.test(text)) return false;
  switch (text.length & 3) {
    case 0:
      return true;
    case 1:
      return false;
    case 2:
      // one byte in the last group: 4 bits of the last character are unused
      return (base64urlValue(text.charCodeAt(text.length - 1)) & 0b1111) === 0;
    default:
      // two bytes in the last group: 2 bits of the last character are unused
      return (base64urlValue(text.charCodeAt(text.length - 1)) & 0b11) === 0;
  }
}

/** The 6-bit value of a base64url character already known to be in the alphabet. */
function base64urlValue(code: number): number {
  if (code >= 97) return code - 71; // a-z: 26..51
  if (code >= 65) return code === 95 ? 63 : code - 65; // A-Z: 0..25, '_': 63
  return code === 45 ? 62 : code + 4; // '-': 62, 0-9: 52..61
}

/** Base64url lengths of the 12-byte IV and the 16-byte tag. */
const IV_CHARS = 16;
const TAG_CHARS = 22;

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('wxlogin-seal-key-id\0').update(key).digest('base64url').slice(0, 8);
}

/**
 * @param secrets base64 secrets of 32 bytes, the current one first (validated by the config).
 * @param random source of the IVs (default: the CSPRNG through `pooledRandomBytes`).
 */
export function createSealer(secrets: readonly string[], random: RandomBytes = pooledRandomBytes): Sealer {
  const keys = secrets.map((s) => Buffer.from(s, 'base64'));
  const current = keys[0];
  if (current === undefined || keys.some((k) => k.length !== 32))
    throw new TypeError('createSealer: secrets must be base64 of 32 bytes');
  const byId = new Map(keys.map((k) => [keyIdOf(k), k] as const));
  const keyId = keyIdOf(current);

  return {
    keyId,
    seal(plaintext, context) {
      const iv = random(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `v1.${keyId}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
    },
    open(sealed, context) {
      // v1.<kid>.<iv>.<ciphertext>.<tag>: exactly four dots, the first right after "v1"
      const kidEnd = sealed.startsWith('v1.') ? sealed.indexOf('.', 3) : -1;
      const ivEnd = kidEnd === -1 ? -1 : sealed.indexOf('.', kidEnd + 1);
      const ctEnd = ivEnd === -1 ? -1 : sealed.indexOf('.', ivEnd + 1);
      if (ctEnd === -1 || sealed.indexOf('.', ctEnd + 1) !== -1) throw new UnsealError('malformed');
      const key = byId.get(sealed.slice(3, kidEnd));
      if (key === undefined) throw new UnsealError('unknown_key');
      const ivText = sealed.slice(kidEnd + 1, ivEnd);
      const ctText = sealed.slice(ivEnd + 1, ctEnd);
      const tagText = sealed.slice(ctEnd + 1);
      if (
        ivText.length !== IV_CHARS ||
        tagText.length !== TAG_CHARS ||
        !isCanonicalBase64url(ivText) ||
        !isCanonicalBase64url(tagText) ||
        !isCanonicalBase64url(ctText)
      ) {
        throw new UnsealError('malformed');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tagText, 'base64url'));
        const plaintext = decipher.update(Buffer.from(ctText, 'base64url'));
        // GCM is a stream mode: final() only checks the tag and has no bytes left to give
        const rest = decipher.final();
        return (rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest])).toString('utf8');
      } catch (cause) {
        throw Object.assign(new UnsealError('tampered'), { cause });
      }
    },
    isStale(sealed) {
      return sealed.split('.')[1] !== keyId;
    },
  };
}
