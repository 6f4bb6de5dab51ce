import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSealer, UnsealError } from './seal.js';

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
