import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { assertMigrationList, sqliteMigrations } from './migrations.js';
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

export interface SqliteStoreOptions {
  /** Database file (created with mode 0600, its folder created when missing), or `':memory:'` for a private in-memory database. */
  path: string;
  /**
   * How long a write waits for another connection's lock before failing, in milliseconds.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Most memory SQLite keeps for its page cache, in KiB (`PRAGMA cache_size`).
   * Pages beyond it are read again from the operating system's file cache,
   * which does not count against the service's resident memory.
   * @default 4096
   */
  cacheSizeKiB?: number;
}

/** What a SQLite store's connection runs with, as SQLite reports it. */
export interface SqliteSettings {
  /** `wal` for a file, `memory` for `:memory:`. */
  journalMode: string;
  /** `PRAGMA synchronous`: 1 is NORMAL (with WAL, a power failure may lose the last commits before the WAL is synced; the file is never corrupted). */
  synchronous: number;
  /** The page cache's largest size, in KiB. */
  cacheSizeKiB: number;
  foreignKeys: boolean;
}

/**
 * The settings of a store made by `createSqliteStore`, read back from its
 * connection (for diagnostics and tests); `null` for any other store.
 */
export function sqliteSettings(store: Store): SqliteSettings | null {
  return store instanceof SqliteStore ? store.settings() : null;
}

/** The page cache's default size in KiB: better-sqlite3 builds SQLite with 16 MiB, most of a small service's memory. */
const DEFAULT_SQLITE_CACHE_KIB = 4096;

/**
 * Opens a SQLite store (better-sqlite3, WAL journal). Several processes may open
 * the same file: every race guarantee of `Store` holds across them, because each
 * read-then-write runs in a `BEGIN IMMEDIATE` transaction (one writer at a time)
 * and the rest rely on unique constraints. Call `migrate()` before use.
 *
 * @throws TypeError when an option is invalid.
 * @throws StoreUnavailableError (`store_unavailable`) when the file cannot be created or opened.
 * @example
 * const store = createSqliteStore({ path: './.wxlogin/wxlogin.db' });
 * await store.migrate();
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const { path, busyTimeoutMs = 5000, cacheSizeKiB = DEFAULT_SQLITE_CACHE_KIB } = options;
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('createSqliteStore: path must be a non-empty string');
  }
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new TypeError('createSqliteStore: busyTimeoutMs must be a non-negative integer (milliseconds)');
  }
  if (!Number.isSafeInteger(cacheSizeKiB) || cacheSizeKiB < 1) {
    throw new TypeError('createSqliteStore: cacheSizeKiB must be a positive integer (KiB)');
  }
  const memory = path === ':memory:';
  let db: Database.Database | undefined;
  try {
    if (!memory) prepareFile(resolve(path));
    db = new Database(path, { timeout: busyTimeoutMs });
    if (!memory) enableWal(db, busyTimeoutMs);
    db.pragma('synchronous = NORMAL');
    // a negative cache_size is a size in KiB, a positive one a number of pages
    db.pragma(`cache_size = -${cacheSizeKiB}`);
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db?.close();
    throw unavailable('open', error);
  }
  return new SqliteStore(db);
}

/** Creates the folder and an empty file readable by the owner only, before SQLite opens it. */
function prepareFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
  }
}

/**
 * Switching to WAL needs a moment of exclusive access; when another process is
 * opening the same file at the same time, SQLite answers BUSY at once instead of
 * waiting, so retry until the busy timeout.
 */
function enableWal(db: Database.Database, busyTimeoutMs: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 10) {
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`the file system refused WAL journal mode (got ${String(mode)})`);
      return;
    } catch (error) {
      if (!isBusy(error) || waited >= busyTimeoutMs) throw error;
      Atomics.wait(sleeper, 0, 0, 10);
    }
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
}

function unavailable(op: string, error: unknown): Error {
  if (error instanceof StoreUnavailableError || error instanceof TypeError) return error;
  const code = error instanceof Database.SqliteError ? error.code : error instanceof Error ? error.name : 'unknown';
  return new StoreUnavailableError(`SQLite store: ${op} failed (${code})`, { cause: error });
}

type Seconds = number;

