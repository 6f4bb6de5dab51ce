/**
 * `createAuth()`: the wxlogin client inside a mini program. It owns the login
 * state of one app: one token pair in `wx` storage, at most one login and one
 * refresh in flight, and the WeChat session-key rules around encrypted data.
 */
import type { LoginUser, PhoneResponse, Profile, ProfileUpdate } from '@wxlogin/protocol';
import { isServiceErrorCode, WxloginError, type WxloginErrorCode } from './errors.js';
import {
  accessTokenUsable,
  parseStoredSession,
  parseTokenResponse,
  refreshTokenUsable,
  type StoredSession,
  sessionFromTokens,
} from './session.js';
import { callWx, isWxFail, type WxFail, type WxLike, type WxMethod, type WxResponse } from './wx.js';

/** Network retry policy of `wx.request` failures (no answer at all; HTTP errors are never retried). */
export interface RetryOptions {
  /** Retries after the first try. @default 2 */
  attempts?: number;
  /** Delay before the first retry, in ms; doubles each time. @default 300 */
  baseDelayMs?: number;
  /** Longest delay between tries, in ms. @default 3000 */
  maxDelayMs?: number;
}

export interface AuthOptions {
  /** Where the wxlogin service is, e.g. `'https://login.example.com'` (add it to the request domain list). */
  baseUrl: string;
  /** Picks the app when the service serves several mini programs. @default the service's only app */
  appId?: string;
  /** `wx` storage key of the token pair. @default 'wxlogin.tokens' */
  storageKey?: string;
  /** The `wx` object. @default the runtime's global `wx`, looked up at first use */
  wx?: WxLike;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Retries of requests that got no answer. */
  retry?: RetryOptions;
  /** An access token counts as expired this many seconds early (at most a tenth of its lifetime). @default 30 */
  expiryMarginSeconds?: number;
  /** `wx.request` timeout, in ms. @default the runtime's (60000) */
  requestTimeoutMs?: number;
}

/** Options of {@link AuthClient.request}. */
export interface AuthRequestOptions {
  /** A path under `baseUrl` (`'/v1/me'`) or an absolute URL (your own API that accepts wxlogin tokens). */
  url: string;
  /** @default 'GET' */
  method?: WxMethod;
  /** An object is sent as JSON (as the query string for GET). */
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, string>;
  /** Attach `Authorization: Bearer` (logging in first when needed). @default true */
  auth?: boolean;
  /** @default the client's `requestTimeoutMs` */
  timeoutMs?: number;
  /** Network retries for this request. @default the client's `retry.attempts` */
  retries?: number;
}

/** A 2xx answer. */
export interface AuthResponse<T = unknown> {
  data: T;
  statusCode: number;
  header: Record<string, unknown>;
  /** The service's `X-Request-Id`, when the answer has one. */
  requestId: string | null;
}

/** What `wx.getUserProfile` / `wx.getUserInfo` give (their whole result fits). */
export interface UserInfoData {
  rawData: string;
  signature: string;
  encryptedData?: string;
  iv?: string;
}

/** Encrypted open data (share info, WeRun, …). */
export interface EncryptedData {
  encryptedData: string;
  iv: string;
}

/** `e.detail` of `<button open-type="getPhoneNumber">` (or `getRealtimePhoneNumber`). */
export interface PhoneDetail {
  errMsg: string;
  /** base library ≥ 2.21.2 */
  code?: string;
  errno?: number;
  encryptedData?: string;
  iv?: string;
}

/**
 * Encrypted data, or a function that obtains it (e.g. `() => wx.getUserProfile({ desc })`). With a function
 * the SDK obtains the data only after making sure the service holds the current session key, and obtains it
 * again once if the service cannot read it. Callback-style results and Promises both work.
 */
export type OpenDataSource<T> = T | (() => T | PromiseLike<T>);

export interface OpenDataOptions<T> {
  /** When the source is data: how to obtain it again after a re-login (instead of failing with `data_stale`). */
  refetch?: () => T | PromiseLike<T>;
}

export interface LoginEvent {
  user: LoginUser;
}

