/**
 * Access tokens: JWTs signed with an asymmetric key (EdDSA/Ed25519 by default,
 * or ES256), the header's `kid` naming a key of the JWKS. Signing keys live in
 * the store with their private part sealed; rotation adds a new active key and
 * keeps the old ones verifying until their tokens have expired.
 *
 * A token that verified once is remembered (bounded cache keyed by the token,
 * dropped at its expiry), so the hot path does not verify a signature again.
 * Revocation is not this module's concern: callers check the session id.
 */
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose';
import type { Sealer } from '../crypto/seal.js';
import type { SigningKeyRecord, Store } from '../store/types.js';

export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  sid: string;
  appid: string;
  openid: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  alg: 'EdDSA' | 'ES256';
  /** ms clock */
  now: () => number;
  /** Verified tokens remembered at most; @default 20000 */
  cacheSize?: number;
}

type Key = CryptoKey | KeyObject;
interface LoadedKey {
  record: SigningKeyRecord;
  publicKey: Key;
  privateKey: Key | null;
  jwk: JWK;
}

const SIGNING_KEY_CONTEXT = 'signing-key:';
const RELOAD_INTERVAL_MS = 10_000;

export class AccessTokens {
  private keys = new Map<string, LoadedKey>();
  private active: LoadedKey | null = null;
  private readonly verified = new Map<string, AccessTokenClaims>();
  /** First verifications in progress, shared by concurrent requests carrying the same new token. */
  private readonly verifying = new Map<string, Promise<AccessTokenClaims | null>>();
  private readonly cacheSize: number;
  private lastReload = 0;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly options: AccessTokenOptions,
  ) {
    this.cacheSize = options.cacheSize ?? 20_000;
  }

  /** Loads the signing keys, creating the first one when there is none. */
  async init(): Promise<void> {
    await this.reload();
    if (this.active === null) {
      await this.rotate();
    }
  }

  /** Creates a new active signing key; earlier keys keep verifying. Returns its kid. */
  async rotate(): Promise<string> {
    const nowSeconds = Math.floor(this.options.now() / 1000);
    const { publicKey, privateKey } = await generateKeyPair(this.options.alg, {
      extractable: true,
      ...(this.options.alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.options.alg, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: this.options.alg };
    await this.store.addSigningKey(
      {
        kid,
        alg: this.options.alg,
        publicJwk: JSON.stringify(publicJwk),
        privateJwkSealed: this.sealer.seal(JSON.stringify(privateJwk), SIGNING_KEY_CONTEXT + kid),
        createdAt: nowSeconds,
        retiredAt: null,
      },
      nowSeconds,
    );
    await this.reload();
    return kid;
  }

  /** Reloads keys from the store (picks up rotations made by other instances). */
  async reload(): Promise<void> {
    const records = await this.store.listSigningKeys();
    const next = new Map<string, LoadedKey>();
    let active: LoadedKey | null = null;
    for (const record of records) {
      const loaded = this.keys.get(record.kid) ?? (await this.load(record));
      const current = { ...loaded, record };
      next.set(record.kid, current);
      if (record.retiredAt === null && active === null) active = current;
    }
    this.keys = next;
    this.active = active;
    this.lastReload = this.options.now();
  }

  private async load(record: SigningKeyRecord): Promise<LoadedKey> {
    const jwk = JSON.parse(record.publicJwk) as JWK;
    const publicKey = await importJWK(jwk, record.alg);
    let opened: string;
    try {
      opened = this.sealer.open(record.privateJwkSealed, SIGNING_KEY_CONTEXT + record.kid);
    } catch (cause) {
      throw new Error(
        'WXLOGIN_SECRET cannot open the stored signing keys: was the secret changed? Keep the old one in WXLOGIN_PREVIOUS_SECRETS',
        { cause },
      );
    }
    const privateJwk = JSON.parse(opened) as JWK;
    const privateKey = await importJWK(privateJwk, record.alg);
    return { record, jwk, publicKey: publicKey as Key, privateKey: privateKey as Key };
  }

  /** The public keys, as served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.jwk) };
  }

  async sign(subject: { userId: string; sessionId: string; appId: string; openId: string }): Promise<string> {
    const key = this.active;
    if (key === null || key.privateKey === null) throw new Error('no active signing key (init() not called)');
    const iat = Math.floor(this.options.now() / 1000);
    return new SignJWT({ sid: subject.sessionId, appid: subject.appId, openid: subject.openId })
      .setProtectedHeader({ alg: key.record.alg, kid: key.record.kid, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(subject.userId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.options.ttlSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  /**
   * Verifies a token: signature under a known key with that key's algorithm,
   * issuer, audience, expiry and the claims' types. Null for any invalid token.
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    const nowSeconds = this.options.now() / 1000;
    const cached = this.verified.get(token);
    if (cached !== undefined) {
      if (cached.exp > nowSeconds) return cached;
      this.verified.delete(token);
      return null;
    }
    if (token.length > 4096) return null;
    let pending = this.verifying.get(token);
    if (pending === undefined) {
      pending = this.verifyFresh(token).then((claims) => {
        this.verifying.delete(token);
        if (claims !== null) {
          if (this.verified.size >= this.cacheSize) this.evict(this.options.now() / 1000);
          this.verified.set(token, claims);
        }
        return claims;
      });
      this.verifying.set(token, pending);
    }
    return pending;
  }

  /** Drops expired entries, then the oldest ones, to stay under the cache bound. */
  private evict(nowSeconds: number): void {
    for (const [token, claims] of this.verified) {
      if (claims.exp <= nowSeconds) this.verified.delete(token);
    }
    const excess = this.verified.size - Math.floor(this.cacheSize * 0.9);
    if (excess <= 0) return;
    let dropped = 0;
    for (const token of this.verified.keys()) {
      if (dropped++ >= excess) break;
      this.verified.delete(token);
    }
  }

  private async verifyFresh(token: string): Promise<AccessTokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header.kid, header.alg), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ['EdDSA', 'ES256'],
        currentDate: new Date(this.options.now()),
        requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      });
      return toClaims(payload);
    } catch {
      return null;
    }
  }

  private async keyFor(kid: string | undefined, alg: string | undefined): Promise<Key> {
    if (kid === undefined) throw new Error('no kid');
    let key = this.keys.get(kid);
    if (key === undefined && this.options.now() - this.lastReload > RELOAD_INTERVAL_MS) {
      this.reloading ??= this.reload().finally(() => {
        this.reloading = null;
      });
      await this.reloading;
      key = this.keys.get(kid);
    }
    // a key verifies only the algorithm it was made for
    if (key === undefined || key.record.alg !== alg) throw new Error('unknown key');
    return key.publicKey;
  }
}

function toClaims(payload: JWTPayload): AccessTokenClaims | null {
  const { iss, sub, aud, iat, exp, jti } = payload;
  const { sid, appid, openid } = payload as Record<string, unknown>;
  const strings = [iss, sub, aud, jti, sid, appid, openid];
  if (strings.some((v) => typeof v !== 'string') || typeof iat !== 'number' || typeof exp !== 'number') return null;
  return { iss, sub, aud, sid, appid, openid, iat, exp, jti } as AccessTokenClaims;
}
