// Versioned schema migrations, one ordered list per SQL dialect. Each backend's
// `migrate()` records applied versions in `schema_migrations` and applies the
// pending ones in order, one transaction each. A released migration is never
// edited: a change to the schema is a new entry with the next version.
//
// Both dialects use the same table and column names, so `rows.ts` maps rows of
// either. Times are integer Unix seconds (BIGINT in PostgreSQL).

export interface Migration {
  /** Position in the list, starting at 1, no gaps. */
  version: number;
  /** Short snake_case description, recorded beside the version. */
  name: string;
  /** One or more statements, run as one script inside the migration's transaction. */
  sql: string;
}

/** SQLite: STRICT tables, so a value of the wrong type is refused rather than coerced. */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial_schema',
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  open_id TEXT NOT NULL,
  union_id TEXT,
  nickname TEXT,
  avatar_url TEXT,
  phone_number TEXT,
  pure_phone_number TEXT,
  country_code TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (app_id, open_id)
) STRICT;
CREATE INDEX users_union_id_idx ON users (union_id) WHERE union_id IS NOT NULL;

CREATE TABLE session_keys (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  current_sealed TEXT NOT NULL,
  previous_sealed TEXT,
  previous_until INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  spent_at INTEGER
) STRICT;
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  alg TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
  public_jwk TEXT NOT NULL,
  private_jwk_sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
) STRICT;
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
`,
  },
];

/**
 * PostgreSQL: statements are unqualified; the runner sets `search_path` to the
 * store's schema for the migration's transaction.
 */
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial_schema',
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL,
  open_id TEXT NOT NULL,
  union_id TEXT,
  nickname TEXT,
  avatar_url TEXT,
  phone_number TEXT,
  pure_phone_number TEXT,
  country_code TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  CONSTRAINT users_app_id_open_id_key UNIQUE (app_id, open_id)
);
CREATE INDEX users_union_id_idx ON users (union_id) WHERE union_id IS NOT NULL;

CREATE TABLE session_keys (
  user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  current_sealed TEXT NOT NULL,
  previous_sealed TEXT,
  previous_until BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  app_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  spent_at BIGINT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  alg TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
  public_jwk TEXT NOT NULL,
  private_jwk_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
`,
  },
];

/** Throws unless the list is numbered 1, 2, 3… in order (checked by every `migrate()`). */
export function assertMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
    }
  });
}