export interface LogoutEvent {
  /** `'logout'`: {@link AuthClient.logout}; `'session_ended'`: the service refused the refresh (revoked, expired). */
  reason: 'logout' | 'session_ended';
}

export interface AuthEvents {
  /** After each new session (a `wx.login` exchanged), not after silent refreshes. */
  login: LoginEvent;
  /** When the stored tokens are dropped. After `session_ended` the SDK logs in again when next needed. */
  logout: LogoutEvent;
}

/** The client {@link createAuth} returns. Every method is safe to call concurrently. */
export interface AuthClient {
  /**
   * Logs in now: one `wx.login`, one `POST /v1/auth/login`, tokens stored. Concurrent calls share one login.
   * A used or invalid code is replaced by a fresh one once.
   * @throws WxloginError `login_failed`, `network_error`, `user_blocked`, `rate_limited`, …
   */
  login(): Promise<LoginUser>;
  /** The stored session when its access token is still valid; else a refresh; else a login. */
  ensureLogin(): Promise<LoginUser>;
  /** A valid access token (logging in or refreshing first when needed). */
  getAccessToken(): Promise<string>;
  /** The user of the stored session, without any network call; null when logged out. */
  getUser(): LoginUser | null;
  /**
   * `wx.request` as a Promise, with `Authorization: Bearer` attached. A `401` refreshes the token once and
   * retries; `wechat_session_expired` logs in again and retries; requests wait while a login or refresh runs;
   * requests without an answer are retried with backoff.
   * @throws WxloginError with the service's `code` for non-2xx answers, `http_error` for other non-2xx,
   * `network_error` when no answer came
   */
  request<T = unknown>(options: AuthRequestOptions): Promise<AuthResponse<T>>;
  /**
   * Makes sure the service holds the session key WeChat uses now (`wx.checkSession`, and a login when it
   * fails). Call it before the user taps something that yields encrypted data (the phone button's legacy
   * flow, `wx.getUserProfile`), e.g. in `onShow`.
   */
  ensureSessionKey(): Promise<void>;
  /**
   * Verifies and stores the user's profile from `wx.getUserProfile` / `wx.getUserInfo`.
   * @throws WxloginError `data_stale` when the data predates a re-login and cannot be obtained again;
   * `user_denied` when the dialog was declined
   */
  submitUserInfo(source: OpenDataSource<UserInfoData>, options?: OpenDataOptions<UserInfoData>): Promise<Profile>;
  /**
   * Binds the phone number from the phone button's `e.detail`: its `code` (base library ≥ 2.21.2), else the
   * legacy encrypted data.
   * @throws WxloginError `user_denied`, `phone_quota_exhausted` (errno 1400001), `data_stale` (legacy flow:
   * ask for another tap), `invalid_code`
   */
  bindPhone(detail: PhoneDetail, options?: OpenDataOptions<PhoneDetail>): Promise<PhoneResponse>;
  /** Decrypts other open data (share info, WeRun) on the service. @throws WxloginError `data_stale`, … */
  decrypt<T = unknown>(source: OpenDataSource<EncryptedData>, options?: OpenDataOptions<EncryptedData>): Promise<T>;
  /**
   * Sets nickname and/or avatar URL (from `<input type="nickname">` / `<button open-type="chooseAvatar">`;
   * upload the avatar's temporary file to your storage first and pass the lasting URL).
   * @throws TypeError when neither field is given or one is not a non-empty string within the limits
   */
  updateProfile(fields: ProfileUpdate): Promise<Profile>;
  /** The user's profile (`GET /v1/me`). */
  getProfile(): Promise<Profile>;
  /**
   * True when the user granted `scope` (`wx.getSetting`). Note: `scope.userInfo` is always true since 2021
   * and no longer means real profile data is available.
   */
  isAuthorized(scope: string): Promise<boolean>;
  /** Ends the session: revokes it on the service (best effort), clears storage, emits `logout`. */
  logout(): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof AuthEvents>(event: K, listener: (event: AuthEvents[K]) => void): () => void;
}