function prepareStatements(db: Database.Database) {
  return {
    userById: db.prepare<[string], UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`),
    userByOpenId: db.prepare<[string, string], UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE app_id = ? AND open_id = ?`,
    ),
    usersByUnionId: db.prepare<[string], UserRow>(
      `SELECT ${USER_COLUMNS} FROM users WHERE union_id = ? ORDER BY created_at, app_id, id`,
    ),
    insertUser: db.prepare<[string, string, string, string | null, Seconds, Seconds], UserRow>(
      `INSERT INTO users (id, app_id, open_id, union_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id, open_id) DO NOTHING RETURNING ${USER_COLUMNS}`,
    ),
    setUnionId: db.prepare<[string, Seconds, string], UserRow>(
      `UPDATE users SET union_id = ?, updated_at = ? WHERE id = ? RETURNING ${USER_COLUMNS}`,
    ),
    updateProfile: db.prepare<Array<number | string | null>, UserRow>(
      `UPDATE users SET
         nickname = CASE WHEN ? THEN ? ELSE nickname END,
         avatar_url = CASE WHEN ? THEN ? ELSE avatar_url END,
         phone_number = CASE WHEN ? THEN ? ELSE phone_number END,
         pure_phone_number = CASE WHEN ? THEN ? ELSE pure_phone_number END,
         country_code = CASE WHEN ? THEN ? ELSE country_code END,
         updated_at = ?
       WHERE id = ? RETURNING ${USER_COLUMNS}`,
    ),
    // SET expressions read the row as it was, so `current_sealed` below is the old key.
    saveSessionKey: db.prepare<[string, string, Seconds, Seconds]>(
      `INSERT INTO session_keys (user_id, current_sealed, previous_sealed, previous_until, updated_at)
       VALUES (?, ?, NULL, 0, ?)
       ON CONFLICT (user_id) DO UPDATE SET
         previous_sealed = CASE WHEN current_sealed = excluded.current_sealed THEN previous_sealed ELSE current_sealed END,
         previous_until = CASE WHEN current_sealed = excluded.current_sealed THEN previous_until ELSE ? END,
         current_sealed = excluded.current_sealed,
         updated_at = excluded.updated_at`,
    ),
    sessionKeys: db.prepare<[string], SessionKeyRow>(
      `SELECT ${SESSION_KEY_COLUMNS} FROM session_keys WHERE user_id = ?`,
    ),
    insertSession: db.prepare<[string, string, string, Seconds, Seconds]>(
      'INSERT INTO sessions (id, user_id, app_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    insertRefreshToken: db.prepare<[string, string, string, Seconds]>(
      'INSERT INTO refresh_tokens (id, session_id, secret_hash, expires_at) VALUES (?, ?, ?, ?)',
    ),
    sessionById: db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ?`),
    revokeSession: db.prepare<[Seconds, string]>(
      'UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?',
    ),
    activeSessions: db.prepare<[number], { n: number }>(
      'SELECT COUNT(*) AS n FROM sessions WHERE revoked_at IS NULL AND expires_at > ?',
    ),
    revokedSince: db
      .prepare<[Seconds], string>('SELECT id FROM sessions WHERE revoked_at >= ? ORDER BY revoked_at, id')
      .pluck(),
    refreshTokenById: db.prepare<[string], RefreshTokenRow>(
      `SELECT ${REFRESH_TOKEN_COLUMNS} FROM refresh_tokens WHERE id = ?`,
    ),
    spendable: db.prepare<[string], { session_id: string; spent_at: number | null; revoked_at: number | null }>(
      `SELECT t.session_id, t.spent_at, s.revoked_at
       FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.id = ?`,
    ),
    spend: db.prepare<[Seconds, string]>('UPDATE refresh_tokens SET spent_at = ? WHERE id = ?'),
    moveExpiry: db.prepare<[Seconds, string]>('UPDATE sessions SET expires_at = ? WHERE id = ?'),
    deleteExpiredSessions: db.prepare<[Seconds]>('DELETE FROM sessions WHERE expires_at < ?'),
    deleteExpiredTokens: db.prepare<[Seconds]>('DELETE FROM refresh_tokens WHERE expires_at < ?'),
    signingKeys: db.prepare<[], SigningKeyRow>(
      `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY retired_at IS NULL DESC, created_at DESC, seq DESC`,
    ),
    retireActive: db.prepare<[Seconds]>('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
    insertSigningKey: db.prepare<[string, string, string, string, Seconds]>(
      `INSERT INTO signing_keys (kid, seq, alg, public_jwk, private_jwk_sealed, created_at)
       VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM signing_keys), ?, ?, ?, ?)`,
    ),
    deleteRetired: db.prepare<[Seconds]>('DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Finds or creates the user of a login (inside a write transaction). */
function upsertUserRow(s: Statements, c: LoginCandidate): { row: UserRow; created: boolean } | undefined {
  const existing = s.userByOpenId.get(c.appId, c.openId);
  if (existing === undefined) {
    const row = s.insertUser.get(c.id, c.appId, c.openId, c.unionId, c.now, c.now);
    return row && { row, created: true };
  }
  if (c.unionId === null || existing.union_id === c.unionId) return { row: existing, created: false };
  const row = s.setUnionId.get(c.unionId, c.now, existing.id);
  return row && { row, created: false };
}

function insertSession(s: Statements, { session, refreshToken }: NewSession): void {
  s.insertSession.run(session.id, session.userId, session.appId, session.createdAt, session.expiresAt);
  s.insertRefreshToken.run(refreshToken.id, session.id, refreshToken.secretHash, refreshToken.expiresAt);
}

// The group-committed writes: each runs inside a savepoint of a group commit
// (`SqliteStore.#write`), which makes it atomic.

