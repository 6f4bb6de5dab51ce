import pg from 'pg';
import { assertMigrationList, postgresMigrations } from './migrations.js';
import {
  assertLoginRecord,
  assertNewSession,
  assertSeconds,
  loginSession,
  profileParams,
  REFRESH_TOKEN_COLUMNS,
  type RefreshTokenRow,
  rowToRefreshToken,
  rowToSession,
  rowToSessionKey,
  rowToSigningKey,
  rowToUser,
  SESSION_COLUMNS,
  SESSION_KEY_COLUMNS,
  type SessionKeyRow,
  type SessionRow,
  SIGNING_KEY_COLUMNS,
  type SigningKeyRow,
  USER_COLUMNS,
  type UserRow,
} from './rows.js';
import {
  type LoginCandidate,
  type LoginRecord,
  type NewSession,
  type RefreshTokenRecord,
  type SessionKeyRecord,
  type SessionRecord,
  type SigningKeyRecord,
  type Store,
  StoreUnavailableError,
  type UserRecord,
} from './types.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?…` (libpq-style parameters such as `sslmode` are honoured). */
  connectionString: string;
  /**
   * Schema holding the tables, created by `migrate()` when missing.
   * @default 'public'
   */
  schema?: string;
  /**
   * Most connections the pool opens.
   * @default 10
   */
  poolSize?: number;
  /**
   * How long to wait for a new connection, in milliseconds.
   * @default 2000
   */
  connectTimeoutMs?: number;
  /**
   * Server-side limit of one statement, in milliseconds (also the base of a client-side backstop for a dead network).
   * @default 5000
   */
  statementTimeoutMs?: number;
  /**
   * Told about errors of idle pooled connections (e.g. the server restarted). They never
   * reach a caller (the next query opens a new connection), so the default ignores them.
   */
  onError?: (error: Error) => void;
}

/** Advisory lock class for migrations ('wxlg'); the object id is a hash of the schema name. */
const MIGRATION_LOCK_CLASS = 0x77786c67;

/** Deadlock and serialization failures abort a statement cleanly; running it again is safe. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

/**
 * Opens a PostgreSQL store over a `pg.Pool`. Connects lazily: the first query
 * (usually `migrate()`) opens the first connection. Every race guarantee of
 * `Store` is given by the database itself (unique constraints, `ON CONFLICT`,
 * row locks), so it holds across any number of service instances.
 *
 * @throws TypeError when an option is invalid.
 * @example
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL ?? '' });
 * await store.migrate();
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const {
    connectionString,
    schema = 'public',
    poolSize = 10,
    connectTimeoutMs = 2000,
    statementTimeoutMs = 5000,
    onError = () => {},
  } = options;
  if (typeof connectionString !== 'string' || connectionString === '') {
    throw new TypeError('createPostgresStore: connectionString must be a non-empty string');
  }
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError('createPostgresStore: schema must be a plain identifier (letters, digits, _; at most 63)');
  }
  for (const [name, value] of [
    ['poolSize', poolSize],
    ['connectTimeoutMs', connectTimeoutMs],
    ['statementTimeoutMs', statementTimeoutMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`createPostgresStore: ${name} must be a positive integer`);
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 1000,
    application_name: 'wxlogin',
    keepAlive: true,
  });
  // An idle connection that dies emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) => onError(error));
  return new PostgresStore(pool, schema);
}

function unavailable(op: string, error: unknown): Error {
  if (error instanceof StoreUnavailableError || error instanceof TypeError) return error;
  let reason = 'unknown error';
  if (error instanceof pg.DatabaseError) {
    // The message of a database error may quote a value; the SQLSTATE and constraint never do.
    reason = [error.code, error.constraint].filter(Boolean).join(' ');
  } else if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    reason = typeof code === 'string' ? code : error.message.slice(0, 200);
  }
  return new StoreUnavailableError(`PostgreSQL store: ${op} failed (${reason})`, { cause: error });
}

function isRetryable(error: unknown): boolean {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  return cause instanceof pg.DatabaseError && cause.code !== undefined && RETRYABLE.has(cause.code);
}

interface Named {
  name: string;
  text: string;
}

/**
 * Every statement, prepared once per connection (named), tables qualified with
 * the schema so `search_path` never matters.
 */
