import type { PostgresStoreOptions } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import { type Store, StoreUnavailableError } from './types.js';

export type { PostgresStoreOptions } from './postgres.js';
export { createSqliteStore, type SqliteSettings, type SqliteStoreOptions, sqliteSettings } from './sqlite.js';
export {
  type NewSession,
  type RefreshTokenRecord,
  type SessionKeyRecord,
  type SessionRecord,
  type SigningKeyRecord,
  type Store,
  StoreUnavailableError,
  type UserRecord,
} from './types.js';

export interface OpenStoreOptions {
  /**
   * Most connections of the PostgreSQL pool (ignored for SQLite).
   * @default 10
   */
  postgresPoolSize?: number;
  /**
   * SQLite's page cache, in KiB (ignored for PostgreSQL).
   * @default 4096
   */
  sqliteCacheKiB?: number;
}

const ACCEPTED = 'sqlite:<path>, sqlite::memory:, sqlite:///absolute/path, postgres://… or postgresql://…';

/**
 * Opens the store named by `DATABASE_URL`: `sqlite:<path>` (relative to the
 * working directory), `sqlite::memory:`, `sqlite:///absolute/path`, or
 * `postgres://…` / `postgresql://…`. Nothing is connected yet; call `migrate()`.
 * The PostgreSQL driver is loaded at the first call of a PostgreSQL store.
 *
 * @throws TypeError naming DATABASE_URL and the accepted forms (credentials never echoed),
 *   or when `postgresPoolSize` is not a positive integer.
 * @example
 * const store = openStore('sqlite:./.wxlogin/wxlogin.db');
 * await store.migrate();
 */
export function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Store {
  if (typeof databaseUrl !== 'string') throw new TypeError(`DATABASE_URL must be a string: ${ACCEPTED}`);
  const lower = databaseUrl.toLowerCase();
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    if (!URL.canParse(databaseUrl)) throw invalid(databaseUrl, 'it is not a valid URL');
    const { postgresPoolSize } = options;
    if (postgresPoolSize !== undefined && !(Number.isSafeInteger(postgresPoolSize) && postgresPoolSize > 0)) {
      throw new TypeError('openStore: postgresPoolSize must be a positive integer');
    }
    return lazyPostgresStore({
      connectionString: databaseUrl,
      ...(postgresPoolSize !== undefined ? { poolSize: postgresPoolSize } : {}),
    });
  }
  if (lower.startsWith('sqlite:')) {
    const rest = databaseUrl.slice('sqlite:'.length);
    const sqlite = (path: string): Store =>
      createSqliteStore({
        path,
        ...(options.sqliteCacheKiB !== undefined ? { cacheSizeKiB: options.sqliteCacheKiB } : {}),
      });
    if (rest === ':memory:') return sqlite(':memory:');
    if (rest.startsWith('//')) {
      // sqlite:///abs/path is an absolute path; sqlite://name would name a host.
      if (!rest.startsWith('///')) throw invalid(databaseUrl, 'use sqlite:<path> or sqlite:///absolute/path');
      return sqlite(rest.slice(2));
    }
    if (rest === '') throw invalid(databaseUrl, 'the path is empty');
    return sqlite(rest);
  }
  throw invalid(databaseUrl, 'unsupported scheme');
}

/**
 * The PostgreSQL store, its module (and with it the `pg` driver) loaded at the
 * first call: a service on SQLite never loads the driver. Until then nothing is
 * connected, as with `createPostgresStore`; closing a store never used loads nothing.
 */
function lazyPostgresStore(options: PostgresStoreOptions): Store {
  let store: Store | undefined;
  let loading: Promise<Store> | undefined;
  let closed = false;
  const load = (): Promise<Store> => {
    if (closed) return Promise.reject(new StoreUnavailableError('PostgreSQL store: closed'));
    loading ??= import('./postgres.js').then(({ createPostgresStore }) => {
      store = createPostgresStore(options);
      return store;
    });
    return loading;
  };
  const use = <T>(call: (loaded: Store) => Promise<T>): Promise<T> =>
    store !== undefined ? call(store) : load().then(call);
  return {
    kind: 'postgres',
    migrate: () => use((s) => s.migrate()),
    ping: () => use((s) => s.ping()),
    close: () => {
      if (loading !== undefined) return use((s) => s.close());
      closed = true;
      return Promise.resolve();
    },
    upsertUserOnLogin: (candidate) => use((s) => s.upsertUserOnLogin(candidate)),
    recordLogin: (login) => use((s) => s.recordLogin(login)),
    getUser: (userId) => use((s) => s.getUser(userId)),
    listUsersByUnionId: (unionId) => use((s) => s.listUsersByUnionId(unionId)),
    updateUserProfile: (userId, fields, now) => use((s) => s.updateUserProfile(userId, fields, now)),
    saveSessionKey: (userId, sealed, now, graceSeconds) =>
      use((s) => s.saveSessionKey(userId, sealed, now, graceSeconds)),
    getSessionKeys: (userId) => use((s) => s.getSessionKeys(userId)),
    createSession: (input) => use((s) => s.createSession(input)),
    getSession: (sessionId) => use((s) => s.getSession(sessionId)),
    revokeSession: (sessionId, now) => use((s) => s.revokeSession(sessionId, now)),
    listRevokedSessionIds: (since) => use((s) => s.listRevokedSessionIds(since)),
    countActiveSessions: (now) => use((s) => s.countActiveSessions(now)),
    getRefreshToken: (id) => use((s) => s.getRefreshToken(id)),
    rotateRefreshToken: (spentId, next, now) => use((s) => s.rotateRefreshToken(spentId, next, now)),
    deleteExpired: (before) => use((s) => s.deleteExpired(before)),
    listSigningKeys: () => use((s) => s.listSigningKeys()),
    addSigningKey: (key, now) => use((s) => s.addSigningKey(key, now)),
    deleteRetiredSigningKeys: (before) => use((s) => s.deleteRetiredSigningKeys(before)),
  };
}

function invalid(databaseUrl: string, reason: string): TypeError {
  return new TypeError(`DATABASE_URL must be one of ${ACCEPTED}; got ${redact(databaseUrl)} (${reason})`);
}

/** Describes a URL without its credentials, query or fragment (a password may hide in any of them). */
function redact(raw: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1];
  if (scheme === undefined) return raw === '' ? 'an empty value' : 'a value without a scheme';
  if (URL.canParse(raw)) {
    const url = new URL(raw);
    if (url.host !== '') return `"${url.protocol}//${url.host}${url.pathname}"`;
  }
  return `a "${scheme}:" value`;
}