function recordLoginRows(s: Statements, login: LoginRecord): { row: UserRow; created: boolean } | undefined {
  const result = upsertUserRow(s, login.user);
  if (result === undefined) return undefined;
  const { row } = result;
  const now = login.user.now;
  const sealed = login.sessionKey(row.id, s.sessionKeys.get(row.id)?.current_sealed ?? null);
  if (sealed !== null) s.saveSessionKey.run(row.id, sealed, now, now + login.graceSeconds);
  const created = loginSession(login, { id: row.id, appId: row.app_id });
  if (created !== null) insertSession(s, created);
  return result;
}

function rotateRows(s: Statements, spentId: string, next: RefreshTokenRecord, now: number): boolean {
  const spent = s.spendable.get(spentId);
  if (spent === undefined) return false;
  if (spent.session_id !== next.sessionId) {
    throw new TypeError('rotateRefreshToken: next.sessionId must be the session of the spent token');
  }
  if (spent.spent_at !== null || spent.revoked_at !== null) return false;
  s.spend.run(now, spentId);
  s.moveExpiry.run(next.expiresAt, spent.session_id);
  s.insertRefreshToken.run(next.id, spent.session_id, next.secretHash, next.expiresAt);
  return true;
}

/** Write paths that read first: each is one `BEGIN IMMEDIATE` transaction. */
function prepareTransactions(db: Database.Database, s: Statements) {
  return {
    upsertUser: db.transaction((c: LoginCandidate) => upsertUserRow(s, c)),
    deleteExpired: db.transaction((before: number): number => {
      const sessions = s.deleteExpiredSessions.run(before).changes;
      s.deleteExpiredTokens.run(before);
      return sessions;
    }),
    /** The outer transaction of a group commit; `run` does the work. */
    group: db.transaction((run: () => Outcome[]): Outcome[] => run()),
    /** One write of a group, in a savepoint of its own. */
    item: db.transaction(<T>(fn: () => T): T => fn()),
    addSigningKey: db.transaction((key: SigningKeyRecord, now: number): void => {
      s.retireActive.run(now);
      s.insertSigningKey.run(key.kid, key.alg, key.publicJwk, key.privateJwkSealed, key.createdAt);
    }),
  };
}

type Prepared = Statements & { tx: ReturnType<typeof prepareTransactions> };