const DEFAULT_STORAGE_KEY = 'wxlogin.tokens';
/** `wx.login` codes tried per login: the first, and one fresh one when the service says used/invalid. */
const LOGIN_CODE_TRIES = 2;
/** Answers meaning "the service could not read data under the session key it holds": log in, obtain again. */
const STALE_DATA_CODES: readonly WxloginErrorCode[] = ['decrypt_failed', 'invalid_signature', 'wechat_session_expired'];
const ERRNO_PHONE_QUOTA = 1400001;
const NICKNAME_MAX_LENGTH = 64;
const AVATAR_URL_MAX_LENGTH = 2048;

interface Resolved {
  baseUrl: string;
  appId: string | undefined;
  storageKey: string;
  now: () => number;
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  marginSeconds: number;
  timeoutMs: number | undefined;
}

interface Send {
  url: string;
  method: WxMethod;
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, string>;
  timeoutMs?: number;
  retries?: number;
}

interface AuthorizedPolicy {
  /** log in again and retry on `wechat_session_expired` */
  sessionRetry: boolean;
  /** the `wx.login` count when the request's data was obtained: any login since makes it stale */
  loginGuard?: number;
}

declare const wx: WxLike | undefined;

/**
 * Creates a wxlogin client. Keep one per mini program (e.g. on `App()`); it holds no global state.
 *
 * @example
 * const auth = createAuth({ baseUrl: 'https://login.example.com' });
 * const { data } = await auth.request({ url: '/v1/me' });
 * @throws TypeError when an option is malformed
 */
