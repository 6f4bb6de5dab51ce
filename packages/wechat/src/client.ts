import { classicTokenRequest, stableTokenRequest } from './endpoints/access-token.js';
import { type Code2SessionResult, code2SessionRequest } from './endpoints/code2session.js';
import { type PhoneInfo, phoneNumberRequest } from './endpoints/phone-number.js';
import { checkSessionRequest, resetSessionKeyRequest } from './endpoints/session-key.js';
import { type WechatEndpoint, WechatError, type WechatErrorCode } from './errors.js';
import { callWechat, fetchTransport, type HttpContext, type WechatRequest } from './http.js';
import { createKeepAliveTransport, DEFAULT_MAX_CONNECTIONS } from './keep-alive.js';
import { type RetryPolicy, withRetries } from './retry.js';
import { MemoryTokenCache, type TokenCache } from './token-cache.js';
import { AccessTokenManager, type AccessTokenMode } from './token-manager.js';

export interface WechatClientOptions {
  appId: string;
  secret: string;
  /** @default 'https://api.weixin.qq.com' */
  baseUrl?: string;
  /** per HTTP attempt, in ms; @default 5000 */
  requestTimeoutMs?: number;
  /** retries for retryable failures on SAFE calls only (token endpoints, checksession); @default 2 */
  maxRetries?: number;
  /** @default 'stable' (POST /cgi-bin/stable_token); 'classic' = GET /cgi-bin/token */
  accessTokenMode?: AccessTokenMode;
  /** refresh this long before expiry, in seconds; @default 300 */
  refreshMarginSeconds?: number;
  /** @default new MemoryTokenCache() */
  tokenCache?: TokenCache;
  /** @default undici's `dispatch` on a keep-alive Agent: pooled connections, reused, redirects not followed */
  fetch?: typeof globalThis.fetch;
  /**
   * Most pooled keep-alive connections to WeChat when no `fetch` is given: concurrent calls beyond it
   * queue, so at ~100 ms per call it bounds logins per second near 10× this number. @default 512
   */
  maxConnections?: number;
  /** clock in ms; @default Date.now */
  now?: () => number;
  /** [0,1) for backoff jitter; @default Math.random */
  random?: () => number;
  /** @default a setTimeout-based sleep */
  sleep?: (ms: number) => Promise<void>;
  /** observer for metrics: called once per HTTP attempt */
  onCall?: (event: {
    endpoint: WechatEndpoint;
    durationMs: number;
    outcome: 'ok' | WechatErrorCode;
    errcode: number | null;
  }) => void;
}

/** WeChat's server API for one mini program. A caller's mistake (an empty code, a missing openId) rejects with TypeError before any request. */
export interface WechatClient {
  readonly appId: string;
  /**
   * Exchanges a `wx.login` code for openid, session key and unionid.
   * NEVER retried: the code is single-use and an attempt whose answer was lost may have consumed it.
   * @throws WechatError e.g. `invalid_code` (40029), `code_used` (40163), `user_blocked` (40226), `timeout`
   */
  code2Session(code: string, options?: { signal?: AbortSignal }): Promise<Code2SessionResult>;
  /**
   * True when WeChat accepts the session key (errcode 0), false on 87009 (and 87007).
   * Safe, so retried on -1/timeout/network; refreshes the access token once when it is rejected.
   * @throws WechatError for any other failure
   */
  checkSessionKey(input: { openId: string; sessionKey: string }): Promise<boolean>;
  /**
   * Rotates the user's session key at once and returns the new one (it keeps the old expiry).
   * Not retried (a lost answer would leave the caller with a dead key), except the one access-token refresh.
   * @throws WechatError e.g. `invalid_signature` (87009), `session_key_expired` (87007)
   */
  resetUserSessionKey(input: { openId: string; sessionKey: string }): Promise<{ openId: string; sessionKey: string }>;
  /**
   * Exchanges a phone-button code (`e.detail.code`, single-use, 5 min) for the phone number.
   * Not retried, except the one access-token refresh+retry on 40001/42001/40014.
   * @throws WechatError e.g. `invalid_code` (40029), `invalid_appid` (40013)
   */
  getPhoneNumber(code: string, options?: { openId?: string }): Promise<PhoneInfo>;
  /** The cached/refreshing access token; one in-flight refresh is shared by all concurrent callers. @throws WechatError */
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string>;
  /** Closes the keep-alive agent this client created (an injected fetch is left alone). */
  close(): Promise<void>;
}

const DEFAULT_BASE_URL = 'https://api.weixin.qq.com';

/** WeChat errcodes that mean "this access token is no good": refresh once and retry. */
const TOKEN_REJECTED = new Set([40001, 42001, 40014]);

/**
 * Creates a client of WeChat's server API for one mini program.
 * @throws TypeError when an option is invalid
 * @example
 * const wechat = createWechatClient({ appId: 'wx0123456789abcdef', secret: process.env.WECHAT_SECRET! });
 * const { openId, sessionKey } = await wechat.code2Session(code);
 */
