import { createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSealer, isCanonicalBase64url, UnsealError } from './seal.js';

const secretA = randomBytes(32).toString('base64');
const secretB = randomBytes(32).toString('base64');

describe('sealing', () => {
  it('round-trips any text under its context', () => {
    const sealer = createSealer([secretA]);
    fc.assert(
      fc.property(fc.string(), fc.string(), (plaintext, context) => {
        const sealed = sealer.seal(plaintext, context);
        expect(sealed.startsWith(`v1.${sealer.keyId}.`)).toBe(true);
        expect(sealer.open(sealed, context)).toBe(plaintext);
      }),
    );
  });

  it('never contains the plaintext and differs every time', () => {
    const sealer = createSealer([secretA]);
    const key = 'tiihtNczf5v6AKRyjwEUhQ==';
    const a = sealer.seal(key, 'ctx');
    const b = sealer.seal(key, 'ctx');
    expect(a).not.toBe(b);
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain(key);
      expect(sealed).not.toContain(Buffer.from(key, 'base64').toString('hex'));
      expect(sealed).not.toContain(Buffer.from(key, 'base64').toString('base64url'));
    }
  });

  it('refuses another context, a tampered byte, an unknown key and garbage — always with UnsealError', () => {
    const sealer = createSealer([secretA]);
    const sealed = sealer.seal('session-key', 'session-key:user-1');
    expect(() => sealer.open(sealed, 'session-key:user-2')).toThrow(UnsealError);
    expect(() => createSealer([secretB]).open(sealed, 'session-key:user-1')).toThrowError(/unknown_key/);
    fc.assert(
      fc.property(
        fc.nat({ max: sealed.length - 1 }),
        fc.constantFrom('A', 'B', 'Q', 'w', '_', '-', '.', 'x'),
        (index, replacement) => {
          const tampered = sealed.slice(0, index) + replacement + sealed.slice(index + 1);
          fc.pre(tampered !== sealed);
          expect(() => sealer.open(tampered, 'session-key:user-1')).toThrow(UnsealError);
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string(), (garbage) => {
        expect(() => sealer.open(garbage, 'x')).toThrow(UnsealError);
      }),
    );
  });

  it('opens values sealed under a previous secret and flags them stale', () => {
    const old = createSealer([secretA]);
    const sealed = old.seal('value', 'ctx');
    const rotated = createSealer([secretB, secretA]);
    expect(rotated.open(sealed, 'ctx')).toBe('value');
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.seal('value', 'ctx'))).toBe(false);
  });

  it('refuses secrets that are not 32 bytes', () => {
    expect(() => createSealer([Buffer.alloc(16).toString('base64')])).toThrow(TypeError);
    expect(() => createSealer([])).toThrow(TypeError);
  });
});

/** Decoding and encoding again gives the text back: the definition of a canonical spelling. */
const roundTrips = (text: string): boolean => Buffer.from(text, 'base64url').toString('base64url') === text;

/** Characters a base64url text is made of, plus those a forged one could try: padding, base64, separators. */
const nearBase64url = fc.string({
  unit: fc.constantFrom(...'AQgwBCDabyz0189-_+/=. \n\u00e9'.split('')),
  maxLength: 40,
});

/**
 * The parser `open` had before it was made cheaper (split, decode and encode
 * again), kept as the reference: `open` refuses exactly what this refuses, for
 * the same reason.
 */
function referenceOpen(sealed: string, context: string, keys: ReadonlyMap<string, Buffer>): string {
  const decode = (text: string): Buffer | null => {
    const bytes = Buffer.from(text, 'base64url');
    return bytes.toString('base64url') === text ? bytes : null;
  };
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== 'v1') throw new UnsealError('malformed');
  const [, kid, ivText, ctText, tagText] = parts as [string, string, string, string, string];
  const key = keys.get(kid);
  if (key === undefined) throw new UnsealError('unknown_key');
  const iv = decode(ivText);
  const tag = decode(tagText);
  const ciphertext = decode(ctText);
  if (iv === null || tag === null || ciphertext === null || iv.length !== 12 || tag.length !== 16) {
    throw new UnsealError('malformed');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError('tampered');
  }
}

/** What opening does: the plaintext, or the reason it was refused. */
function outcome(open: () => string): { plaintext: string } | { refused: string } {
  try {
    return { plaintext: open() };
  } catch (error) {
    expect(error).toBeInstanceOf(UnsealError);
    return { refused: (error as UnsealError).reason };
  }
}

