/**
 * The token pair as the SDK keeps it (in memory and in `wx` storage), with
 * absolute expiry times taken from the device clock when the pair arrived.
 */
import type { LoginUser, TokenResponse } from '@wxlogin/protocol';

export interface StoredSession {
  v: 1;
  accessToken: string;
  refreshToken: string;
  /** ms (device clock) when the pair was received */
  issuedAt: number;
  /** ms (device clock) */
  accessTokenExpiresAt: number;
  /** ms (device clock) */
  refreshTokenExpiresAt: number;
  user: LoginUser;
}

/** The stored form of a login/refresh answer received at `nowMs`. */
export function sessionFromTokens(tokens: TokenResponse, nowMs: number): StoredSession {
  return {
    v: 1,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    issuedAt: nowMs,
    accessTokenExpiresAt: nowMs + tokens.expiresIn * 1000,
    refreshTokenExpiresAt: nowMs + tokens.refreshExpiresIn * 1000,
    user: tokens.user,
  };
}

/**
 * True while the access token can be sent as is: until `marginSeconds` before its expiry, the margin being
 * at most a tenth of its lifetime (so short-lived tokens stay usable) and covering latency and clock jumps.
 */
export function accessTokenUsable(session: StoredSession, nowMs: number, marginSeconds: number): boolean {
  const lifetimeMs = session.accessTokenExpiresAt - session.issuedAt;
  const marginMs = Math.min(marginSeconds * 1000, lifetimeMs / 10);
  return nowMs >= session.issuedAt && nowMs < session.accessTokenExpiresAt - marginMs;
}

/** True while the refresh token has not run out (the server has the final word). */
export function refreshTokenUsable(session: StoredSession, nowMs: number): boolean {
  return nowMs < session.refreshTokenExpiresAt;
}

/** The stored session, or null for anything else (absent: `''`; corrupt; another version). */
export function parseStoredSession(value: unknown): StoredSession | null {
  if (!isObject(value) || value.v !== 1) return null;
  const { accessToken, refreshToken, issuedAt, accessTokenExpiresAt, refreshTokenExpiresAt, user } = value;
  if (!nonEmpty(accessToken) || !nonEmpty(refreshToken)) return null;
  if (!finite(issuedAt) || !finite(accessTokenExpiresAt) || !finite(refreshTokenExpiresAt)) return null;
  if (!isLoginUser(user)) return null;
  return { v: 1, accessToken, refreshToken, issuedAt, accessTokenExpiresAt, refreshTokenExpiresAt, user };
}

/** The login/refresh answer, or null when the body is not what the contract says. */
export function parseTokenResponse(value: unknown): TokenResponse | null {
  if (!isObject(value)) return null;
  const { accessToken, refreshToken, expiresIn, refreshExpiresIn, user } = value;
  if (!nonEmpty(accessToken) || !nonEmpty(refreshToken)) return null;
  if (!finite(expiresIn) || expiresIn <= 0 || !finite(refreshExpiresIn) || refreshExpiresIn <= 0) return null;
  if (!isLoginUser(user)) return null;
  return { accessToken, tokenType: 'Bearer', expiresIn, refreshToken, refreshExpiresIn, user };
}

function isLoginUser(value: unknown): value is LoginUser {
  if (!isObject(value)) return false;
  const { id, appId, openid, unionid, created } = value;
  return (
    nonEmpty(id) &&
    typeof appId === 'string' &&
    typeof openid === 'string' &&
    (unionid === null || typeof unionid === 'string') &&
    typeof created === 'boolean'
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