export function createAuth(options: AuthOptions): AuthClient {
  const cfg = resolveOptions(options);
  const listeners: { [K in keyof AuthEvents]: Array<(event: AuthEvents[K]) => void> } = { login: [], logout: [] };
  let loaded = false;
  let session: StoredSession | null = null;
  let loginFlight: Promise<StoredSession> | null = null;
  let refreshFlight: Promise<StoredSession> | null = null;
  /** how many `wx.login` calls this client made; encrypted data obtained before the latest one is stale */
  let wxLogins = 0;

  const api = (): WxLike => {
    if (options.wx !== undefined) return options.wx;
    if (typeof wx !== 'undefined' && wx !== null) return wx;
    throw new TypeError('wxlogin: no `wx` object: run inside a mini program or pass options.wx');
  };

  // ── events ──────────────────────────────────────────────────────────

  function emit<K extends keyof AuthEvents>(event: K, payload: AuthEvents[K]): void {
    for (const listener of listeners[event].slice()) {
      try {
        listener(payload);
      } catch (error) {
        // a listener's bug must not break the login flow; report it where the runtime reports uncaught errors
        setTimeout(() => {
          throw error;
        }, 0);
      }
    }
  }

  // ── storage ─────────────────────────────────────────────────────────

  function current(): StoredSession | null {
    if (!loaded) {
      const runtime = api();
      loaded = true;
      let stored: unknown = null;
      try {
        stored = runtime.getStorageSync(cfg.storageKey);
      } catch {
        stored = null;
      }
      session = parseStoredSession(stored);
    }
    return session;
  }

  function save(next: StoredSession | null): void {
    loaded = true;
    session = next;
    try {
      if (next === null) api().removeStorageSync(cfg.storageKey);
      else api().setStorageSync(cfg.storageKey, next);
    } catch {
      // storage full or unavailable: the session still lives in memory until the app closes
    }
  }

  // ── HTTP ────────────────────────────────────────────────────────────

  async function send(request: Send): Promise<WxResponse> {
    const retries = request.retries ?? cfg.attempts;
    const timeout = request.timeoutMs ?? cfg.timeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await callWx<WxResponse>((callbacks) =>
          api().request({
            url: resolveUrl(cfg.baseUrl, request.url),
            method: request.method,
            ...(request.data === undefined ? {} : { data: request.data }),
            header: request.header ?? {},
            ...(timeout === undefined ? {} : { timeout }),
            ...callbacks,
          }),
        );
      } catch (failure) {
        if (!isWxFail(failure)) throw failure;
        if (attempt >= retries) {
          throw new WxloginError('network_error', `no answer from ${request.url}: ${failure.errMsg}`, {
            errMsg: failure.errMsg,
            cause: failure,
          });
        }
        await sleep(Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** attempt));
      }
    }
  }

  function jsonPost(url: string, body: Record<string, unknown>, token?: string): Send {
    const header: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) header.authorization = `Bearer ${token}`;
    return { url, method: 'POST', data: body, header };
  }

  // ── login and refresh (single flight) ───────────────────────────────

  function loginSession(): Promise<StoredSession> {
    if (loginFlight !== null) return loginFlight;
    const flight = doLogin();
    loginFlight = flight;
    const clear = (): void => {
      if (loginFlight === flight) loginFlight = null;
    };
    flight.then(clear, clear);
    return flight;
  }

  async function doLogin(): Promise<StoredSession> {
    let refused: WxloginError | null = null;
    for (let attempt = 0; attempt < LOGIN_CODE_TRIES; attempt += 1) {
      const code = await wxLogin();
      const body: Record<string, unknown> = { code };
      if (cfg.appId !== undefined) body.appId = cfg.appId;
      const response = await send(jsonPost('/v1/auth/login', body));
      if (!isSuccess(response.statusCode)) {
        const error = responseError(response);
        // a used (40163) or invalid code is never retried: a fresh one is
        if (error.code === 'code_used' || error.code === 'invalid_code') {
          refused = error;
          continue;
        }
        throw error;
      }
      const next = storeTokens(response);
      emit('login', { user: next.user });
      return next;
    }
    throw new WxloginError('login_failed', `the service refused fresh login codes (${refused?.code ?? 'unknown'})`, {
      status: refused?.status ?? null,
      requestId: refused?.requestId ?? null,
      wechatErrcode: refused?.wechatErrcode ?? null,
      cause: refused,
    });
  }

  async function wxLogin(): Promise<string> {
    wxLogins += 1;
    let result: { code: string };
    try {
      result = await callWx<{ code: string }>((callbacks) => api().login(callbacks));
    } catch (failure) {
      if (!isWxFail(failure)) throw failure;
      throw new WxloginError('login_failed', `wx.login failed: ${failure.errMsg}`, {
        errMsg: failure.errMsg,
        cause: failure,
      });
    }
    if (typeof result?.code !== 'string' || result.code === '') {
      throw new WxloginError('login_failed', 'wx.login gave no code');
    }
    return result.code;
  }

  function storeTokens(response: WxResponse): StoredSession {
    const tokens = parseTokenResponse(response.data);
    if (tokens === null) {
      throw new WxloginError('bad_response', 'the service answered without a token pair', {
        status: response.statusCode,
        requestId: requestIdOf(response),
      });
    }
    const next = sessionFromTokens(tokens, cfg.now());
    save(next);
    return next;
  }

  function refreshSession(): Promise<StoredSession> {
    if (loginFlight !== null) return loginFlight;
    if (refreshFlight !== null) return refreshFlight;
    const stale = current();
    if (stale === null || !refreshTokenUsable(stale, cfg.now())) return loginSession();
    const flight = doRefresh(stale);
    refreshFlight = flight;
    const clear = (): void => {
      if (refreshFlight === flight) refreshFlight = null;
    };
    flight.then(clear, clear);
    return flight;
  }

  async function doRefresh(stale: StoredSession): Promise<StoredSession> {
    const response = await send(jsonPost('/v1/auth/refresh', { refreshToken: stale.refreshToken }));
    if (isSuccess(response.statusCode)) return storeTokens(response);
    const error = responseError(response);
    if (error.code !== 'invalid_refresh_token' && error.code !== 'wechat_session_expired') throw error;
    if (current() === stale) {
      save(null);
      emit('logout', { reason: 'session_ended' });
    }
    return loginSession();
  }

  /** The session to send requests with; waits for a login or refresh in flight. */
  function ensureSession(): Promise<StoredSession> {
    if (loginFlight !== null) return loginFlight;
    if (refreshFlight !== null) return refreshFlight;
    const stored = current();
    const now = cfg.now();
    if (stored !== null && accessTokenUsable(stored, now, cfg.marginSeconds)) return Promise.resolve(stored);
    if (stored !== null && refreshTokenUsable(stored, now)) return refreshSession();
    return loginSession();
  }

  /** After a 401 with `rejected`: a refresh, unless another caller already replaced that token. */
  function renew(rejected: string): Promise<StoredSession> {
    if (loginFlight !== null) return loginFlight;
    const stored = current();
    if (stored !== null && stored.accessToken !== rejected) return ensureSession();
    return refreshSession();
  }

  /** After `wechat_session_expired` with `rejected`: a new login, unless another caller already did one. */
  function relogin(rejected: string): Promise<StoredSession> {
    if (loginFlight !== null) return loginFlight;
    const stored = current();
    if (stored !== null && stored.accessToken !== rejected) return ensureSession();
    return loginSession();
  }

  // ── authorized requests ─────────────────────────────────────────────

  async function authorized(request: Send, policy: AuthorizedPolicy): Promise<WxResponse> {
    let active = await ensureSession();
    let renewed = false;
    let relogged = false;
    for (;;) {
      if (policy.loginGuard !== undefined && wxLogins !== policy.loginGuard) {
        throw new WxloginError('data_stale', 'the data was obtained before a new WeChat login; obtain it again');
      }
      const header = withoutAuthorization(request.header);
      header.authorization = `Bearer ${active.accessToken}`;
      const response = await send({ ...request, header });
      if (isSuccess(response.statusCode)) return response;
      const error = responseError(response);
      if (error.code === 'wechat_session_expired') {
        if (!policy.sessionRetry || relogged) throw error;
        relogged = true;
        active = await relogin(active.accessToken);
        continue;
      }
      if (response.statusCode === 401 && !renewed) {
        renewed = true;
        active = await renew(active.accessToken);
        continue;
      }
      throw error;
    }
  }

  async function serviceJson<T>(request: Send, policy: AuthorizedPolicy): Promise<T> {
    const response = await authorized(request, policy);
    if (typeof response.data !== 'object' || response.data === null) {
      throw new WxloginError('bad_response', `the service answered ${request.url} without a JSON body`, {
        status: response.statusCode,
        requestId: requestIdOf(response),
      });
    }
    return response.data as T;
  }

  // ── encrypted data under the current session key ────────────────────

  async function ensureSessionKey(): Promise<void> {
    const before = wxLogins;
    await ensureSession();
    if (wxLogins !== before) return; // a login just happened: the service holds the newest key
    const valid = await callWx<unknown>((callbacks) => api().checkSession(callbacks)).then(
      () => true,
      () => false,
    );
    if (!valid) await loginSession();
  }

  /**
   * Sends encrypted data so that it is always read under the key it was made with: the session key is
   * checked (and renewed by a login) BEFORE the data is obtained, no `wx.login` runs between obtaining and
   * sending, and a stale-key answer leads to one re-login and one fresh copy of the data.
   */
  async function openData<D, R>(
    source: OpenDataSource<D>,
    refetch: (() => D | PromiseLike<D>) | undefined,
    toRequest: (data: D) => Send,
  ): Promise<R> {
    const obtain = typeof source === 'function' ? (source as () => D | PromiseLike<D>) : refetch;
    let given: D | null = typeof source === 'function' ? null : source;
    const start = wxLogins;
    await ensureSessionKey();
    if (wxLogins !== start) given = null; // obtained under a session key the service no longer holds
    let last: WxloginError | null = null;
    for (let round = 0; round < 2; round += 1) {
      let data: D;
      if (given !== null) {
        data = given;
        given = null;
      } else if (obtain !== undefined) {
        data = await obtainData(obtain);
      } else {
        throw staleData(last);
      }
      const request = toRequest(data);
      try {
        return await serviceJson<R>(request, { sessionRetry: false, loginGuard: wxLogins });
      } catch (error) {
        if (!(error instanceof WxloginError)) throw error;
        if (error.code === 'data_stale') {
          last = error;
          continue;
        }
        if (STALE_DATA_CODES.indexOf(error.code) === -1) throw error;
        last = error;
        await loginSession(); // so that data obtained from now on matches what the service holds
      }
    }
    throw staleData(last);
  }

  async function exchange<T>(spec: Send, withToken: boolean): Promise<AuthResponse<T>> {
    const response = withToken ? await authorized(spec, { sessionRetry: true }) : await send(spec);
    if (!isSuccess(response.statusCode)) throw responseError(response);
    return {
      data: response.data as T,
      statusCode: response.statusCode,
      header: headerObject(response.header),
      requestId: requestIdOf(response),
    };
  }

  /** `PUT /v1/me`: the service's alias of `PATCH /v1/me`, since wx.request cannot send PATCH. */
  function saveProfile(body: Record<string, unknown>): Promise<Profile> {
    return serviceJson<Profile>(
      { url: '/v1/me', method: 'PUT', data: body, header: { 'content-type': 'application/json' } },
      { sessionRetry: true },
    );
  }

  // ── the client ──────────────────────────────────────────────────────

  const client: AuthClient = {
    async login() {
      return (await loginSession()).user;
    },

    async ensureLogin() {
      return (await ensureSession()).user;
    },

    async getAccessToken() {
      return (await ensureSession()).accessToken;
    },

    getUser() {
      return current()?.user ?? null;
    },

    request<T = unknown>(request: AuthRequestOptions): Promise<AuthResponse<T>> {
      return exchange<T>(checkRequest(request), request.auth !== false);
    },

    ensureSessionKey,

    submitUserInfo(source, opts) {
      return openData<UserInfoData, Profile>(source, opts?.refetch, (data) => {
        const body: Record<string, unknown> = {
          rawData: requireString(data?.rawData, 'rawData'),
          signature: requireString(data?.signature, 'signature'),
        };
        if (data.encryptedData !== undefined && data.encryptedData !== '') {
          body.encryptedData = requireString(data.encryptedData, 'encryptedData');
          body.iv = requireString(data.iv, 'iv');
        }
        return jsonPost('/v1/me/userinfo', body);
      });
    },

    bindPhone(detail, opts) {
      if (typeof detail !== 'object' || detail === null || typeof detail.errMsg !== 'string') {
        throw new TypeError('bindPhone: pass the event detail of the getPhoneNumber button (e.detail)');
      }
      const refusal = phoneRefusal(detail);
      if (refusal !== null) return Promise.reject(refusal);
      if (typeof detail.code === 'string' && detail.code !== '') {
        // the code flow needs no session key; a phone code is single use, so no re-login retry
        return serviceJson<PhoneResponse>(jsonPost('/v1/me/phone', { code: detail.code }), { sessionRetry: false });
      }
      if (typeof detail.encryptedData !== 'string' || detail.encryptedData === '') {
        throw new TypeError('bindPhone: e.detail has neither a code nor encryptedData/iv');
      }
      return openData<PhoneDetail, PhoneResponse>(detail, opts?.refetch, (data) => {
        const refused = phoneRefusal(data);
        if (refused !== null) throw refused;
        if (typeof data.code === 'string' && data.code !== '') return jsonPost('/v1/me/phone', { code: data.code });
        return jsonPost('/v1/me/phone', {
          encryptedData: requireString(data.encryptedData, 'encryptedData'),
          iv: requireString(data.iv, 'iv'),
        });
      });
    },

    async decrypt<T = unknown>(source: OpenDataSource<EncryptedData>, opts?: OpenDataOptions<EncryptedData>) {
      const answer = await openData<EncryptedData, { data: T }>(source, opts?.refetch, (data) =>
        jsonPost('/v1/auth/decrypt', {
          encryptedData: requireString(data?.encryptedData, 'encryptedData'),
          iv: requireString(data?.iv, 'iv'),
        }),
      );
      return answer.data;
    },

    updateProfile(fields) {
      return saveProfile(checkProfileUpdate(fields));
    },

    getProfile() {
      return serviceJson<Profile>({ url: '/v1/me', method: 'GET' }, { sessionRetry: true });
    },

    isAuthorized(scope) {
      if (typeof scope !== 'string' || scope === '') throw new TypeError('isAuthorized: scope must be a string');
      return callWx<{ authSetting: unknown }>((callbacks) => api().getSetting(callbacks)).then(
        (result) => {
          const setting = result?.authSetting;
          return (
            typeof setting === 'object' && setting !== null && (setting as Record<string, unknown>)[scope] === true
          );
        },
        (failure: unknown) => {
          throw wxApiError(failure);
        },
      );
    },

    async logout() {
      const settle = (flight: Promise<unknown> | null): Promise<unknown> =>
        flight === null ? Promise.resolve() : flight.catch(() => null);
      await Promise.all([settle(loginFlight), settle(refreshFlight)]);
      const ending = current();
      if (ending === null) return;
      save(null);
      emit('logout', { reason: 'logout' });
      try {
        await send({ ...jsonPost('/v1/auth/logout', {}, ending.accessToken), retries: 0 });
      } catch {
        // best effort: the tokens are gone from this device either way
      }
    },

    on(event, listener) {
      if (typeof listener !== 'function') throw new TypeError('on: listener must be a function');
      const list = listeners[event] as Array<typeof listener>;
      if (list === undefined) throw new TypeError(`on: unknown event ${String(event)}`);
      list.push(listener);
      return () => {
        const index = list.indexOf(listener);
        if (index !== -1) list.splice(index, 1);
      };
    },
  };

  function checkRequest(request: AuthRequestOptions): Send {
    if (typeof request !== 'object' || request === null) throw new TypeError('request: options are required');
    if (typeof request.url !== 'string' || request.url === '') throw new TypeError('request: url must be a string');
    const spec: Send = { url: request.url, method: request.method ?? 'GET' };
    if (request.data !== undefined) spec.data = request.data;
    if (request.header !== undefined) spec.header = request.header;
    if (request.timeoutMs !== undefined) spec.timeoutMs = request.timeoutMs;
    if (request.retries !== undefined) {
      if (!Number.isInteger(request.retries) || request.retries < 0) {
        throw new TypeError('request: retries must be a non-negative integer');
      }
      spec.retries = request.retries;
    }
    return spec;
  }

  return client;
}

