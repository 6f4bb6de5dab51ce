import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loginsPerTurn } from './auth-service.js';

describe('loginsPerTurn', () => {
  it('lets 4 logins on a turn while the event loop has room, 8 once it was busy 70% of the time or more', () => {
    expect(loginsPerTurn(0)).toBe(4);
    expect(loginsPerTurn(0.69)).toBe(4);
    expect(loginsPerTurn(0.7)).toBe(8);
    expect(loginsPerTurn(1)).toBe(8);
  });

  it('never lets fewer on when the loop is busier', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(loginsPerTurn(high)).toBeGreaterThanOrEqual(loginsPerTurn(low));
      }),
    );
  });
});