describe('canonical base64url', () => {
  it('accepts exactly the texts that decode and encode back unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(nearBase64url, fc.string()), (text) => {
        expect(isCanonicalBase64url(text)).toBe(roundTrips(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts every encoding of bytes, and refuses it with its unused bits set, padded or in the base64 alphabet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url');
        expect(isCanonicalBase64url(text)).toBe(true);
        const base64 = Buffer.from(bytes).toString('base64');
        expect(isCanonicalBase64url(base64)).toBe(!/[+/=]/.test(base64));
      }),
    );
    expect(isCanonicalBase64url('')).toBe(true);
    expect(isCanonicalBase64url('AA')).toBe(true);
    expect(isCanonicalBase64url('AB')).toBe(false); // 4 unused bits, one set
    expect(isCanonicalBase64url('AAA')).toBe(true);
    expect(isCanonicalBase64url('AAB')).toBe(false); // 2 unused bits, one set
    expect(isCanonicalBase64url('AA==')).toBe(false);
    expect(isCanonicalBase64url('A')).toBe(false);
    expect(isCanonicalBase64url('a+b/')).toBe(false);
  });
});

describe('opening refuses what it always refused', () => {
  const sealer = createSealer([secretA]);
  const keys = new Map([[sealer.keyId, Buffer.from(secretA, 'base64')]]);
  const context = 'session-key:user-1';

  /** A sealed value with one part changed: a character replaced, inserted or removed, padding or a dot added. */
  const edited = fc
    .record({
      plaintext: fc.string({ maxLength: 24 }),
      part: fc.nat({ max: 4 }),
      edit: fc.constantFrom('replace', 'insert', 'remove', 'pad', 'dot'),
      at: fc.nat(),
      char: fc.constantFrom(...'AQgwBCDabyz0189-_+/=.'.split('')),
    })
    .map(({ plaintext, part, edit, at, char }) => {
      const parts = sealer.seal(plaintext, context).split('.');
      const text = parts[part] as string;
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      parts[part] =
        edit === 'replace'
          ? text.slice(0, i) + char + text.slice(i + 1)
          : edit === 'insert'
            ? text.slice(0, i) + char + text.slice(i)
            : edit === 'remove'
              ? text.slice(0, i) + text.slice(i + 1)
              : edit === 'pad'
                ? `${text}=`
                : `${text}.`;
      return { plaintext, sealed: parts.join('.') };
    });

  it('gives the reference outcome for every edited value, and never opens one to other text', () => {
    fc.assert(
      fc.property(edited, ({ plaintext, sealed }) => {
        const actual = outcome(() => sealer.open(sealed, context));
        expect(actual).toEqual(outcome(() => referenceOpen(sealed, context, keys)));
        if ('plaintext' in actual) expect(actual.plaintext).toBe(plaintext);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the reference outcome for arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(nearBase64url, fc.string()), nearBase64url, nearBase64url, (kid, iv, rest) => {
        for (const sealed of [
          kid,
          `v1.${kid}.${iv}.${rest}`,
          `v1.${sealer.keyId}.${iv}.${rest}`,
          `v1.${sealer.keyId}.${rest}`,
        ]) {
          expect(outcome(() => sealer.open(sealed, context))).toEqual(
            outcome(() => referenceOpen(sealed, context, keys)),
          );
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses non-canonical spellings of the right bytes as malformed', () => {
    const sealed = sealer.seal('session-key', context);
    const [v, kid, iv, ct, tag] = sealed.split('.') as [string, string, string, string, string];
    // the tag's last character carries 4 unused bits: setting one keeps the decoded bytes
    const last = tag.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1] as string;
    expect(Buffer.from(tag.slice(0, -1) + sibling, 'base64url')).toEqual(Buffer.from(tag, 'base64url'));
    for (const forged of [
      [v, kid, iv, ct, tag.slice(0, -1) + sibling],
      [v, kid, iv, `${ct}=`, tag],
      [v, kid, `${iv}==`, ct, tag],
      [v, kid, iv.replace(/[-_]/g, (c) => (c === '-' ? '+' : '/')), ct, tag],
    ]) {
      const text = forged.join('.');
      if (text === sealed) continue;
      expect(() => sealer.open(text, context)).toThrowError(/malformed/);
    }
    expect(sealer.open(sealed, context)).toBe('session-key');
  });

  it('checks the shape before the key id: an extra part is malformed even under an unknown key', () => {
    expect(() => sealer.open('v1.unknown.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA.x', context)).toThrowError(
      /malformed/,
    );
    expect(() => sealer.open('v1.unknown.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA', context)).toThrowError(
      /unknown_key/,
    );
    expect(() => sealer.open('v2.unknown.AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA', context)).toThrowError(
      /malformed/,
    );
  });
});
