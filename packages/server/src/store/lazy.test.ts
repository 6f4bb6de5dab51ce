// The PostgreSQL driver is loaded only when a PostgreSQL store is used. The
// mock of `pg` passes the real module through and counts the loads and pools.
import type * as Pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { openStore, StoreUnavailableError } from './index.js';
import type { Store } from './types.js';

const driver = vi.hoisted(() => ({ loads: 0, pools: [] as unknown[] }));

vi.mock('pg', async (importOriginal) => {
  driver.loads++;
  const pg = (await importOriginal<{ default: typeof Pg }>()).default;
  class Pool extends pg.Pool {
    constructor(config?: Pg.PoolConfig) {
      driver.pools.push(config);
      super(config);
    }
  }
  return { default: Object.assign(Object.create(pg) as typeof Pg, { Pool }) };
});

describe('openStore loads the PostgreSQL driver only when a PostgreSQL store is used', () => {
  it('SQLite never loads it; a PostgreSQL store loads it at its first call, with the pool size passed on', async () => {
    const sqlite = openStore('sqlite::memory:');
    await sqlite.migrate();
    await sqlite.getUser('u1');
    await sqlite.close();
    expect(driver.loads).toBe(0);

    const postgres = openStore('postgres://wx:pw@127.0.0.1:1/db', { postgresPoolSize: 3 });
    expect(postgres.kind).toBe('postgres');
    expect(driver.loads).toBe(0);
    await expect(postgres.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(driver.loads).toBe(1);
    expect(driver.pools).toEqual([expect.objectContaining({ max: 3 })]);
    await expect(postgres.getUser('u1')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(driver.pools).toHaveLength(1);
    await postgres.close();
  });

  it('closing a store never used opens no pool; using it afterwards fails as a closed store', async () => {
    const pools = driver.pools.length;
    const store = openStore('postgresql://wx@127.0.0.1:1/db');
    await store.close();
    await expect(store.migrate()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(driver.pools).toHaveLength(pools);
  });
});

describe('the PostgreSQL store opened by openStore', () => {
  it('passes every call on unchanged, arguments and result', async () => {
    const calls: Array<{ method: string; args: unknown[] }> = [];
    const recorder = new Proxy({} as Store, {
      get: (_, method) => {
        if (method === 'kind') return 'postgres';
        if (typeof method !== 'string' || method === 'then') return undefined;
        return async (...args: unknown[]) => {
          calls.push({ method, args });
          return { method, args };
        };
      },
    });
    vi.doMock('./postgres.js', () => ({ createPostgresStore: () => recorder }));
    vi.resetModules();
    const { openStore: open } = await import('./index.js');
    const store = open('postgres://127.0.0.1:1/db');
    const methods = Object.keys(store).filter((name) => name !== 'kind' && name !== 'close');
    expect(methods.length).toBeGreaterThan(15);
    for (const method of [...methods, 'close']) {
      const fn = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method];
      if (fn === undefined) throw new Error(`no ${method}`);
      const args = Array.from({ length: fn.length }, (_, i) => `${method}-${i}`);
      await expect(fn(...args)).resolves.toEqual({ method, args });
      expect(calls.at(-1)).toEqual({ method, args });
    }
    vi.doUnmock('./postgres.js');
  });
});
