import { describe, expect, it } from 'vitest';
import { assertMigrationList, postgresMigrations, sqliteMigrations } from './migrations.js';
import { assertSeconds, profileParams } from './rows.js';

describe('migration lists', () => {
  it('are numbered 1, 2, 3… with one entry per version in both dialects', () => {
    expect(() => assertMigrationList(sqliteMigrations)).not.toThrow();
    expect(() => assertMigrationList(postgresMigrations)).not.toThrow();
    expect(sqliteMigrations.map((m) => [m.version, m.name])).toEqual(
      postgresMigrations.map((m) => [m.version, m.name]),
    );
  });

  it('a gap or a reordering is refused', () => {
    const [first] = sqliteMigrations;
    if (first === undefined) throw new Error('no migrations');
    expect(() => assertMigrationList([{ ...first, version: 2 }])).toThrow(/expected 1/);
    expect(() => assertMigrationList([first, { ...first, version: 3 }])).toThrow(/expected 2/);
  });
});

describe('assertSeconds', () => {
  it('accepts whole seconds', () => {
    for (const value of [0, 1, 1_700_000_000, 99_999_999_999]) expect(() => assertSeconds(value, 't')).not.toThrow();
  });

  it('refuses fractions, negatives, non-numbers and millisecond clocks', () => {
    for (const value of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 1_700_000_000_000]) {
      expect(() => assertSeconds(value, 'now')).toThrow(TypeError);
    }
  });
});

describe('profileParams', () => {
  it('pairs a "set?" flag with each value in a fixed order; absent and undefined are not set, null is', () => {
    expect(profileParams({ nickname: 'n', avatarUrl: null, countryCode: undefined })).toEqual([
      true,
      'n',
      true,
      null,
      false,
      null,
      false,
      null,
      false,
      null,
    ]);
  });

  it('refuses a value that is neither a string nor null', () => {
    expect(() => profileParams({ nickname: 42 as unknown as string })).toThrow(TypeError);
  });
});
