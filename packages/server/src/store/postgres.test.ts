import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { describeStoreConformance } from './conformance.js';
import { createPostgresStore } from './postgres.js';
import { type Store, StoreUnavailableError } from './types.js';

const url = inject('postgresUrl');
const T0 = 3_000_000_000;

describe.skipIf(url === null)('PostgreSQL store', () => {
  const connectionString = url ?? '';
  const admin = new pg.Pool({ connectionString, max: 2 });
  afterAll(() => admin.end());

  /** Each test gets its own schema, dropped afterwards. */
  const freshSchema = (): string => `wxlogin_test_${randomBytes(6).toString('hex')}`;
  const dropSchema = async (schema: string): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  };

  describeStoreConformance('postgres', async () => {
    const schema = freshSchema();
    const store = createPostgresStore({ connectionString, schema });
    return {
      store,
      openSecond: async () => createPostgresStore({ connectionString, schema }),
      cleanup: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  });

  it('creates the tables in its own schema and records the migrations there', async () => {
    const schema = freshSchema();
    const store = createPostgresStore({ connectionString, schema, poolSize: 2 });
    try {
      await store.migrate();
      const { rows } = await admin.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual([
        'refresh_tokens',
        'schema_migrations',
        'session_keys',
        'sessions',
        'signing_keys',
        'users',
      ]);
      const applied = await admin.query(`SELECT version, name FROM "${schema}".schema_migrations`);
      expect(applied.rows).toEqual([{ version: 1, name: 'initial_schema' }]);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('migrate() from many instances starting at once is safe', async () => {
    const schema = freshSchema();
    const stores = Array.from({ length: 5 }, () => createPostgresStore({ connectionString, schema, poolSize: 2 }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const applied = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
      expect(applied.rows[0]).toEqual({ n: 1 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(schema);
    }
  });

  it('keeps times past 2^31 seconds exact (BIGINT, converted to number)', async () => {
    const schema = freshSchema();
    const store = createPostgresStore({ connectionString, schema, poolSize: 2 });
    try {
      await store.migrate();
      const { user } = await store.upsertUserOnLogin({
        id: 'u1',
        appId: 'a',
        openId: 'o',
        unionId: null,
        now: 99_999_999_999,
      });
      expect(user.createdAt).toBe(99_999_999_999);
      expect(typeof (await store.getUser('u1'))?.createdAt).toBe('number');
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it('a statement past statementTimeoutMs rejects with StoreUnavailableError', async () => {
    const schema = freshSchema();
    // set up with the default timeout: on a busy machine the migration's DDL alone may take 100 ms
    const setup = createPostgresStore({ connectionString, schema, poolSize: 1 });
    await setup.migrate();
    await setup.upsertUserOnLogin({ id: 'u1', appId: 'a', openId: 'o', unionId: null, now: T0 });
    await setup.close();
    const store = createPostgresStore({ connectionString, schema, poolSize: 2, statementTimeoutMs: 100 });
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".users IN ACCESS EXCLUSIVE MODE`);
      await expect(store.getUser('u1')).rejects.toMatchObject({
        name: 'StoreUnavailableError',
        message: expect.stringContaining('57014'),
      });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await store.close();
      await dropSchema(schema);
    }
  });

  it('rejects invalid options with TypeError', () => {
    expect(() => createPostgresStore({ connectionString: '' })).toThrow(TypeError);
    expect(() => createPostgresStore({ connectionString, schema: 'a"; DROP TABLE users; --' })).toThrow(TypeError);
    expect(() => createPostgresStore({ connectionString, poolSize: 0 })).toThrow(TypeError);
    expect(() => createPostgresStore({ connectionString, connectTimeoutMs: 1.5 })).toThrow(TypeError);
  });
});

// These need no PostgreSQL: they check what happens when there is none.
describe('PostgreSQL store without a server', () => {
  const stores: Store[] = [];
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const server of servers) server.close();
  });

  it('ping() and every operation reject with StoreUnavailableError within ~3 s on a closed port', async () => {
    const store = createPostgresStore({ connectionString: 'postgres://wx:s3cret-pw@127.0.0.1:1/none' });
    stores.push(store);
    const started = Date.now();
    const failure = await store.ping().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).cause).toBeInstanceOf(Error);
    expect((failure as Error).message).not.toContain('s3cret-pw');
    await expect(store.getUser('u1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getSession('s1')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      store.upsertUserOnLogin({ id: 'u1', appId: 'a', openId: 'o', unionId: null, now: T0 }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(
      store.addSigningKey(
        { kid: 'k', alg: 'EdDSA', publicJwk: '{}', privateJwkSealed: 's', createdAt: T0, retiredAt: null },
        T0,
      ),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.migrate()).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a server that accepts but never answers fails after connectTimeoutMs', async () => {
    const server = createServer(() => {});
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const store = createPostgresStore({
      connectionString: `postgres://wx@127.0.0.1:${port}/none`,
      connectTimeoutMs: 300,
    });
    stores.push(store);
    const started = Date.now();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
  });

  it('an idle connection dying does not crash the process; onError hears of it', async () => {
    // A fake server that completes the startup handshake, then drops the connection.
    const server = createServer((socket) => {
      socket.once('data', () => {
        // AuthenticationOk, ReadyForQuery(idle)
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49]));
        socket.once('data', () => {
          // answer the prepared `SELECT 1`: ParseComplete, BindComplete, NoData, CommandComplete, ReadyForQuery
          const done = Buffer.from([0x31, 0, 0, 0, 4, 0x32, 0, 0, 0, 4, 0x6e, 0, 0, 0, 4]);
          socket.write(Buffer.concat([done, commandComplete('SELECT 1'), Buffer.from([0x5a, 0, 0, 0, 5, 0x49])]));
          setTimeout(() => socket.destroy(), 50);
        });
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const errors: Error[] = [];
    const store = createPostgresStore({
      connectionString: `postgres://wx@127.0.0.1:${port}/none`,
      onError: (error) => errors.push(error),
    });
    stores.push(store);
    await store.ping();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errors.length).toBeGreaterThan(0);
  });
});

function commandComplete(tag: string): Buffer {
  const body = Buffer.from(`${tag}\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('C', 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
