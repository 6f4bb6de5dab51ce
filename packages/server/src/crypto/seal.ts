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
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

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

/** Decodes base64url only in its one canonical spelling (so no two texts open to the same bytes). */
function canonical(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('wxlogin-seal-key-id\0').update(key).digest('base64url').slice(0, 8);
}

/**
 * @param secrets base64 secrets of 32 bytes, the current one first (validated by the config).
 */
export function createSealer(secrets: readonly string[], random: (size: number) => Buffer = randomBytes): Sealer {
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
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new UnsealError('malformed');
      const [, kid, ivText, ctText, tagText] = parts as [string, string, string, string, string];
      const key = byId.get(kid);
      if (key === undefined) throw new UnsealError('unknown_key');
      const iv = canonical(ivText);
      const tag = canonical(tagText);
      const ciphertext = canonical(ctText);
      if (iv === null || tag === null || ciphertext === null || iv.length !== 12 || tag.length !== 16) {
        throw new UnsealError('malformed');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw Object.assign(new UnsealError('tampered'), { cause });
      }
    },
    isStale(sealed) {
      return sealed.split('.')[1] !== keyId;
    },
  };
}
