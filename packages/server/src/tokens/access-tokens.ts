/**
 * Access tokens: JWTs signed with an asymmetric key (EdDSA/Ed25519 by default,
 * or ES256), the header's `kid` naming a key of the JWKS. Signing keys live in
 * the store with their private part sealed; rotation adds a new active key and
 * keeps the old ones verifying until their tokens have expired.
 *
 * Signing: the compact JWS is assembled here and its signature made by
 * node:crypto's asynchronous `sign`, which runs on libuv's thread pool, so the
 * event loop spends ~11 µs per token instead of the ~60 µs of a synchronous
 * signature (fast-jwt's, or jose's). Verification goes through fast-jwt, which
 * calls node:crypto synchronously (one verifier per key, built once); tests
 * check every token against jose as well. Keys are made, exported as JWK and
 * imported with node:crypto itself.
 *
 * A token that verified once is remembered (bounded cache keyed by the token,
 * dropped at its expiry), so the hot path does not verify a signature again.
 * Revocation is not this module's concern: callers check the session id.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomUUID,
  sign,
} from 'node:crypto';
import { createVerifier } from 'fast-jwt';
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

/** A public key as served in the JWKS. */
export type Jwk = JsonWebKey & { kid: string; alg: string; use?: string };

interface LoadedKey {
  record: SigningKeyRecord;
  jwk: Jwk;
  sign: (claims: AccessTokenClaims) => Promise<string>;
  verify: (token: string) => unknown;
}

const SIGNING_KEY_CONTEXT = 'signing-key:';
const RELOAD_INTERVAL_MS = 10_000;
const MAX_TOKEN_LENGTH = 4096;
const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'sid', 'appid', 'openid', 'iat', 'exp', 'jti'];

function generateKeys(alg: AccessTokenOptions['alg']): { publicKey: KeyObject; privateKey: KeyObject } {
  return alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const pem = (key: KeyObject, type: 'spki' | 'pkcs8'): string => key.export({ format: 'pem', type }) as string;

/**
 * The signer of one key: `header.payload` in base64url (the header, with the
 * key's `alg` and `kid`, made once), then the signature from node:crypto's
 * asynchronous `sign` on libuv's thread pool. ES256 signatures are JOSE's
 * fixed-width r‖s (`ieee-p1363`), not DER.
 */
function jwsSigner(alg: AccessTokenOptions['alg'], kid: string, privateKey: KeyObject) {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid })).toString('base64url');
  const algorithm = alg === 'EdDSA' ? null : 'sha256';
  const key = alg === 'EdDSA' ? privateKey : { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return (claims: AccessTokenClaims): Promise<string> => {
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return new Promise((resolve, reject) => {
      sign(algorithm, Buffer.from(input), key, (error, signature) => {
        if (error) reject(error);
        else resolve(`${input}.${signature.toString('base64url')}`);
      });
    });
  };
}

const isSigningAlg = (alg: string): alg is AccessTokenOptions['alg'] => alg === 'EdDSA' || alg === 'ES256';

