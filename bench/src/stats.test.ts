import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { median, percentile } from './stats.js';

const sortedOf = (values: number[]): Float64Array => Float64Array.from(values).sort();

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = sortedOf(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(new Float64Array(0), 99)).toBe(0);
  });

  it('is a member of the list, no smaller than that share of it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 100 }),
        (values, p) => {
          const sorted = sortedOf(values);
          const value = percentile(sorted, p);
          expect(values).toContain(value);
          const atOrBelow = values.filter((v) => v <= value).length;
          expect(atOrBelow / values.length).toBeGreaterThanOrEqual(p / 100);
        },
      ),
    );
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBe(0);
  });

  it('has as many values at or below it as at or above it, whatever their order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 99 }), (values) => {
        const m = median(values);
        expect(values.filter((v) => v <= m).length).toBeGreaterThanOrEqual(values.length / 2);
        expect(values.filter((v) => v >= m).length).toBeGreaterThanOrEqual(values.length / 2);
        expect(median([...values].reverse())).toBe(m);
      }),
    );
  });
});