// ── helpers ─────────────────────────────────────────────────────────────

function resolveOptions(options: AuthOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new TypeError('createAuth: options are required');
  const { baseUrl } = options;
  if (typeof baseUrl !== 'string' || !/^https?:\/\/[^/\s]+/i.test(baseUrl)) {
    throw new TypeError('createAuth: baseUrl must be an http(s) URL');
  }
  if (options.appId !== undefined && (typeof options.appId !== 'string' || options.appId === '')) {
    throw new TypeError('createAuth: appId must be a non-empty string');
  }
  const storageKey = options.storageKey ?? DEFAULT_STORAGE_KEY;
  if (typeof storageKey !== 'string' || storageKey === '') {
    throw new TypeError('createAuth: storageKey must be a non-empty string');
  }
  if (options.wx !== undefined && (typeof options.wx !== 'object' || options.wx === null)) {
    throw new TypeError('createAuth: wx must be the wx object');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('createAuth: now must be a function');
  }
  const retry = options.retry ?? {};
  const attempts = count(retry.attempts, 2, 'retry.attempts');
  const baseDelayMs = count(retry.baseDelayMs, 300, 'retry.baseDelayMs');
  const maxDelayMs = count(retry.maxDelayMs, 3000, 'retry.maxDelayMs');
  const marginSeconds = count(options.expiryMarginSeconds, 30, 'expiryMarginSeconds');
  const timeoutMs =
    options.requestTimeoutMs === undefined ? undefined : count(options.requestTimeoutMs, 0, 'requestTimeoutMs');
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    appId: options.appId,
    storageKey,
    now: options.now ?? (() => Date.now()),
    attempts,
    baseDelayMs,
    maxDelayMs,
    marginSeconds,
    timeoutMs,
  };
}

