/**
 * The storage interface of the login service: a few domain-named operations,
 * each with the guarantee it gives when two callers race. Every backend
 * (SQLite, PostgreSQL) implements all of it and passes the same conformance
 * suite (`conformance.ts`). Times are Unix **seconds**; ids are opaque strings
 * made by the caller. Absence is `null`, never an exception; a backend failure
 * throws `StoreUnavailableError`. A time that is not whole seconds (a fraction,
 * or a millisecond clock) is a caller's mistake and throws `TypeError`.
 */

/** A user of one mini program (one row per appId + openid). */
export interface UserRecord {
  id: string;
  appId: string;
  openId: string;
  unionId: string | null;
  nickname: string | null;
  avatarUrl: string | null;
  phoneNumber: string | null;
  purePhoneNumber: string | null;
  countryCode: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The sealed (AES-256-GCM, see `crypto/seal.ts`) session keys of a user. Never plain text. */
export interface SessionKeyRecord {
  userId: string;
  /** The session key of the user's latest login, sealed. */
  current: string;
  /** The one before it, sealed, kept for a grace window after a re-login; null when none. */
  previous: string | null;
  /** Until when (seconds) `previous` may still be used; 0 when there is none. */
  previousUntil: number;
  updatedAt: number;
}

/** A login session: one per successful login, ended by logout, refresh-token reuse or expiry. */
export interface SessionRecord {
  id: string;
  userId: string;
  appId: string;
  createdAt: number;
  /** When the session's latest refresh token expires (seconds). */
  expiresAt: number;
  /** When it was revoked, or null while active. */
  revokedAt: number | null;
}

/** A refresh token: `<id>.<secret>` on the wire; only a hash of the secret is stored. */
export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  /** Hex SHA-256 of the secret part. */
  secretHash: string;
  expiresAt: number;
  /** When it was spent (exchanged for a new pair), or null while unspent. */
  spentAt: number | null;
}

/** A JWT signing key, its private part sealed. */
export interface SigningKeyRecord {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** Private JWK as JSON text, sealed. */
  privateJwkSealed: string;
  createdAt: number;
  /** When it stopped signing (a newer key took over), or null for the active key. */
  retiredAt: number | null;
}

export interface NewSession {
  session: SessionRecord;
  refreshToken: RefreshTokenRecord;
}

/** The user of a login, as WeChat named them; `id` is used only when the user is new. */
export interface LoginCandidate {
  id: string;
  appId: string;
  openId: string;
  unionId: string | null;
  now: number;
}

/** Everything a login writes, recorded at once by `Store.recordLogin`. */
export interface LoginRecord {
  user: LoginCandidate;
  /**
   * Called inside the transaction with the user's id and current sealed
   * session key (null when none): answers the sealed key to save (as
   * `saveSessionKey` with `graceSeconds`), or null when the key WeChat gave is
   * the current one (nothing is written, `previous` keeps its window). It must
   * be synchronous and should not throw (a throw aborts the whole login). It
   * may be called more than once, when the store runs the transaction again
   * (a deadlock retried, a group commit replayed after another write of the
   * group failed): only the answer of the run that commits counts, so it must
   * have no effect beyond its answer.
   */
  sessionKey: (userId: string, currentSealed: string | null) => string | null;
  graceSeconds: number;
  /** The new session with its first refresh token, for this user and app; null records no session. */
  session: {
    id: string;
    createdAt: number;
    expiresAt: number;
    refreshToken: { id: string; secretHash: string; expiresAt: number };
  } | null;
}

/**
 * The durable store. Each method is atomic on its own.
 */
export interface Store {
  /** Backend name for logs and metrics: 'sqlite' | 'postgres'. */
  readonly kind: string;

  /** Applies pending migrations; safe to call at every start and from several instances at once. */
  migrate(): Promise<void>;

  /** Cheap liveness check of the backend (for /readyz); throws StoreUnavailableError when unreachable. */
  ping(): Promise<void>;

  close(): Promise<void>;

  // ── users ────────────────────────────────────────────────────────────────

  /**
   * Finds the user of (appId, openId) or creates it with `candidate.id`.
   * Race: of any number of concurrent calls for the same (appId, openId), exactly
   * one answers `created: true`; all answer the same user id. A non-null
   * `unionId` is recorded on an existing user that had none (or a different one).
   */
  upsertUserOnLogin(candidate: LoginCandidate): Promise<{ user: UserRecord; created: boolean }>;