/** A write waiting for the next group commit. */
interface QueuedWrite {
  op: string;
  fn: (s: Prepared) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What one write of a group came to. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The usual case: every write of the group succeeds, so they run one after the
 * other in one transaction, with nothing around each. Null when one of them
 * threw: the whole transaction was rolled back, nothing of the group is stored,
 * and the group goes to `commitEachInSavepoint`. (Writes are functions of the
 * database alone, so running one again is safe.) A failing commit throws.
 */
function commitTogether(s: Prepared, group: readonly QueuedWrite[]): Outcome[] | null {
  const failed = new Error('a write of the group failed');
  try {
    return s.tx.group.immediate(() =>
      group.map((write): Outcome => {
        try {
          return { ok: true, value: write.fn(s) };
        } catch {
          throw failed;
        }
      }),
    );
  } catch (error) {
    if (error === failed) return null;
    throw error;
  }
}

/**
 * The group again after a write failed: each write in a savepoint of its own,
 * so that a failing one is rolled back alone and the others are committed. A
 * failing commit throws.
 */
function commitEachInSavepoint(s: Prepared, group: readonly QueuedWrite[]): Outcome[] {
  return s.tx.group.immediate(() =>
    group.map((write): Outcome => {
      try {
        return { ok: true, value: s.tx.item(() => write.fn(s)) };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
}

/** Most writes committed together; more wait for the next group. */
const MAX_GROUP = 256;

class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #ping: Database.Statement<[], unknown>;
  #prepared: Prepared | undefined;
  #closed = false;
  #queue: QueuedWrite[] = [];
  #flushScheduled = false;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#ping = db.prepare('SELECT 1');
  }

  /** The connection's settings, read back from SQLite (see `sqliteSettings`). */
  settings(): SqliteSettings {
    if (this.#closed) throw new StoreUnavailableError('SQLite store: settings after close()');
    const read = (name: string): unknown => this.#db.pragma(name, { simple: true });
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      cacheSizeKiB: -Number(read('cache_size')),
      foreignKeys: Number(read('foreign_keys')) === 1,
    };
  }

  /**
   * Runs `fn` with the prepared statements (prepared once, on first use: they
   * need the tables, which exist only after `migrate()`), mapping failures.
   */
  #run<T>(op: string, fn: (s: Prepared) => T): T {
    if (this.#closed) throw new StoreUnavailableError(`SQLite store: ${op} after close()`);
    try {
      if (this.#prepared === undefined) {
        const statements = prepareStatements(this.#db);
        this.#prepared = { ...statements, tx: prepareTransactions(this.#db, statements) };
      }
      return fn(this.#prepared);
    } catch (error) {
      throw unavailable(op, error);
    }
  }

  /**
   * Group commit: the writes requested within one turn of the event loop run
   * together in one `BEGIN IMMEDIATE` transaction and are committed at once:
   * one commit (one WAL append) for many requests instead of one each. A write
   * that fails is rolled back alone and rejects alone (see `commitTogether`);
   * if the commit fails, every write of the group rejects.
   * Each promise resolves only after the commit. Writes run in the order they
   * were requested, so racing writes see each other exactly as with one
   * transaction each.
   */
  #write<T>(op: string, fn: (s: Prepared) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError(`SQLite store: ${op} after close()`));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const group = this.#queue.splice(0, MAX_GROUP);
    if (this.#queue.length > 0) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    if (group.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = this.#run('commit', (s) => commitTogether(s, group) ?? commitEachInSavepoint(s, group));
    } catch (error) {
      for (const write of group) write.reject(unavailable(write.op, error));
      return;
    }
    group.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(unavailable(write.op, outcome?.error));
    });
  }

  async migrate(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('SQLite store: migrate after close()');
    const db = this.#db;
    assertMigrationList(sqliteMigrations);
    try {
      const apply = db.transaction((migration: (typeof sqliteMigrations)[number]): void => {
        db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
        const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version);
        if (applied !== undefined) return;
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, unixepoch())').run(
          migration.version,
          migration.name,
        );
      });
      for (const migration of sqliteMigrations) apply.immediate(migration);
    } catch (error) {
      throw unavailable('migrate', error);
    }
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('SQLite store: ping after close()');
    try {
      this.#ping.get();
    } catch (error) {
      throw unavailable('ping', error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // writes already requested are committed first
    while (this.#queue.length > 0) this.#flush();
    this.#closed = true;
    this.#db.close();
  }

  async upsertUserOnLogin(candidate: Parameters<Store['upsertUserOnLogin']>[0]): Promise<{
    user: UserRecord;
    created: boolean;
  }> {
    assertSeconds(candidate.now, 'upsertUserOnLogin: now');
    return this.#run('upsertUserOnLogin', (s) => {
      // The usual login finds the user as it should be: one read, no lock.
      const existing = s.userByOpenId.get(candidate.appId, candidate.openId);
      if (existing !== undefined && (candidate.unionId === null || existing.union_id === candidate.unionId)) {
        return { user: rowToUser(existing), created: false };
      }
      const result = s.tx.upsertUser.immediate(candidate);
      if (result === undefined) throw new Error('the user vanished during upsertUserOnLogin');
      return { user: rowToUser(result.row), created: result.created };
    });
  }