export function createWechatClient(options: WechatClientOptions): WechatClient {
  const settings = resolveOptions(options);
  const credentials = { appId: settings.appId, secret: settings.secret };
  // Only connections this client opened are closed by close(); an injected fetch belongs to the caller.
  const keepAlive = options.fetch ? null : createKeepAliveTransport({ connections: settings.maxConnections });
  const http: HttpContext = {
    baseUrl: settings.baseUrl,
    transport: keepAlive ? keepAlive.transport : fetchTransport(options.fetch ?? fetch),
    requestTimeoutMs: settings.requestTimeoutMs,
    now: settings.now,
    onCall: options.onCall,
  };
  const policy: RetryPolicy = { maxRetries: settings.maxRetries, random: settings.random, sleep: settings.sleep };
  const once = <T>(request: WechatRequest<T>): Promise<T> => callWechat(http, request);
  const safe = <T>(request: () => WechatRequest<T>): Promise<T> =>
    withRetries(policy, () => callWechat(http, request()));

  const tokens = new AccessTokenManager({
    appId: settings.appId,
    mode: settings.accessTokenMode,
    cache: settings.tokenCache,
    refreshMarginSeconds: settings.refreshMarginSeconds,
    now: settings.now,
    issue: (force) =>
      safe(() =>
        settings.accessTokenMode === 'stable'
          ? stableTokenRequest(credentials, force)
          : classicTokenRequest(credentials),
      ),
  });

  /** Runs an access-token call; on 40001/42001/40014 renews the token once and runs it once more. */
  async function withAccessToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await tokens.get();
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof WechatError) || error.errcode === null || !TOKEN_REJECTED.has(error.errcode)) throw error;
      const renewed = await tokens.renew(token);
      return call(renewed);
    }
  }

  return {
    appId: settings.appId,

    async code2Session(code, callOptions) {
      requireText(code, 'code');
      return once(code2SessionRequest(credentials, code, callOptions?.signal));
    },

    async checkSessionKey(input) {
      requireSessionInput(input);
      try {
        return await withAccessToken((token) => safe(() => checkSessionRequest(token, input)));
      } catch (error) {
        if (error instanceof WechatError && (error.errcode === 87009 || error.errcode === 87007)) return false;
        throw error;
      }
    },

    async resetUserSessionKey(input) {
      requireSessionInput(input);
      return withAccessToken((token) => once(resetSessionKeyRequest(token, input)));
    },

    async getPhoneNumber(code, callOptions) {
      requireText(code, 'code');
      const openId = callOptions?.openId;
      if (openId !== undefined) requireText(openId, 'openId');
      return withAccessToken((token) => once(phoneNumberRequest(token, code, openId)));
    },

    async getAccessToken(tokenOptions) {
      return tokens.get(tokenOptions);
    },

    async close() {
      await keepAlive?.close();
    },
  };
}

interface ResolvedOptions {
  appId: string;
  secret: string;
  baseUrl: string;
  requestTimeoutMs: number;
  maxConnections: number;
  maxRetries: number;
  accessTokenMode: AccessTokenMode;
  refreshMarginSeconds: number;
  tokenCache: TokenCache;
  now: () => number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

function resolveOptions(options: WechatClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('createWechatClient: options are required');
  const problems: string[] = [];
  if (typeof options.appId !== 'string' || options.appId.length === 0)
    problems.push('appId must be a non-empty string');
  if (typeof options.secret !== 'string' || options.secret.length === 0)
    problems.push('secret must be a non-empty string');
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol))
    problems.push('baseUrl must be an http(s) URL');
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0)
    problems.push('requestTimeoutMs must be a positive number');
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1)
    problems.push('maxConnections must be a positive integer');
  const maxRetries = options.maxRetries ?? 2;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) problems.push('maxRetries must be a non-negative integer');
  const accessTokenMode = options.accessTokenMode ?? 'stable';
  if (accessTokenMode !== 'stable' && accessTokenMode !== 'classic')
    problems.push("accessTokenMode must be 'stable' or 'classic'");
  const refreshMarginSeconds = options.refreshMarginSeconds ?? 300;
  if (!Number.isFinite(refreshMarginSeconds) || refreshMarginSeconds < 0) {
    problems.push('refreshMarginSeconds must be a non-negative number');
  }
  // The secret's value is never echoed: only which options are wrong.
  if (problems.length > 0) throw new TypeError(`createWechatClient: ${problems.join('; ')}`);
  return {
    appId: options.appId,
    secret: options.secret,
    baseUrl,
    requestTimeoutMs,
    maxConnections,
    maxRetries,
    accessTokenMode,
    refreshMarginSeconds,
    tokenCache: options.tokenCache ?? new MemoryTokenCache(),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

function requireText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name} must be a non-empty string`);
}

function requireSessionInput(input: { openId: string; sessionKey: string }): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be { openId, sessionKey }');
  requireText(input.openId, 'openId');
  requireText(input.sessionKey, 'sessionKey');
}
