/**
 * The login service's domain logic, independent of HTTP: exchanging login
 * codes, issuing and rotating tokens, revoking sessions and handling the
 * user's open data under the stored (sealed) session key.
 */
import type { LoginUser, PhoneResponse, Profile, SessionInfo, TokenResponse } from '@wxlogin/protocol';
import {
  decryptOpenData,
  OpenDataError,
  type OpenDataErrorReason,
  verifySignature,
  type WechatClient,
  WechatError,
} from '@wxlogin/wechat';
import {
  codeDigest,
  issueRefreshToken,
  parseRefreshToken,
  type RandomBytes,
  secretMatches,
  sortableId,
} from '../crypto/tokens.js';
import { ApiError, fromStorageFailure, fromWechatError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { CodeOutcome } from '../state/types.js';
import type { SessionRecord, UserRecord } from '../store/types.js';
import type { AccessTokenClaims } from '../tokens/access-tokens.js';
import { LoopLoad } from './loop-load.js';
import { TurnGate } from './turn-gate.js';

/** How long a claimed code may stay in flight before another request may try it (ms). */
const CODE_IN_FLIGHT_MS = 30_000;
/** How long a redeemed code is remembered (ms): WeChat's codes live 5 minutes. */
const CODE_REDEEMED_MS = 6 * 60_000;
/**
 * Most logins that go on from WeChat's answer to storing and signing in one
 * turn of the event loop (see TurnGate): fewer while the loop has room, so
 * that each group is committed, signed and answered sooner, more once it is
 * busy (over `BUSY_LOOP` of the last 100 ms), so that the group commits stay
 * large where the commits' cost adds up. Measured with the benchmark: a fixed
 * 4 gave ~1% more logins at 100 ms upstream than a fixed 8 but ~13% fewer at
 * 0 ms, where the loop is saturated; 16 and no gate did worse at 100 ms
 * (docs/architecture.md, "Bursts of WeChat answers").
 */
const LOGINS_PER_TURN = 4;
const LOGINS_PER_TURN_BUSY = 8;
const BUSY_LOOP = 0.7;

/** The turn gate's count for an event loop this busy (its utilization, 0 to 1). */
export const loginsPerTurn = (loopUtilization: number): number =>
  loopUtilization >= BUSY_LOOP ? LOGINS_PER_TURN_BUSY : LOGINS_PER_TURN;

export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The runtime's parts the service works with, plus logging, clock and randomness. */
export interface AuthServiceDeps
  extends Pick<
    Runtime,
    'config' | 'store' | 'state' | 'sealer' | 'tokens' | 'revocations' | 'users' | 'wechat' | 'metrics'
  > {
  logger: ServiceLogger;
  now: () => number;
  random: RandomBytes;
}

/** The authenticated caller of a Bearer request. */
export interface Caller {
  claims: AccessTokenClaims;
}

const sessionKeyContext = (userId: string): string => `session-key:${userId}`;
const loginLimitKey = (appId: string, openId: string): string => `login:${appId}:${openId}`;

/** A session opened by the login that exchanged the code. */
interface IssuedSession {
  user: UserRecord;
  sessionId: string;
  refreshToken: string;
}

export class AuthService {
  private readonly loopLoad = new LoopLoad();
  /** Spreads a burst of WeChat answers over turns of the event loop (see TurnGate). */
  private readonly afterWechat = new TurnGate(() => loginsPerTurn(this.loopLoad.utilization()));

  constructor(private readonly deps: AuthServiceDeps) {}

  private nowSeconds(): number {
    return Math.floor(this.deps.now() / 1000);
  }

  /** The configured app for `appId`, or the only one when none is named. */
  private appFor(appId: string | undefined): WechatClient {
    const { wechat } = this.deps;
    if (appId === undefined) {
      if (wechat.size === 1) return wechat.values().next().value as WechatClient;
      throw new ApiError('invalid_request', 'appId is required: this service serves several mini programs');
    }
    const client = wechat.get(appId);
    if (client === undefined) throw new ApiError('invalid_request', 'appId is not a mini program of this service');
    return client;
  }

  // ── login ──────────────────────────────────────────────────────────────

  async login(input: { code: string; appId?: string }): Promise<TokenResponse> {
    const client = this.appFor(input.appId);
    try {
      const exchange = await this.exchangeCode(client, input.code);
      const { outcome } = exchange;
      if (!outcome.ok) {
        const { code, message, wechatErrcode } = outcome.error;
        throw new ApiError(code, message, wechatErrcode === undefined ? {} : { wechatErrcode });
      }
      let response: TokenResponse;
      if (exchange.issued !== null) {
        // the request that exchanged the code stored its session with the login
        const { user, sessionId, refreshToken } = exchange.issued;
        response = await this.tokenResponse(user, sessionId, refreshToken, outcome.created);
      } else {
        // a request that shared the outcome of another one reads the user and opens a session of its own
        const user = await this.deps.store.getUser(outcome.userId);
        if (user === null) throw new Error('user vanished after login');
        const limited = await this.userLimit(loginLimitKey(user.appId, user.openId));
        if (limited !== null) throw limited;
        response = await this.issueSession(user, outcome.created);
      }
      this.deps.metrics.logins.inc({ outcome: outcome.created ? 'created' : 'ok' });
      return response;
    } catch (error) {
      this.deps.metrics.logins.inc({ outcome: error instanceof ApiError ? error.code : 'internal_error' });
      throw error;
    }
  }

  /**
   * Exchanges a code with WeChat once, however many requests carry it at the same time.
   * The request that made the exchange records the whole login (user, session
   * key, new session) in one store transaction and gets its session back in
   * `issued`; requests that shared the outcome get `issued: null`.
   */
  private async exchangeCode(
    client: WechatClient,
    code: string,
  ): Promise<{ outcome: CodeOutcome; issued: IssuedSession | null }> {
    const { state } = this.deps;
    const digest = codeDigest(client.appId, code);
    const claim = await state.claimCode(digest, CODE_IN_FLIGHT_MS);
    if (claim === 'redeemed') {
      return {
        outcome: {
          ok: false,
          error: { code: 'code_used', message: 'this code was already used; call wx.login again' },
        },
        issued: null,
      };
    }
    if (claim === 'in_flight') {
      const shared = await state.waitForCode(digest, this.deps.config.wechatTimeoutMs * 2 + 1000);
      if (shared !== null) return { outcome: shared, issued: null };
      throw new ApiError('wechat_unavailable', 'the login with this code did not finish; retry with a new code', {
        retryAfterSeconds: 1,
      });
    }
    let outcome: CodeOutcome;
    let issued: IssuedSession | null = null;
    let limited: ApiError | null = null;
    try {
      const session = await client.code2Session(code);
      const turn = this.afterWechat.enter();
      if (turn !== undefined) await turn;
      const nowMs = this.deps.now();
      const now = Math.floor(nowMs / 1000);
      const { config, random } = this.deps;
      // over the user's limit, the login still records the session key WeChat just rotated, but opens no session
      limited = await this.userLimit(loginLimitKey(client.appId, session.openId));
      const sessionId = sortableId(random, nowMs);
      const refresh = limited === null ? issueRefreshToken(random) : null;
      const expiresAt = now + config.refreshTokenTtlSeconds;
      const { user, created } = await this.deps.store.recordLogin({
        user: {
          id: sortableId(random, nowMs),
          appId: client.appId,
          openId: session.openId,
          unionId: session.unionId,
          now,
        },
        sessionKey: (userId, current) => this.sessionKeyToSave(userId, session.sessionKey, current),
        graceSeconds: config.sessionKeyGraceSeconds,
        session:
          refresh === null
            ? null
            : {
                id: sessionId,
                createdAt: now,
                expiresAt,
                refreshToken: { id: refresh.id, secretHash: refresh.secretHash, expiresAt },
              },
      });
      // a returning user whose record the login changed (a unionid recorded)
      if (!created && user.updatedAt === now) await this.userChanged(user.id);
      outcome = { ok: true, userId: user.id, created };
      if (refresh !== null) issued = { user, sessionId, refreshToken: refresh.token };
    } catch (error) {
      const apiError =
        error instanceof ApiError || isWechatFailure(error) ? fromWechatError(error) : fromStorageFailure(error);
      const failure: CodeOutcome = apiError
        ? {
            ok: false,
            error: {
              code: apiError.code,
              message: apiError.message,
              ...(apiError.extra.wechatErrcode !== undefined ? { wechatErrcode: apiError.extra.wechatErrcode } : {}),
            },
          }
        : { ok: false, error: { code: 'internal_error', message: 'internal error' } };
      await state.settleCode(digest, failure, CODE_REDEEMED_MS).catch(() => {});
      throw apiError ?? error;
    }
    await state.settleCode(digest, outcome, CODE_REDEEMED_MS);
    if (limited !== null) throw limited;
    return { outcome, issued };
  }

  /**
   * The sealed session key to store for a login, or null when WeChat gave the
   * current key again. Sealing is randomised, so the same key sealed twice
   * differs: plain keys are compared, so that the real previous key keeps its
   * grace window. A current key sealed under an older secret, or one that no
   * longer opens, is replaced.
   */
  private sessionKeyToSave(userId: string, sessionKey: string, currentSealed: string | null): string | null {
    const { sealer } = this.deps;
    const context = sessionKeyContext(userId);
    if (currentSealed !== null && !sealer.isStale(currentSealed)) {
      try {
        if (sealer.open(currentSealed, context) === sessionKey) return null;
      } catch {
        // unreadable: replaced below
      }
    }
    return sealer.seal(sessionKey, context);
  }

  private async issueSession(user: UserRecord, created: boolean): Promise<TokenResponse> {
    const { config, store } = this.deps;
    const now = this.nowSeconds();
    const sessionId = sortableId(this.deps.random, this.deps.now());
    const refresh = issueRefreshToken(this.deps.random);
    const expiresAt = now + config.refreshTokenTtlSeconds;
    await store.createSession({
      session: { id: sessionId, userId: user.id, appId: user.appId, createdAt: now, expiresAt, revokedAt: null },
      refreshToken: { id: refresh.id, sessionId, secretHash: refresh.secretHash, expiresAt, spentAt: null },
    });
    return this.tokenResponse(user, sessionId, refresh.token, created);
  }

  private async tokenResponse(
    user: UserRecord,
    sessionId: string,
    refreshToken: string,
    created: boolean,
  ): Promise<TokenResponse> {
    const { config } = this.deps;
    const accessToken = await this.deps.tokens.sign({
      userId: user.id,
      sessionId,
      appId: user.appId,
      openId: user.openId,
    });
    const loginUser: LoginUser = {
      id: user.id,
      appId: user.appId,
      openid: user.openId,
      unionid: user.unionId,
      created,
    };
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: config.accessTokenTtlSeconds,
      refreshToken,
      refreshExpiresIn: config.refreshTokenTtlSeconds,
      user: loginUser,
    };
  }

  /** Counts a request against the user's per-minute limit: the error to answer once over it, else null. */
  private async userLimit(key: string): Promise<ApiError | null> {
    const perMinute = this.deps.config.rateLimitUserPerMinute;
    if (perMinute <= 0) return null;
    const { count, resetInMs } = await this.deps.state.hit(`user:${key}`, 60_000);
    if (count <= perMinute) return null;
    return new ApiError('rate_limited', 'too many requests for this user; retry later', {
      retryAfterSeconds: Math.max(1, Math.ceil(resetInMs / 1000)),
    });
  }

  // ── refresh, logout, session ───────────────────────────────────────────

  async refresh(presented: string): Promise<TokenResponse> {
    const { store, config, metrics } = this.deps;
    const invalid = (reason: string): ApiError => {
      metrics.refreshes.inc({ outcome: reason });
      return new ApiError('invalid_refresh_token', 'refresh token is invalid, expired or revoked; log in again', {
        detail: reason,
      });
    };
    const parsed = parseRefreshToken(presented);
    if (parsed === null) throw invalid('malformed');
    const record = await store.getRefreshToken(parsed.id);
    if (record === null || !secretMatches(parsed.secret, record.secretHash)) throw invalid('unknown');
    const session = await store.getSession(record.sessionId);
    if (session === null || session.revokedAt !== null) throw invalid('revoked');
    const now = this.nowSeconds();
    if (record.spentAt !== null) {
      await this.revoke(session.id);
      this.deps.logger.warn({ sessionId: session.id }, 'refresh token reused: session revoked');
      throw invalid('reused');
    }
    if (record.expiresAt <= now || session.expiresAt <= now) throw invalid('expired');
    const user = await store.getUser(session.userId);
    if (user === null) throw invalid('no_user');
    const limited = await this.userLimit(`refresh:${user.id}`);
    if (limited !== null) throw limited;
    if (config.sessionPolicy === 'follow-wechat' && !(await this.wechatAcceptsKey(user))) {
      metrics.refreshes.inc({ outcome: 'wechat_session_expired' });
      throw new ApiError('wechat_session_expired', 'the WeChat session expired; log in again');
    }
    const next = issueRefreshToken(this.deps.random);
    const expiresAt = now + config.refreshTokenTtlSeconds;
    const rotated = await store.rotateRefreshToken(
      record.id,
      { id: next.id, sessionId: session.id, secretHash: next.secretHash, expiresAt, spentAt: null },
      now,
    );
    if (!rotated) {
      // another request spent it first: the same token was presented twice
      await this.revoke(session.id);
      throw invalid('reused');
    }
    metrics.refreshes.inc({ outcome: 'ok' });
    return this.tokenResponse(user, session.id, next.token, false);
  }

  async logout(caller: Caller): Promise<void> {
    await this.revoke(caller.claims.sid);
  }

  /** Revokes a session everywhere: in the store, in this instance at once, and on the others via the signal. */
  async revoke(sessionId: string): Promise<boolean> {
    const existed = await this.deps.store.revokeSession(sessionId, this.nowSeconds());
    this.deps.revocations.add(sessionId);
    await this.deps.state.publishRevocation(sessionId).catch((error: unknown) => {
      this.deps.logger.error({ err: error, sessionId }, 'revocation signal failed; other instances learn it at resync');
    });
    return existed;
  }

  /** Verifies a Bearer access token; unauthorized for anything not currently valid. */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const match = authorization === undefined ? null : /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization);
    if (match === null) throw new ApiError('unauthorized', 'a Bearer access token is required');
    const claims = await this.deps.tokens.verify(match[1] as string);
    if (claims === null || this.deps.revocations.has(claims.sid)) {
      throw new ApiError('unauthorized', 'the access token is invalid, expired or revoked');
    }
    return { claims };
  }

  async session(caller: Caller, checkWechat: boolean): Promise<SessionInfo> {
    const session = await this.requireSession(caller);
    let sessionKeyValid: boolean | null = null;
    if (checkWechat) sessionKeyValid = await this.wechatAcceptsKey(await this.requireUser(caller));
    return {
      sessionId: session.id,
      userId: session.userId,
      appId: session.appId,
      issuedAt: session.createdAt,
      expiresAt: session.expiresAt,
      sessionKeyValid,
    };
  }

  private async requireSession(caller: Caller): Promise<SessionRecord> {
    const session = await this.deps.store.getSession(caller.claims.sid);
    if (session === null || session.revokedAt !== null) throw new ApiError('unauthorized', 'the session was revoked');
    return session;
  }

  /** Writes profile fields of a user, then signals the change to every instance's user cache. */
  private async updateUser(
    userId: string,
    fields: Parameters<AuthServiceDeps['store']['updateUserProfile']>[1],
  ): Promise<UserRecord | null> {
    const user = await this.deps.store.updateUserProfile(userId, fields, this.nowSeconds());
    if (user !== null) await this.userChanged(userId);
    return user;
  }

  /** Drops a changed user from the caches; a signal that cannot be sent now is sent when the shared state is back. */
  private async userChanged(userId: string): Promise<void> {
    await this.deps.users.changed(userId).catch((error: unknown) => {
      this.deps.logger.error(
        { err: error, userId },
        'user-change signal failed; other instances may serve the old profile for up to a minute',
      );
    });
  }

  private async requireUser(caller: Caller): Promise<UserRecord> {
    const user = await this.deps.users.get(caller.claims.sub, (id) => this.deps.store.getUser(id));
    if (user === null) throw new ApiError('unauthorized', 'the user no longer exists');
    return user;
  }

  // ── profile and open data ──────────────────────────────────────────────

  async profile(caller: Caller): Promise<Profile> {
    return toProfile(await this.requireUser(caller));
  }

  async updateProfile(caller: Caller, fields: { nickname?: string; avatarUrl?: string }): Promise<Profile> {
    const user = await this.updateUser(caller.claims.sub, fields);
    if (user === null) throw new ApiError('unauthorized', 'the user no longer exists');
    return toProfile(user);
  }

  async submitUserInfo(
    caller: Caller,
    input: { rawData: string; signature: string; encryptedData?: string; iv?: string },
  ): Promise<Profile> {
    const user = await this.requireUser(caller);
    const keys = await this.sessionKeys(user);
    const signedWith = keys.find((key) => verifySignature(input.rawData, input.signature, key));
    if (signedWith === undefined) {
      await this.explainStaleKey(user, 'signature');
      throw new ApiError('invalid_signature', 'rawData signature does not match the session; log in again and retry');
    }
    let profile: { nickName?: unknown; avatarUrl?: unknown };
    if (input.encryptedData !== undefined || input.iv !== undefined) {
      if (input.encryptedData === undefined || input.iv === undefined) {
        throw new ApiError('invalid_request', 'encryptedData and iv go together');
      }
      profile = await this.decrypt(user, { encryptedData: input.encryptedData, iv: input.iv }, [signedWith]);
    } else {
      profile = parseRawData(input.rawData);
    }
    const fields: { nickname?: string; avatarUrl?: string } = {};
    if (typeof profile.nickName === 'string' && profile.nickName.length > 0)
      fields.nickname = profile.nickName.slice(0, 64);
    if (typeof profile.avatarUrl === 'string' && profile.avatarUrl.length > 0)
      fields.avatarUrl = profile.avatarUrl.slice(0, 2048);
    const updated = await this.updateUser(user.id, fields);
    return toProfile(updated ?? user);
  }

  async bindPhone(
    caller: Caller,
    input: { code: string } | { encryptedData: string; iv: string },
  ): Promise<PhoneResponse> {
    const user = await this.requireUser(caller);
    let phone: PhoneResponse;
    if ('code' in input) {
      const client = this.appFor(user.appId);
      let info: Awaited<ReturnType<WechatClient['getPhoneNumber']>>;
      try {
        info = await client.getPhoneNumber(input.code, { openId: user.openId });
      } catch (error) {
        const mapped = fromWechatError(error);
        // a phone code of another app (40013) is, for the client, an invalid code
        if (isWechatFailure(error) && error.code === 'invalid_appid') {
          throw new ApiError('invalid_code', 'WeChat rejected the phone code', { wechatErrcode: 40013, cause: error });
        }
        throw mapped;
      }
      if (info.watermark.appId !== user.appId) {
        this.deps.metrics.decryptFailures.inc({ reason: 'watermark_mismatch' });
        throw new ApiError('watermark_mismatch', 'the phone number belongs to another app');
      }
      phone = { phoneNumber: info.phoneNumber, purePhoneNumber: info.purePhoneNumber, countryCode: info.countryCode };
    } else {
      const data = await this.decrypt(user, input);
      phone = {
        phoneNumber: String(data.phoneNumber ?? ''),
        purePhoneNumber: String(data.purePhoneNumber ?? ''),
        countryCode: String(data.countryCode ?? ''),
      };
      if (phone.phoneNumber === '') throw new ApiError('invalid_request', 'the decrypted data holds no phone number');
    }
    await this.updateUser(user.id, phone);
    return phone;
  }

  async decryptForCaller(
    caller: Caller,
    input: { encryptedData: string; iv: string },
  ): Promise<Record<string, unknown>> {
    return this.decrypt(await this.requireUser(caller), input);
  }

  /** The user's usable session keys, current first, then the previous one inside its grace window. */
  private async sessionKeys(user: UserRecord): Promise<string[]> {
    const record = await this.deps.store.getSessionKeys(user.id);
    if (record === null) return [];
    const keys = [this.deps.sealer.open(record.current, sessionKeyContext(user.id))];
    if (record.previous !== null && record.previousUntil > this.nowSeconds()) {
      keys.push(this.deps.sealer.open(record.previous, sessionKeyContext(user.id)));
    }
    return keys;
  }

  /**
   * Decrypts open data under the user's session keys. The client sees one
   * uniform error; the reason goes to the log and the metrics.
   */
  private async decrypt(
    user: UserRecord,
    input: { encryptedData: string; iv: string },
    onlyKeys?: string[],
  ): Promise<Record<string, unknown>> {
    const keys = onlyKeys ?? (await this.sessionKeys(user));
    let reason: OpenDataErrorReason = 'bad_padding';
    for (const sessionKey of keys) {
      try {
        return decryptOpenData({ ...input, sessionKey, appId: user.appId });
      } catch (error) {
        if (!(error instanceof OpenDataError)) throw error;
        reason = error.reason;
        if (reason === 'bad_base64' || reason === 'bad_iv' || reason === 'watermark_mismatch') break;
      }
    }
    this.deps.metrics.decryptFailures.inc({ reason });
    this.deps.logger.warn({ userId: user.id, reason }, 'open data did not decrypt');
    if (reason === 'watermark_mismatch') throw new ApiError('watermark_mismatch', 'the data belongs to another app');
    if (reason === 'bad_base64' || reason === 'bad_iv') {
      throw new ApiError('invalid_request', 'encryptedData and iv must be the base64 values WeChat gave');
    }
    await this.explainStaleKey(user, 'decrypt');
    throw new ApiError('decrypt_failed', 'the data does not decrypt under the current session; log in again and retry');
  }

  /** After a failure that a stale key would explain: ask WeChat, and answer wechat_session_expired when it agrees. */
  private async explainStaleKey(user: UserRecord, what: string): Promise<void> {
    let valid: boolean;
    try {
      valid = await this.wechatAcceptsKey(user);
    } catch (error) {
      this.deps.logger.warn({ err: error, userId: user.id, what }, 'could not ask WeChat about the session key');
      return;
    }
    if (!valid) throw new ApiError('wechat_session_expired', 'the WeChat session expired; log in again');
  }

  private async wechatAcceptsKey(user: UserRecord): Promise<boolean> {
    const record = await this.deps.store.getSessionKeys(user.id);
    if (record === null) return false;
    const sessionKey = this.deps.sealer.open(record.current, sessionKeyContext(user.id));
    try {
      return await this.appFor(user.appId).checkSessionKey({ openId: user.openId, sessionKey });
    } catch (error) {
      throw fromWechatError(error);
    }
  }
}

function isWechatFailure(error: unknown): error is WechatError {
  return error instanceof WechatError;
}

function parseRawData(rawData: string): { nickName?: unknown; avatarUrl?: unknown } {
  try {
    const parsed: unknown = JSON.parse(rawData);
    if (typeof parsed === 'object' && parsed !== null) return parsed as { nickName?: unknown; avatarUrl?: unknown };
  } catch {
    // a signed rawData that is not JSON: nothing to store
  }
  throw new ApiError('invalid_request', 'rawData must be the JSON text WeChat gave');
}

export function toProfile(user: UserRecord): Profile {
  return {
    id: user.id,
    appId: user.appId,
    openid: user.openId,
    unionid: user.unionId,
    nickname: user.nickname,
    avatarUrl: user.avatarUrl,
    phoneNumber: user.phoneNumber,
    countryCode: user.countryCode,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