  async recordLogin(login: LoginRecord): Promise<{ user: UserRecord; created: boolean }> {
    assertLoginRecord(login);
    return this.#write('recordLogin', (s) => {
      const result = recordLoginRows(s, login);
      if (result === undefined) throw new Error('the user vanished during recordLogin');
      return { user: rowToUser(result.row), created: result.created };
    });
  }

  async getUser(userId: string): Promise<UserRecord | null> {
    const row = this.#run('getUser', (s) => s.userById.get(userId));
    return row === undefined ? null : rowToUser(row);
  }

  async listUsersByUnionId(unionId: string): Promise<UserRecord[]> {
    return this.#run('listUsersByUnionId', (s) => s.usersByUnionId.all(unionId)).map(rowToUser);
  }

  async updateUserProfile(
    userId: string,
    fields: Parameters<Store['updateUserProfile']>[1],
    now: number,
  ): Promise<UserRecord | null> {
    assertSeconds(now, 'updateUserProfile: now');
    // SQLite binds no booleans: the "set?" flags go in as 1 / 0.
    const params = profileParams(fields).map((value) => (typeof value === 'boolean' ? Number(value) : value));
    const row = await this.#write('updateUserProfile', (s) => s.updateProfile.get(...params, now, userId));
    return row === undefined ? null : rowToUser(row);
  }

  async saveSessionKey(userId: string, sealed: string, now: number, graceSeconds: number): Promise<void> {
    assertSeconds(now, 'saveSessionKey: now');
    assertSeconds(graceSeconds, 'saveSessionKey: graceSeconds');
    await this.#write('saveSessionKey', (s) => s.saveSessionKey.run(userId, sealed, now, now + graceSeconds));
  }

  async getSessionKeys(userId: string): Promise<SessionKeyRecord | null> {
    const row = this.#run('getSessionKeys', (s) => s.sessionKeys.get(userId));
    return row === undefined ? null : rowToSessionKey(row);
  }

  async createSession(input: NewSession): Promise<void> {
    assertNewSession(input);
    await this.#write('createSession', (s) => insertSession(s, input));
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    const row = this.#run('getSession', (s) => s.sessionById.get(sessionId));
    return row === undefined ? null : rowToSession(row);
  }

  async revokeSession(sessionId: string, now: number): Promise<boolean> {
    assertSeconds(now, 'revokeSession: now');
    return this.#write('revokeSession', (s) => s.revokeSession.run(now, sessionId).changes > 0);
  }

  async listRevokedSessionIds(since: number): Promise<string[]> {
    assertSeconds(since, 'listRevokedSessionIds: since');
    return this.#run('listRevokedSessionIds', (s) => s.revokedSince.all(since));
  }

  async countActiveSessions(now: number): Promise<number> {
    assertSeconds(now, 'countActiveSessions: now');
    return this.#run('countActiveSessions', (s) => s.activeSessions.get(now)?.n ?? 0);
  }

  async getRefreshToken(id: string): Promise<RefreshTokenRecord | null> {
    const row = this.#run('getRefreshToken', (s) => s.refreshTokenById.get(id));
    return row === undefined ? null : rowToRefreshToken(row);
  }

  async rotateRefreshToken(spentId: string, next: RefreshTokenRecord, now: number): Promise<boolean> {
    assertSeconds(now, 'rotateRefreshToken: now');
    assertSeconds(next.expiresAt, 'rotateRefreshToken: next.expiresAt');
    return this.#write('rotateRefreshToken', (s) => rotateRows(s, spentId, next, now));
  }

  async deleteExpired(before: number): Promise<number> {
    assertSeconds(before, 'deleteExpired: before');
    return this.#run('deleteExpired', (s) => s.tx.deleteExpired.immediate(before));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.#run('listSigningKeys', (s) => s.signingKeys.all()).map(rowToSigningKey);
  }

  async addSigningKey(key: SigningKeyRecord, now: number): Promise<void> {
    assertSeconds(now, 'addSigningKey: now');
    assertSeconds(key.createdAt, 'addSigningKey: key.createdAt');
    this.#run('addSigningKey', (s) => s.tx.addSigningKey.immediate(key, now));
  }

  async deleteRetiredSigningKeys(before: number): Promise<number> {
    assertSeconds(before, 'deleteRetiredSigningKeys: before');
    return this.#run('deleteRetiredSigningKeys', (s) => s.deleteRetired.run(before).changes);
  }
}
