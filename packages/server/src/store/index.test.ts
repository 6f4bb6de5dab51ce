import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store, StoreUnavailableError, sqliteSettings } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'wxlogin-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  const opened: Store[] = [];
  const open = (url: string, options?: { postgresPoolSize?: number; sqliteCacheKiB?: number }): Store => {
    const store = openStore(url, options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('sqlite::memory: opens a private in-memory SQLite store', async () => {
    const store = open('sqlite::memory:');
    expect(store.kind).toBe('sqlite');
    await store.migrate();
    expect(await store.getUser('u1')).toBeNull();
  });

  it('sqlite:<relative path> is relative to the working directory', async () => {
    const file = join(dir, 'rel', 'wxlogin.db');
    await open(`sqlite:${relative(process.cwd(), file)}`).migrate();
    expect(existsSync(file)).toBe(true);
  });

  it('sqlite:/abs/path and sqlite:///abs/path are absolute paths', async () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await open(`sqlite:${a}`).migrate();
    await open(`sqlite://${b}`).migrate();
    expect([existsSync(a), existsSync(b)]).toEqual([true, true]);
  });

  it('passes sqliteCacheKiB to SQLite in every form of the URL, 4096 KiB when not given', () => {
    expect(sqliteSettings(open('sqlite::memory:'))?.cacheSizeKiB).toBe(4096);
    expect(sqliteSettings(open('sqlite::memory:', { sqliteCacheKiB: 512 }))?.cacheSizeKiB).toBe(512);
    expect(sqliteSettings(open(`sqlite:${join(dir, 'c.db')}`, { sqliteCacheKiB: 768 }))?.cacheSizeKiB).toBe(768);
    expect(sqliteSettings(open(`sqlite://${join(dir, 'd.db')}`, { sqliteCacheKiB: 1024 }))?.cacheSizeKiB).toBe(1024);
    expect(sqliteSettings(open('postgres://wx@127.0.0.1:1/db', { sqliteCacheKiB: 1024 }))).toBeNull();
  });

  it('postgres:// and postgresql:// open a PostgreSQL store without connecting yet', async () => {
    expect(open('postgres://wx:pw@127.0.0.1:1/db').kind).toBe('postgres');
    const store = open('postgresql://wx@127.0.0.1:1/db', { postgresPoolSize: 3 });
    expect(store.kind).toBe('postgres');
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses an invalid postgresPoolSize at once', () => {
    for (const postgresPoolSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => openStore('postgres://127.0.0.1/db', { postgresPoolSize })).toThrow(TypeError);
      expect(() => openStore('postgres://127.0.0.1/db', { postgresPoolSize })).toThrow(/postgresPoolSize/);
    }
  });

  it.each([
    ['mysql://root:hunter2@db.internal:3306/app?password=hunter2', 'mysql://db.internal:3306/app'],
    ['root:hunter2@db.internal', '"root:"'],
    ['postgres://root:hunter2@[::1', '"postgres:"'],
    ['sqlite://host/data.db', 'sqlite://host/data.db'],
    ['sqlite:', '"sqlite:"'],
    ['', 'an empty value'],
    ['./wxlogin.db', 'without a scheme'],
  ])('refuses %j with a TypeError naming DATABASE_URL, without credentials', (url, shown) => {
    let thrown: unknown;
    try {
      openStore(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    const message = (thrown as Error).message;
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('sqlite::memory:');
    expect(message).toContain('postgresql://');
    expect(message).toContain(shown);
    expect(message).not.toContain('hunter2');
  });
});