/** The `kid` of a compact JWS's protected header, or undefined when it has none or is malformed. */
function headerKid(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    const kid = (header as { kid?: unknown } | null)?.kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

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
    const { alg } = this.options;
    const nowSeconds = Math.floor(this.options.now() / 1000);
    const { publicKey, privateKey } = generateKeys(alg);
    const kid = randomUUID();
    const publicJwk: Jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
    const privateJwk: Jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg };
    await this.store.addSigningKey(
      {
        kid,
        alg,
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
      const loaded = this.keys.get(record.kid) ?? this.load(record);
      const current = { ...loaded, record };
      next.set(record.kid, current);
      if (record.retiredAt === null && active === null) active = current;
    }
    this.keys = next;
    this.active = active;
    this.lastReload = this.options.now();
  }

  private load(record: SigningKeyRecord): LoadedKey {
    const jwk = JSON.parse(record.publicJwk) as Jwk;
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    let opened: string;
    try {
      opened = this.sealer.open(record.privateJwkSealed, SIGNING_KEY_CONTEXT + record.kid);
    } catch (cause) {
      throw new Error(
        'WXLOGIN_SECRET cannot open the stored signing keys: was the secret changed? Keep the old one in WXLOGIN_PREVIOUS_SECRETS',
        { cause },
      );
    }
    const privateKey = createPrivateKey({ key: JSON.parse(opened) as JsonWebKey, format: 'jwk' });
    const algorithm = record.alg;
    if (!isSigningAlg(algorithm)) throw new Error(`signing key ${record.kid} has an unsupported algorithm`);
    return {
      record,
      jwk,
      sign: jwsSigner(algorithm, record.kid, privateKey),
      verify: createVerifier({
        key: pem(publicKey, 'spki'),
        // a key verifies only the algorithm it was made for
        algorithms: [algorithm],
        allowedIss: this.options.issuer,
        allowedAud: this.options.audience,
        requiredClaims: REQUIRED_CLAIMS,
        // time is judged below, on the injected clock
        ignoreExpiration: true,
        ignoreNotBefore: true,
        cache: false,
      }),
    };
  }

  /** The public keys, as served at /.well-known/jwks.json. */
  jwks(): { keys: Jwk[] } {
    return { keys: [...this.keys.values()].map((k) => k.jwk) };
  }

  async sign(subject: { userId: string; sessionId: string; appId: string; openId: string }): Promise<string> {
    const sign = this.active?.sign;
    if (sign === undefined) throw new Error('no active signing key (init() not called)');
    const iat = Math.floor(this.options.now() / 1000);
    return sign({
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: subject.userId,
      sid: subject.sessionId,
      appid: subject.appId,
      openid: subject.openId,
      iat,
      exp: iat + this.options.ttlSeconds,
      jti: randomUUID(),
    });
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
    if (token.length > MAX_TOKEN_LENGTH) return null;
    let pending = this.verifying.get(token);
    if (pending !== undefined) return pending;
    const fresh = this.verifyFresh(token);
    // a known key verifies at once; only an unknown kid waits for the keys to be reloaded
    if (!(fresh instanceof Promise)) return this.remember(token, fresh);
    pending = fresh.then((claims) => {
      this.verifying.delete(token);
      return this.remember(token, claims);
    });
    this.verifying.set(token, pending);
    return pending;
  }

  private remember(token: string, claims: AccessTokenClaims | null): AccessTokenClaims | null {
    if (claims !== null) {
      if (this.verified.size >= this.cacheSize) this.evict(this.options.now() / 1000);
      this.verified.set(token, claims);
    }
    return claims;
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

  /** Verifies `token` now when its key is loaded; when its kid is unknown, after reloading the keys. */
  private verifyFresh(token: string): AccessTokenClaims | null | Promise<AccessTokenClaims | null> {
    const kid = headerKid(token);
    if (kid === undefined) return null;
    const key = this.keys.get(kid);
    if (key !== undefined) return this.verifyWith(key, token);
    // a failed reload (the store unreachable) refuses the token, as an unknown key does
    return this.keyFor(kid).then(
      (loaded) => (loaded === undefined ? null : this.verifyWith(loaded, token)),
      () => null,
    );
  }

  private verifyWith(key: LoadedKey, token: string): AccessTokenClaims | null {
    let payload: unknown;
    try {
      payload = key.verify(token);
    } catch {
      return null;
    }
    const claims = toClaims(payload);
    if (claims === null) return null;
    const nowSeconds = this.options.now() / 1000;
    const { nbf } = payload as { nbf?: unknown };
    if (claims.exp <= nowSeconds || (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds))) return null;
    return claims;
  }

  /** The key named `kid`; an unknown kid reloads the keys (at most every 10 s) in case another instance rotated. */
  private async keyFor(kid: string): Promise<LoadedKey | undefined> {
    const key = this.keys.get(kid);
    if (key !== undefined || this.options.now() - this.lastReload <= RELOAD_INTERVAL_MS) return key;
    this.reloading ??= this.reload().finally(() => {
      this.reloading = null;
    });
    await this.reloading;
    return this.keys.get(kid);
  }
}

function toClaims(payload: unknown): AccessTokenClaims | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { iss, sub, aud, sid, appid, openid, iat, exp, jti } = payload as Record<string, unknown>;
  const strings = [iss, sub, aud, jti, sid, appid, openid];
  if (strings.some((v) => typeof v !== 'string') || typeof iat !== 'number' || typeof exp !== 'number') return null;
  return { iss, sub, aud, sid, appid, openid, iat, exp, jti } as AccessTokenClaims;
}
