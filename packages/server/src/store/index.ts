import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export { createPostgresStore, type PostgresStoreOptions } from './postgres.js';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite.js';
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
}

const ACCEPTED = 'sqlite:<path>, sqlite::memory:, sqlite:///absolute/path, postgres://… or postgresql://…';

/**
 * Opens the store named by `DATABASE_URL`: `sqlite:<path>` (relative to the
 * working directory), `sqlite::memory:`, `sqlite:///absolute/path`, or
 * `postgres://…` / `postgresql://…`. Nothing is connected yet; call `migrate()`.
 *
 * @throws TypeError naming DATABASE_URL and the accepted forms (credentials never echoed).
 * @example
 * const store = openStore('sqlite:./.wxlogin/wxlogin.db');
 * await store.migrate();
 */
export function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Store {
  if (typeof databaseUrl !== 'string') throw new TypeError(`DATABASE_URL must be a string: ${ACCEPTED}`);
  const lower = databaseUrl.toLowerCase();
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    if (!URL.canParse(databaseUrl)) throw invalid(databaseUrl, 'it is not a valid URL');
    return createPostgresStore({
      connectionString: databaseUrl,
      ...(options.postgresPoolSize !== undefined ? { poolSize: options.postgresPoolSize } : {}),
    });
  }
  if (lower.startsWith('sqlite:')) {
    const rest = databaseUrl.slice('sqlite:'.length);
    if (rest === ':memory:') return createSqliteStore({ path: ':memory:' });
    if (rest.startsWith('//')) {
      // sqlite:///abs/path is an absolute path; sqlite://name would name a host.
      if (!rest.startsWith('///')) throw invalid(databaseUrl, 'use sqlite:<path> or sqlite:///absolute/path');
      return createSqliteStore({ path: rest.slice(2) });
    }
    if (rest === '') throw invalid(databaseUrl, 'the path is empty');
    return createSqliteStore({ path: rest });
  }
  throw invalid(databaseUrl, 'unsupported scheme');
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
