/**
 * `verifyAccessToken` for other Node services: checks a wxlogin access token
 * against the service's JWKS (fetched once, cached, refetched for an unknown
 * kid) without calling the service per request. It checks signature, issuer,
 * audience and expiry; revocation by logout is known only to the service
 * (ask `GET /v1/auth/session` where a logout must count at once).
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface VerifiedAccessToken {
  userId: string;
  sessionId: string;
  appId: string;
  openId: string;
  /** Unix seconds */
  expiresAt: number;
  claims: JWTPayload;
}

export interface AccessTokenVerifierOptions {
  /** e.g. `https://login.example.com/.well-known/jwks.json` */
  jwksUrl: string | URL;
  /** @default 'wxlogin' */
  issuer?: string;
  /** @default 'wxlogin' */
  audience?: string;
  /** Verified tokens remembered at most; @default 10000 */
  cacheSize?: number;
  /** ms clock; @default Date.now */
  now?: () => number;
}

/** Thrown for any token that does not verify; `code` is always `unauthorized`. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  readonly code = 'unauthorized' as const;
}

export type AccessTokenVerifier = (token: string) => Promise<VerifiedAccessToken>;

export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, VerifiedAccessToken>();
  return async (token) => {
    const hit = cache.get(token);
    if (hit !== undefined) {
      if (hit.expiresAt * 1000 > now()) return hit;
      cache.delete(token);
      throw new AccessTokenError('access token expired');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer ?? 'wxlogin',
        audience: options.audience ?? 'wxlogin',
        algorithms: ['EdDSA', 'ES256'],
        currentDate: new Date(now()),
        requiredClaims: ['sub', 'sid', 'exp'],
      }));
    } catch (cause) {
      throw new AccessTokenError('access token is invalid', { cause });
    }
    const { sid, appid, openid } = payload as Record<string, unknown>;
    if (
      typeof payload.sub !== 'string' ||
      typeof sid !== 'string' ||
      typeof appid !== 'string' ||
      typeof openid !== 'string'
    ) {
      throw new AccessTokenError('access token lacks wxlogin claims');
    }
    const verified = {
      userId: payload.sub,
      sessionId: sid,
      appId: appid,
      openId: openid,
      expiresAt: payload.exp ?? 0,
      claims: payload,
    };
    if (cache.size >= cacheSize) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(token, verified);
    return verified;
  };
}

/** One-shot form; prefer `createAccessTokenVerifier` once per process (it caches keys and tokens). */
export async function verifyAccessToken(
  token: string,
  options: AccessTokenVerifierOptions,
): Promise<VerifiedAccessToken> {
  return createAccessTokenVerifier(options)(token);
}
