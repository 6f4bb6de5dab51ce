import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreConformance } from './conformance.js';
import { createSqliteStore, sqliteSettings } from './sqlite.js';
import { type Store, StoreUnavailableError } from './types.js';

const T0 = 3_000_000_000;
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-sqlite-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describeStoreConformance('sqlite (file)', async () => {
  const dir = tempDir();
  // a folder that does not exist yet: the store creates it
  const path = join(dir, 'data', 'wxlogin.db');
  const store = createSqliteStore({ path });
  return {
    store,
    openSecond: async () => createSqliteStore({ path }),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeStoreConformance('sqlite (:memory:)', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  return { store, cleanup: () => store.close() };
});

describe('createSqliteStore', () => {
  const opened: Store[] = [];
  const open = (path: string, busyTimeoutMs?: number): Store => {
    const store = createSqliteStore(busyTimeoutMs === undefined ? { path } : { path, busyTimeoutMs });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('creates the missing folder and the database file with mode 0600 (its WAL files too)', async () => {
    const path = join(tempDir(), 'a', 'b', 'wxlogin.db');
    const store = open(path);
    await store.migrate();
    await store.upsertUserOnLogin({ id: 'u1', appId: 'wxapp1', openId: 'o1', unionId: null, now: T0 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-shm`).mode & 0o777).toBe(0o600);
  });

  it('tightens the mode of an existing database file to 0600', () => {
    const path = join(tempDir(), 'wxlogin.db');
    writeFileSync(path, '', { mode: 0o644 });
    open(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('switches the file to WAL journal mode, which persists for every connection', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    await open(path).migrate();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('two instances on one file see each other and keep the guarantees', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    const a = open(path);
    const b = open(path);
    await a.migrate();
    await b.migrate();
    const first = await a.upsertUserOnLogin({ id: 'u1', appId: 'wxapp1', openId: 'o1', unionId: null, now: T0 });
    const second = await b.upsertUserOnLogin({ id: 'u2', appId: 'wxapp1', openId: 'o1', unionId: null, now: T0 });
    expect([first.created, second.created]).toEqual([true, false]);
    expect(second.user.id).toBe('u1');
    await b.createSession({
      session: { id: 's1', userId: 'u1', appId: 'wxapp1', createdAt: T0, expiresAt: T0 + 60, revokedAt: null },
      refreshToken: { id: 'rt0', sessionId: 's1', secretHash: 'h', expiresAt: T0 + 60, spentAt: null },
    });
    const next = (id: string) => ({ id, sessionId: 's1', secretHash: id, expiresAt: T0 + 120, spentAt: null });
    expect(await a.rotateRefreshToken('rt0', next('rt1'), T0 + 1)).toBe(true);
    expect(await b.rotateRefreshToken('rt0', next('rt2'), T0 + 1)).toBe(false);
    expect(await b.getRefreshToken('rt2')).toBeNull();
  });

  it('a write blocked by another connection past busyTimeoutMs rejects with StoreUnavailableError', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    const store = open(path, 50);
    await store.migrate();
    const raw = new Database(path);
    try {
      raw.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      await expect(
        store.upsertUserOnLogin({ id: 'u1', appId: 'wxapp1', openId: 'o1', unionId: null, now: T0 }),
      ).rejects.toMatchObject({ name: 'StoreUnavailableError', message: expect.stringContaining('SQLITE_BUSY') });
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      // reads still work under WAL while another connection writes
      expect(await store.getUser('u1')).toBeNull();
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
    }
  });

  it('a use before migrate() rejects with StoreUnavailableError, and works after it', async () => {
    const store = open(join(tempDir(), 'wxlogin.db'));
    await expect(store.getUser('u1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await store.migrate();
    expect(await store.getUser('u1')).toBeNull();
  });

  it('throws StoreUnavailableError when the file cannot be created', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-folder'), '');
    expect(() => createSqliteStore({ path: join(dir, 'not-a-folder', 'wxlogin.db') })).toThrow(StoreUnavailableError);
    mkdirSync(join(dir, 'a-folder'));
    expect(() => createSqliteStore({ path: join(dir, 'a-folder') })).toThrow(StoreUnavailableError);
  });

  it('throws TypeError for invalid options', () => {
    expect(() => createSqliteStore({ path: '' })).toThrow(TypeError);
    expect(() => createSqliteStore({ path: ':memory:', busyTimeoutMs: -1 })).toThrow(TypeError);
    expect(() => createSqliteStore({ path: ':memory:', busyTimeoutMs: 1.5 })).toThrow(TypeError);
    for (const cacheSizeKiB of [0, -1, 1.5, Number.NaN]) {
      expect(() => createSqliteStore({ path: ':memory:', cacheSizeKiB })).toThrow(/cacheSizeKiB/);
    }
  });

  it('runs with WAL, synchronous NORMAL, foreign keys and a 4 MiB page cache, not the 16 MiB of the driver', () => {
    const settings = sqliteSettings(open(join(tempDir(), 'wxlogin.db')));
    expect(settings).toEqual({ journalMode: 'wal', synchronous: 1, cacheSizeKiB: 4096, foreignKeys: true });
  });

  it('takes the page cache size it is given, in KiB', () => {
    const store = createSqliteStore({ path: ':memory:', cacheSizeKiB: 1024 });
    opened.push(store);
    expect(sqliteSettings(store)?.cacheSizeKiB).toBe(1024);
  });

  it('records applied migrations in schema_migrations', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    await open(path).migrate();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([
        { version: 1, name: 'initial_schema' },
      ]);
    } finally {
      raw.close();
    }
  });
});

// ── real concurrency: several processes' worth of connections, one per worker thread ──

/**
 * better-sqlite3 is synchronous, so calls on one thread never interleave; worker
 * threads do, like separate processes. Each worker loads the store (bundled from
 * source), waits at a gate, then runs its task on the shared file.
 */
describe('sqlite across threads (like separate processes)', () => {
  const WORKERS = 4;
  let bundle: string;
  let runner: string;
  let cacheDir: string;

  beforeAll(async () => {
    // Beside node_modules, so the bundle's `import 'better-sqlite3'` resolves.
    const nodeModules = dirname(dirname(dirname(createRequire(import.meta.url).resolve('better-sqlite3'))));
    mkdirSync(join(nodeModules, '.cache'), { recursive: true });
    cacheDir = mkdtempSync(join(nodeModules, '.cache', 'wxlogin-sqlite-test-'));
    bundle = join(cacheDir, 'sqlite.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./sqlite.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['better-sqlite3'],
      outfile: bundle,
      logLevel: 'silent',
    });
    runner = join(cacheDir, 'runner.mjs');
    writeFileSync(runner, RUNNER);
  });

  afterAll(() => {
    if (cacheDir !== undefined) rmSync(cacheDir, { recursive: true, force: true });
  });

  async function race(path: string, task: string): Promise<unknown[][]> {
    const gate = new SharedArrayBuffer(4);
    const workers = Array.from(
      { length: WORKERS },
      (_, index) => new Worker(runner, { workerData: { bundle: pathToFileURL(bundle).href, path, task, index, gate } }),
    );
    try {
      const ready = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
      await Promise.all(ready);
      const done = workers.map(
        (w) =>
          new Promise<unknown[]>((resolve, reject) => {
            w.once('message', (message: { ok: boolean; out: unknown[]; error: string }) =>
              message.ok ? resolve(message.out) : reject(new Error(message.error)),
            );
            w.once('error', reject);
          }),
      );
      const flag = new Int32Array(gate);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      return await Promise.all(done);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }

  it('concurrent first opens and migrate() on a fresh file all succeed', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    const results = await race(path, 'migrate');
    expect(results.flat()).toEqual(Array(WORKERS).fill('migrated'));
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
    }
  });

  it('upsertUserOnLogin from every thread at once creates exactly one user', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    await createAndClose(path);
    const results = (await race(path, 'upsert')).flat() as Array<{ id: string; created: boolean }>;
    expect(results).toHaveLength(WORKERS * 25);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
  });

  it('rotateRefreshToken of one token from every thread at once succeeds exactly once', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    await createAndClose(path, async (s) => {
      await s.upsertUserOnLogin({ id: 'u1', appId: 'wxapp1', openId: 'o1', unionId: null, now: T0 });
      await s.createSession({
        session: { id: 's1', userId: 'u1', appId: 'wxapp1', createdAt: T0, expiresAt: T0 + 60, revokedAt: null },
        refreshToken: { id: 'rt0', sessionId: 's1', secretHash: 'h', expiresAt: T0 + 60, spentAt: null },
      });
    });
    const results = (await race(path, 'rotate')).flat();
    expect(results.filter((r) => r === true)).toHaveLength(1);
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT count(*) AS n FROM refresh_tokens').get()).toEqual({ n: 2 });
    } finally {
      raw.close();
    }
  });

  it('addSigningKey from every thread at once leaves exactly one active key', async () => {
    const path = join(tempDir(), 'wxlogin.db');
    await createAndClose(path);
    await race(path, 'addKey');
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT count(*) AS n FROM signing_keys').get()).toEqual({ n: WORKERS * 5 });
      expect(raw.prepare('SELECT count(*) AS n FROM signing_keys WHERE retired_at IS NULL').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
    }
  });
});

async function createAndClose(path: string, seed?: (store: Store) => Promise<void>): Promise<void> {
  const store = createSqliteStore({ path });
  try {
    await store.migrate();
    await seed?.(store);
  } finally {
    await store.close();
  }
}

const RUNNER = `
import { parentPort, workerData } from 'node:worker_threads';
const { bundle, path, task, index, gate } = workerData;
const { createSqliteStore } = await import(bundle);
const flag = new Int32Array(gate);
parentPort.postMessage('ready');
Atomics.wait(flag, 0, 0);
const T0 = ${T0};
let store;
try {
  store = createSqliteStore({ path, busyTimeoutMs: 10000 });
  const out = [];
  if (task === 'migrate') {
    await store.migrate();
    out.push('migrated');
  } else if (task === 'upsert') {
    for (let i = 0; i < 25; i++) {
      const r = await store.upsertUserOnLogin({ id: 'w' + index + '-' + i, appId: 'wxapp1', openId: 'o-race', unionId: null, now: T0 });
      out.push({ id: r.user.id, created: r.created });
    }
  } else if (task === 'rotate') {
    out.push(await store.rotateRefreshToken('rt0', { id: 'next' + index, sessionId: 's1', secretHash: 'h' + index, expiresAt: T0 + 600, spentAt: null }, T0 + 1));
  } else if (task === 'addKey') {
    for (let i = 0; i < 5; i++) {
      const kid = 'k' + index + '-' + i;
      await store.addSigningKey({ kid, alg: 'EdDSA', publicJwk: '{}', privateJwkSealed: 'sealed', createdAt: T0 + i, retiredAt: null }, T0 + i);
    }
  }
  parentPort.postMessage({ ok: true, out });
} catch (error) {
  parentPort.postMessage({ ok: false, error: String(error && error.stack || error) });
} finally {
  await store?.close();
}
`;
