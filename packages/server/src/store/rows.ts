// The one place where database rows (snake_case) become store records
// (camelCase), shared by every SQL backend: both use the same column names.
// PostgreSQL returns BIGINT columns as strings, SQLite as numbers; `Number()`
// takes either (times are seconds, far below 2^53).
import type {
  LoginRecord,
  NewSession,
  RefreshTokenRecord,
  SessionKeyRecord,
  SessionRecord,
  SigningKeyRecord,
  Store,
  UserRecord,
} from './types.js';

type Int = number | string;

export interface UserRow {
  id: string;
  app_id: string;
  open_id: string;
  union_id: string | null;
  nickname: string | null;
  avatar_url: string | null;
  phone_number: string | null;
  pure_phone_number: string | null;
  country_code: string | null;
  created_at: Int;
  updated_at: Int;
}

export interface SessionKeyRow {
  user_id: string;
  current_sealed: string;
  previous_sealed: string | null;
  previous_until: Int;
  updated_at: Int;
}

export interface SessionRow {
  id: string;
  user_id: string;
  app_id: string;
  created_at: Int;
  expires_at: Int;
  revoked_at: Int | null;
}

export interface RefreshTokenRow {
  id: string;
  session_id: string;
  secret_hash: string;
  expires_at: Int;
  spent_at: Int | null;
}

export interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: Int;
  retired_at: Int | null;
}

/** Explicit column lists (never `SELECT *`: a prepared statement must survive an added column). */
export const USER_COLUMNS =
  'id, app_id, open_id, union_id, nickname, avatar_url, phone_number, pure_phone_number, country_code, created_at, updated_at';
export const SESSION_KEY_COLUMNS = 'user_id, current_sealed, previous_sealed, previous_until, updated_at';
export const SESSION_COLUMNS = 'id, user_id, app_id, created_at, expires_at, revoked_at';
export const REFRESH_TOKEN_COLUMNS = 'id, session_id, secret_hash, expires_at, spent_at';
export const SIGNING_KEY_COLUMNS = 'kid, alg, public_jwk, private_jwk_sealed, created_at, retired_at';

const nullableInt = (value: Int | null): number | null => (value === null ? null : Number(value));

export function rowToUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    appId: row.app_id,
    openId: row.open_id,
    unionId: row.union_id,
    nickname: row.nickname,
    avatarUrl: row.avatar_url,
    phoneNumber: row.phone_number,
    purePhoneNumber: row.pure_phone_number,
    countryCode: row.country_code,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function rowToSessionKey(row: SessionKeyRow): SessionKeyRecord {
  return {
    userId: row.user_id,
    current: row.current_sealed,
    previous: row.previous_sealed,
    previousUntil: Number(row.previous_until),
    updatedAt: Number(row.updated_at),
  };
}

export function rowToSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    appId: row.app_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: nullableInt(row.revoked_at),
  };
}

export function rowToRefreshToken(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    secretHash: row.secret_hash,
    expiresAt: Number(row.expires_at),
    spentAt: nullableInt(row.spent_at),
  };
}

export function rowToSigningKey(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg === 'ES256' ? 'ES256' : 'EdDSA',
    publicJwk: row.public_jwk,
    privateJwkSealed: row.private_jwk_sealed,
    createdAt: Number(row.created_at),
    retiredAt: nullableInt(row.retired_at),
  };
}

type ProfileFields = Parameters<Store['updateUserProfile']>[1];

/** Profile fields in the fixed order of the update statements' `(set?, value)` parameter pairs. */
const PROFILE_FIELDS = ['nickname', 'avatarUrl', 'phoneNumber', 'purePhoneNumber', 'countryCode'] as const;

/**
 * The parameters of a profile update: for each field in order, whether to set
 * it and the value. An absent (or `undefined`) key is left alone; `null` clears.
 */
export function profileParams(fields: ProfileFields): Array<boolean | string | null> {
  const params: Array<boolean | string | null> = [];
  for (const key of PROFILE_FIELDS) {
    const value = fields[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new TypeError(`updateUserProfile: ${key} must be a string or null`);
    }
    params.push(value !== undefined, value ?? null);
  }
  return params;
}

/** Beyond this (the year 5138) a "seconds" value is really milliseconds. */
const MAX_SECONDS = 100_000_000_000;

/** Times are whole Unix seconds; a fraction or a millisecond clock is a caller's mistake. */
export function assertSeconds(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= MAX_SECONDS) {
    throw new TypeError(`${name} must be whole Unix seconds (a non-negative integer below 1e11), got ${String(value)}`);
  }
}

/** A new session and its first refresh token arrive together; the token must belong to it. */
export function assertNewSession({ session, refreshToken }: NewSession): void {
  assertSeconds(session.createdAt, 'createSession: session.createdAt');
  assertSeconds(session.expiresAt, 'createSession: session.expiresAt');
  assertSeconds(refreshToken.expiresAt, 'createSession: refreshToken.expiresAt');
  if (refreshToken.sessionId !== session.id) {
    throw new TypeError('createSession: refreshToken.sessionId must be session.id');
  }
}

/** The session and first refresh token of a recorded login, for `user`. */
export function loginSession(login: LoginRecord, user: { id: string; appId: string }): NewSession | null {
  const { session } = login;
  if (session === null) return null;
  const { refreshToken } = session;
  return {
    session: {
      id: session.id,
      userId: user.id,
      appId: user.appId,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      revokedAt: null,
    },
    refreshToken: { ...refreshToken, sessionId: session.id, spentAt: null },
  };
}

export function assertLoginRecord(login: LoginRecord): void {
  assertSeconds(login.user.now, 'recordLogin: user.now');
  assertSeconds(login.graceSeconds, 'recordLogin: graceSeconds');
  if (login.session !== null) {
    assertSeconds(login.session.createdAt, 'recordLogin: session.createdAt');
    assertSeconds(login.session.expiresAt, 'recordLogin: session.expiresAt');
    assertSeconds(login.session.refreshToken.expiresAt, 'recordLogin: session.refreshToken.expiresAt');
  }
}