function prepareStatements(schema: string) {
  const q = `"${schema}"`;
  const named = (name: string, text: string): Named => ({ name: `wxlogin_${name}`, text });
  return {
    ping: named('ping', 'SELECT 1'),
    userById: named('user_by_id', `SELECT ${USER_COLUMNS} FROM ${q}.users WHERE id = $1`),
    userByOpenId: named('user_by_open_id', `SELECT ${USER_COLUMNS} FROM ${q}.users WHERE app_id = $1 AND open_id = $2`),
    usersByUnionId: named(
      'users_by_union_id',
      `SELECT ${USER_COLUMNS} FROM ${q}.users WHERE union_id = $1 ORDER BY created_at, app_id, id`,
    ),
    insertUser: named(
      'insert_user',
      `INSERT INTO ${q}.users (id, app_id, open_id, union_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (app_id, open_id) DO NOTHING RETURNING ${USER_COLUMNS}`,
    ),
    setUnionId: named(
      'set_union_id',
      `UPDATE ${q}.users SET union_id = $2, updated_at = $3 WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    ),
    updateProfile: named(
      'update_profile',
      `UPDATE ${q}.users SET
         nickname = CASE WHEN $1::boolean THEN $2::text ELSE nickname END,
         avatar_url = CASE WHEN $3::boolean THEN $4::text ELSE avatar_url END,
         phone_number = CASE WHEN $5::boolean THEN $6::text ELSE phone_number END,
         pure_phone_number = CASE WHEN $7::boolean THEN $8::text ELSE pure_phone_number END,
         country_code = CASE WHEN $9::boolean THEN $10::text ELSE country_code END,
         updated_at = $11
       WHERE id = $12 RETURNING ${USER_COLUMNS}`,
    ),
    // ON CONFLICT DO UPDATE locks the row, so concurrent saves apply one after
    // another; SET expressions read the row as it was (k.current_sealed is the old key).
    saveSessionKey: named(
      'save_session_key',
      `INSERT INTO ${q}.session_keys AS k (user_id, current_sealed, previous_sealed, previous_until, updated_at)
       VALUES ($1, $2, NULL, 0, $3)
       ON CONFLICT (user_id) DO UPDATE SET
         previous_sealed = CASE WHEN k.current_sealed = EXCLUDED.current_sealed THEN k.previous_sealed ELSE k.current_sealed END,
         previous_until = CASE WHEN k.current_sealed = EXCLUDED.current_sealed THEN k.previous_until ELSE $4 END,
         current_sealed = EXCLUDED.current_sealed,
         updated_at = EXCLUDED.updated_at`,
    ),
    sessionKeys: named('session_keys', `SELECT ${SESSION_KEY_COLUMNS} FROM ${q}.session_keys WHERE user_id = $1`),
    // One statement, so atomic without an explicit transaction.
    createSession: named(
      'create_session',
      `WITH s AS (
         INSERT INTO ${q}.sessions (id, user_id, app_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
       )
       INSERT INTO ${q}.refresh_tokens (id, session_id, secret_hash, expires_at) VALUES ($6, $1, $7, $8)`,
    ),
    sessionById: named('session_by_id', `SELECT ${SESSION_COLUMNS} FROM ${q}.sessions WHERE id = $1`),
    revokeSession: named(
      'revoke_session',
      `UPDATE ${q}.sessions SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`,
    ),
    activeSessions: named(
      'active_sessions',
      `SELECT COUNT(*)::int AS n FROM ${q}.sessions WHERE revoked_at IS NULL AND expires_at > $1`,
    ),
    revokedSince: named('revoked_since', `SELECT id FROM ${q}.sessions WHERE revoked_at >= $1 ORDER BY revoked_at, id`),
    refreshTokenById: named(
      'refresh_token_by_id',
      `SELECT ${REFRESH_TOKEN_COLUMNS} FROM ${q}.refresh_tokens WHERE id = $1`,
    ),
    // Locks the token and its session; a racing call waits, then finds the token
    // spent (or the session revoked) when it re-checks the locked rows, and so
    // matches nothing and writes nothing. The insert happens only when both
    // updates did: one statement, all or nothing.
    rotate: named(
      'rotate_refresh_token',
      `WITH target AS (
         SELECT t.id, t.session_id
         FROM ${q}.refresh_tokens t JOIN ${q}.sessions s ON s.id = t.session_id
         WHERE t.id = $1 AND t.session_id = $3 AND t.spent_at IS NULL AND s.revoked_at IS NULL
         FOR UPDATE OF t, s
       ), spent AS (
         UPDATE ${q}.refresh_tokens r SET spent_at = $2 FROM target WHERE r.id = target.id RETURNING r.session_id
       ), moved AS (
         UPDATE ${q}.sessions s SET expires_at = $6 FROM spent WHERE s.id = spent.session_id RETURNING s.id
       )
       INSERT INTO ${q}.refresh_tokens (id, session_id, secret_hash, expires_at)
       SELECT $4, moved.id, $5, $6 FROM moved`,
    ),
    tokenSession: named('token_session', `SELECT session_id FROM ${q}.refresh_tokens WHERE id = $1`),
    deleteExpired: named(
      'delete_expired',
      `WITH gone AS (DELETE FROM ${q}.sessions WHERE expires_at < $1 RETURNING id),
       tokens AS (DELETE FROM ${q}.refresh_tokens WHERE expires_at < $1)
       SELECT count(*)::int AS n FROM gone`,
    ),
    signingKeys: named(
      'signing_keys',
      `SELECT ${SIGNING_KEY_COLUMNS} FROM ${q}.signing_keys ORDER BY retired_at IS NULL DESC, created_at DESC, seq DESC`,
    ),
    // SHARE ROW EXCLUSIVE conflicts with itself (and with row writes) but not with reads.
    lockSigningKeys: named('lock_signing_keys', `LOCK TABLE ${q}.signing_keys IN SHARE ROW EXCLUSIVE MODE`),
    retireActive: named('retire_active', `UPDATE ${q}.signing_keys SET retired_at = $1 WHERE retired_at IS NULL`),
    insertSigningKey: named(
      'insert_signing_key',
      `INSERT INTO ${q}.signing_keys (kid, alg, public_jwk, private_jwk_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
    ),
    deleteRetired: named(
      'delete_retired',
      `DELETE FROM ${q}.signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The parameters of the `createSession` statement. */
function createSessionParams({ session, refreshToken }: NewSession): unknown[] {
  return [
    session.id,
    session.userId,
    session.appId,
    session.createdAt,
    session.expiresAt,
    refreshToken.id,
    refreshToken.secretHash,
    refreshToken.expiresAt,
  ];
}
type Queryable = pg.Pool | pg.PoolClient;

class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #sql: Statements;
  #closed = false;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
    this.#sql = prepareStatements(schema);
  }

  #assertOpen(op: string): void {
    if (this.#closed) throw new StoreUnavailableError(`PostgreSQL store: ${op} after close()`);
  }

  /** One statement on any pooled connection; retried when the database aborted it for a deadlock. */
  async #query<Row extends pg.QueryResultRow>(
    op: string,
    statement: Named,
    values: unknown[],
    on: Queryable = this.#pool,
  ): Promise<pg.QueryResult<Row>> {
    this.#assertOpen(op);
    for (let attempt = 1; ; attempt++) {
      try {
        return await on.query<Row>({ name: statement.name, text: statement.text, values });
      } catch (error) {
        if (on === this.#pool && attempt < MAX_ATTEMPTS && isRetryable(error)) continue;
        throw unavailable(op, error);
      }
    }
  }

  /** Runs `fn` in one transaction on one connection; retried as a whole on deadlock. */
  async #transaction<T>(op: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen(op);
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw unavailable(op, error);
      }
      // A checked-out connection has no pool listener: without this one, its dying
      // would end the process. The failure reaches us through the pending query.
      const ignore = (): void => {};
      client.on('error', ignore);
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error('ROLLBACK failed');
        });
        if (broken === undefined && attempt < MAX_ATTEMPTS && isRetryable(error)) continue;
        throw unavailable(op, error);
      } finally {
        client.off('error', ignore);
        // Releasing with an error closes the connection instead of pooling it.
        client.release(broken);
      }
    }
  }

  async migrate(): Promise<void> {
    assertMigrationList(postgresMigrations);
    const q = `"${this.#schema}"`;
    const lock = async (client: pg.PoolClient): Promise<void> => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, this.#schema]);
    };
    await this.#transaction('migrate', async (client) => {
      await lock(client);
      // Test first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${q}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (
           version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
      );
    });
    for (const migration of postgresMigrations) {
      await this.#transaction('migrate', async (client) => {
        await lock(client);
        const done = await client.query(`SELECT 1 FROM ${q}.schema_migrations WHERE version = $1`, [migration.version]);
        if (done.rowCount !== 0) return;
        await client.query(`SET LOCAL search_path TO ${q}`);
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${q}.schema_migrations (version, name, applied_at)
           VALUES ($1, $2, floor(extract(epoch FROM clock_timestamp()))::bigint)`,
          [migration.version, migration.name],
        );
      });
    }
  }

  async ping(): Promise<void> {
    await this.#query('ping', this.#sql.ping, []);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async upsertUserOnLogin(candidate: LoginCandidate): Promise<{ user: UserRecord; created: boolean }> {
    assertSeconds(candidate.now, 'upsertUserOnLogin: now');
    return this.#upsertUser('upsertUserOnLogin', candidate, this.#pool);
  }

  async #upsertUser(
    op: string,
    candidate: LoginCandidate,
    on: Queryable,
  ): Promise<{ user: UserRecord; created: boolean }> {
    const { id, appId, openId, unionId, now } = candidate;
    const sql = this.#sql;
    // Read first: the usual login finds the user as it should be, in one round trip.
    // Otherwise the unique (app_id, open_id) decides the race: of concurrent
    // inserts exactly one returns a row; the others read the winner's user.
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const found = await this.#query<UserRow>(op, sql.userByOpenId, [appId, openId], on);
      const existing = found.rows[0];
      if (existing !== undefined) {
        if (unionId === null || existing.union_id === unionId) return { user: rowToUser(existing), created: false };
        const updated = await this.#query<UserRow>(op, sql.setUnionId, [existing.id, unionId, now], on);
        const row = updated.rows[0];
        if (row !== undefined) return { user: rowToUser(row), created: false };
        continue;
      }
      const inserted = await this.#query<UserRow>(op, sql.insertUser, [id, appId, openId, unionId, now], on);
      const row = inserted.rows[0];
      if (row !== undefined) return { user: rowToUser(row), created: true };
    }
    throw new StoreUnavailableError(`PostgreSQL store: ${op} did not settle (the user keeps vanishing)`);
  }

  async recordLogin(login: LoginRecord): Promise<{ user: UserRecord; created: boolean }> {
    assertLoginRecord(login);
    const sql = this.#sql;
    const op = 'recordLogin';
    return this.#transaction(op, async (client) => {
      const result = await this.#upsertUser(op, login.user, client);
      const { user } = result;
      const now = login.user.now;
      const keys = await this.#query<SessionKeyRow>(op, sql.sessionKeys, [user.id], client);
      const sealed = login.sessionKey(user.id, keys.rows[0]?.current_sealed ?? null);
      if (sealed !== null) {
        await this.#query(op, sql.saveSessionKey, [user.id, sealed, now, now + login.graceSeconds], client);
      }
      const session = loginSession(login, user);
      if (session !== null) await this.#query(op, sql.createSession, createSessionParams(session), client);
      return result;
    });
  }

  async getUser(userId: string): Promise<UserRecord | null> {
    const { rows } = await this.#query<UserRow>('getUser', this.#sql.userById, [userId]);
    return rows[0] === undefined ? null : rowToUser(rows[0]);
  }

  async listUsersByUnionId(unionId: string): Promise<UserRecord[]> {
    const { rows } = await this.#query<UserRow>('listUsersByUnionId', this.#sql.usersByUnionId, [unionId]);
    return rows.map(rowToUser);
  }

  async updateUserProfile(
    userId: string,
    fields: Parameters<Store['updateUserProfile']>[1],
    now: number,
  ): Promise<UserRecord | null> {
    assertSeconds(now, 'updateUserProfile: now');
    const { rows } = await this.#query<UserRow>('updateUserProfile', this.#sql.updateProfile, [
      ...profileParams(fields),
      now,
      userId,
    ]);
    return rows[0] === undefined ? null : rowToUser(rows[0]);
  }

  async saveSessionKey(userId: string, sealed: string, now: number, graceSeconds: number): Promise<void> {
    assertSeconds(now, 'saveSessionKey: now');
    assertSeconds(graceSeconds, 'saveSessionKey: graceSeconds');
    await this.#query('saveSessionKey', this.#sql.saveSessionKey, [userId, sealed, now, now + graceSeconds]);
  }

  async getSessionKeys(userId: string): Promise<SessionKeyRecord | null> {
    const { rows } = await this.#query<SessionKeyRow>('getSessionKeys', this.#sql.sessionKeys, [userId]);
    return rows[0] === undefined ? null : rowToSessionKey(rows[0]);
  }

  async createSession(input: NewSession): Promise<void> {
    assertNewSession(input);
    await this.#query('createSession', this.#sql.createSession, createSessionParams(input));
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    const { rows } = await this.#query<SessionRow>('getSession', this.#sql.sessionById, [sessionId]);
    return rows[0] === undefined ? null : rowToSession(rows[0]);
  }

  async revokeSession(sessionId: string, now: number): Promise<boolean> {
    assertSeconds(now, 'revokeSession: now');
    const result = await this.#query('revokeSession', this.#sql.revokeSession, [sessionId, now]);
    return (result.rowCount ?? 0) > 0;
  }

  async listRevokedSessionIds(since: number): Promise<string[]> {
    assertSeconds(since, 'listRevokedSessionIds: since');
    const { rows } = await this.#query<{ id: string }>('listRevokedSessionIds', this.#sql.revokedSince, [since]);
    return rows.map((row) => row.id);
  }

  async countActiveSessions(now: number): Promise<number> {
    assertSeconds(now, 'countActiveSessions: now');
    const { rows } = await this.#query<{ n: number }>('countActiveSessions', this.#sql.activeSessions, [now]);
    return Number(rows[0]?.n ?? 0);
  }

  async getRefreshToken(id: string): Promise<RefreshTokenRecord | null> {
    const { rows } = await this.#query<RefreshTokenRow>('getRefreshToken', this.#sql.refreshTokenById, [id]);
    return rows[0] === undefined ? null : rowToRefreshToken(rows[0]);
  }

  async rotateRefreshToken(spentId: string, next: RefreshTokenRecord, now: number): Promise<boolean> {
    assertSeconds(now, 'rotateRefreshToken: now');
    assertSeconds(next.expiresAt, 'rotateRefreshToken: next.expiresAt');
    const result = await this.#query('rotateRefreshToken', this.#sql.rotate, [
      spentId,
      now,
      next.sessionId,
      next.id,
      next.secretHash,
      next.expiresAt,
    ]);
    if ((result.rowCount ?? 0) > 0) return true;
    // Nothing written. A token of another session is a caller's mistake, not a reuse.
    const { rows } = await this.#query<{ session_id: string }>('rotateRefreshToken', this.#sql.tokenSession, [spentId]);
    if (rows[0] !== undefined && rows[0].session_id !== next.sessionId) {
      throw new TypeError('rotateRefreshToken: next.sessionId must be the session of the spent token');
    }
    return false;
  }

  async deleteExpired(before: number): Promise<number> {
    assertSeconds(before, 'deleteExpired: before');
    const { rows } = await this.#query<{ n: number }>('deleteExpired', this.#sql.deleteExpired, [before]);
    return rows[0]?.n ?? 0;
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const { rows } = await this.#query<SigningKeyRow>('listSigningKeys', this.#sql.signingKeys, []);
    return rows.map(rowToSigningKey);
  }

  async addSigningKey(key: SigningKeyRecord, now: number): Promise<void> {
    assertSeconds(now, 'addSigningKey: now');
    assertSeconds(key.createdAt, 'addSigningKey: key.createdAt');
    const sql = this.#sql;
    await this.#transaction('addSigningKey', async (client) => {
      await this.#query('addSigningKey', sql.lockSigningKeys, [], client);
      await this.#query('addSigningKey', sql.retireActive, [now], client);
      await this.#query(
        'addSigningKey',
        sql.insertSigningKey,
        [key.kid, key.alg, key.publicJwk, key.privateJwkSealed, key.createdAt],
        client,
      );
    });
  }

  async deleteRetiredSigningKeys(before: number): Promise<number> {
    assertSeconds(before, 'deleteRetiredSigningKeys: before');
    const result = await this.#query('deleteRetiredSigningKeys', this.#sql.deleteRetired, [before]);
    return result.rowCount ?? 0;
  }
}