function count(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`createAuth: ${name} must be a non-negative number`);
  }
  return value;
}

function resolveUrl(baseUrl: string, url: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${baseUrl}${url.charAt(0) === '/' ? '' : '/'}${url}`;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

function headerObject(header: unknown): Record<string, unknown> {
  return typeof header === 'object' && header !== null ? (header as Record<string, unknown>) : {};
}

function requestIdOf(response: WxResponse): string | null {
  const header = headerObject(response.header);
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (name.toLowerCase() === 'x-request-id' && typeof value === 'string' && value !== '') return value;
  }
  const body = response.data;
  if (typeof body === 'object' && body !== null) {
    const requestId = (body as { requestId?: unknown }).requestId;
    if (typeof requestId === 'string' && requestId !== '') return requestId;
  }
  return null;
}

/** The typed error for a non-2xx answer: the service's code from its envelope, else `http_error`. */
function responseError(response: WxResponse): WxloginError {
  const status = response.statusCode;
  const requestId = requestIdOf(response);
  const body = response.data;
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, wechatErrcode } = error as { code?: unknown; message?: unknown; wechatErrcode?: unknown };
    if (isServiceErrorCode(code)) {
      return new WxloginError(code, typeof message === 'string' ? message : code, {
        status,
        requestId,
        wechatErrcode: typeof wechatErrcode === 'number' ? wechatErrcode : null,
      });
    }
  }
  return new WxloginError('http_error', `HTTP ${status}`, { status, requestId });
}

function withoutAuthorization(header: Record<string, string> | undefined): Record<string, string> {
  const copy: Record<string, string> = {};
  if (header === undefined) return copy;
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (name.toLowerCase() !== 'authorization' && value !== undefined) copy[name] = value;
  }
  return copy;
}

function staleData(cause: WxloginError | null): WxloginError {
  return new WxloginError(
    'data_stale',
    'the encrypted data was made under an outdated WeChat session; the SDK logged in again, ask the user again',
    { status: cause?.status ?? null, requestId: cause?.requestId ?? null, cause },
  );
}

/** Calls a data source, turning `wx` failures into typed errors. */
async function obtainData<D>(obtain: () => D | PromiseLike<D>): Promise<D> {
  try {
    return await obtain();
  } catch (failure) {
    if (isWxFail(failure)) throw wxApiError(failure);
    throw failure;
  }
}

function wxApiError(failure: unknown): WxloginError {
  if (!isWxFail(failure)) {
    return new WxloginError('wx_api_failed', 'a wx API failed', { cause: failure });
  }
  return new WxloginError(denied(failure) ? 'user_denied' : 'wx_api_failed', failure.errMsg, {
    errMsg: failure.errMsg,
    cause: failure,
  });
}

/** `wx` reports a refusal only in `errMsg` ("getPhoneNumber:fail user deny", "getUserProfile:fail auth deny"). */
function denied(failure: WxFail): boolean {
  return /deny|denied|cancel/i.test(failure.errMsg);
}

/** The typed error for a phone button tap that gave no number, or null when it gave one. */
function phoneRefusal(detail: PhoneDetail): WxloginError | null {
  if (detail.errno === ERRNO_PHONE_QUOTA) {
    return new WxloginError('phone_quota_exhausted', 'the phone number quota of this mini program is used up', {
      errMsg: detail.errMsg,
      cause: detail,
    });
  }
  if (/:ok$/.test(detail.errMsg)) return null;
  return wxApiError({ errMsg: detail.errMsg, ...(detail.errno === undefined ? {} : { errno: detail.errno }) });
}

function checkProfileUpdate(fields: ProfileUpdate): Record<string, unknown> {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('updateProfile: fields are required');
  const body: Record<string, unknown> = {};
  if (fields.nickname !== undefined) {
    if (typeof fields.nickname !== 'string' || fields.nickname.trim() === '') {
      throw new TypeError('updateProfile: nickname must be a non-empty string');
    }
    if (fields.nickname.length > NICKNAME_MAX_LENGTH) {
      throw new TypeError(`updateProfile: nickname is longer than ${NICKNAME_MAX_LENGTH} characters`);
    }
    body.nickname = fields.nickname;
  }
  if (fields.avatarUrl !== undefined) {
    if (typeof fields.avatarUrl !== 'string' || fields.avatarUrl === '') {
      throw new TypeError('updateProfile: avatarUrl must be a non-empty string');
    }
    if (fields.avatarUrl.length > AVATAR_URL_MAX_LENGTH) {
      throw new TypeError(`updateProfile: avatarUrl is longer than ${AVATAR_URL_MAX_LENGTH} characters`);
    }
    body.avatarUrl = fields.avatarUrl;
  }
  if (body.nickname === undefined && body.avatarUrl === undefined) {
    throw new TypeError('updateProfile: give a nickname, an avatarUrl or both');
  }
  return body;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  return value;
}