  /**
   * A whole login in one transaction: `upsertUserOnLogin(login.user)`, then the
   * session key (see `LoginRecord.sessionKey`), then, when given, the new
   * session and its first refresh token (`userId`/`appId` of the user, unspent,
   * not revoked). All of it is stored, or none of it. Races as
   * `upsertUserOnLogin` and `saveSessionKey`.
   */
  recordLogin(login: LoginRecord): Promise<{ user: UserRecord; created: boolean }>;

  getUser(userId: string): Promise<UserRecord | null>;

  /** Users of every app sharing this unionId, oldest first (the cross-app link). */
  listUsersByUnionId(unionId: string): Promise<UserRecord[]>;

  /**
   * Sets the given profile fields (absent keys are left alone; null clears) and
   * `updatedAt`; returns the updated user, or null when there is no such user.
   */
  updateUserProfile(
    userId: string,
    fields: Partial<Pick<UserRecord, 'nickname' | 'avatarUrl' | 'phoneNumber' | 'purePhoneNumber' | 'countryCode'>>,
    now: number,
  ): Promise<UserRecord | null>;

  // ── WeChat session keys (sealed) ─────────────────────────────────────────

  /**
   * Records the user's new sealed session key. When it differs from the current
   * one, the current one becomes `previous` until `now + graceSeconds`.
   * Race: concurrent saves are serialised; the last one wins and `previous` is
   * always a key that really was current before it.
   * Keys are compared as sealed text. Sealing is randomised, so a fresh seal of
   * an unchanged session key counts as a new key (and evicts `previous`): when
   * the new plain key equals the opened `current`, skip the call (or pass
   * `current` itself).
   */
  saveSessionKey(userId: string, sealed: string, now: number, graceSeconds: number): Promise<void>;

  getSessionKeys(userId: string): Promise<SessionKeyRecord | null>;

  // ── sessions and refresh tokens ──────────────────────────────────────────

  /**
   * Stores a new session with its first refresh token, atomically. Both are
   * stored as new (not revoked, not spent). `refreshToken.sessionId` must be
   * `session.id` (`TypeError` otherwise).
   */
  createSession(input: NewSession): Promise<void>;

  getSession(sessionId: string): Promise<SessionRecord | null>;

  /** Revokes a session (idempotent: a second call keeps the first `revokedAt`). Returns false when there is no such session. */
  revokeSession(sessionId: string, now: number): Promise<boolean>;

  /** Sessions revoked at or after `since` (seconds); used to warm revocation caches at start. */
  listRevokedSessionIds(since: number): Promise<string[]>;

  /** How many sessions are neither revoked nor expired at `now` (for the active-sessions metric). */
  countActiveSessions(now: number): Promise<number>;

  getRefreshToken(id: string): Promise<RefreshTokenRecord | null>;

  /**
   * Spends refresh token `spentId` and stores `next` in its place, moving the
   * session's `expiresAt` to `next.expiresAt` — only if `spentId` is unspent and
   * its session not revoked. Race: of two concurrent calls with the same
   * `spentId`, exactly one answers true; the other answers false and writes
   * nothing (the caller treats that as reuse).
   * The store checks neither expiry nor the secret (the caller does, first).
   * `next` is stored unspent; `next.sessionId` must be the spent token's session
   * (`TypeError` otherwise).
   */
  rotateRefreshToken(spentId: string, next: RefreshTokenRecord, now: number): Promise<boolean>;

  /** Deletes sessions and refresh tokens that expired before `before`; returns how many sessions went. */
  deleteExpired(before: number): Promise<number>;

  // ── signing keys ─────────────────────────────────────────────────────────

  /** All signing keys, newest first (the active one has `retiredAt === null`). */
  listSigningKeys(): Promise<SigningKeyRecord[]>;

  /**
   * Adds `key` as the active signing key and retires the previous active one at `now`.
   * Race: concurrent calls are serialised; exactly one key stays active.
   * `key.retiredAt` is ignored (the key is stored active).
   */
  addSigningKey(key: SigningKeyRecord, now: number): Promise<void>;

  /** Deletes retired keys retired before `before` (their tokens have all expired). */
  deleteRetiredSigningKeys(before: number): Promise<number>;
}

/** Thrown when the backend cannot be reached or fails; maps to 503 `service_unavailable`. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'store_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
