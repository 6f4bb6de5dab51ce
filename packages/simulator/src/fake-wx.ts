/**
 * A fake of the mini program's global `wx`, backed by a simulator in the same
 * process. Async APIs take `success`/`fail`/`complete` callbacks like the real
 * runtime, and return a Promise when none of the three is given (base library
 * ≥ 2.10.2). `request` does real HTTP with `fetch`.
 */
import { CODE_TTL_MS } from './model.js';
import { internalsOf, type Simulator } from './simulator.js';

// biome-ignore lint/suspicious/noExplicitAny: the conditional below must be identical to the mini program typings' PromisifySuccessResult so that FakeWx is assignable to WechatMiniprogram.Wx
type AnyValue = any;

/** The runtime's rule: `undefined` when a callback is given, else a Promise of the success result. */
export type WxAsync<P, R> = P extends { success: AnyValue }
  ? undefined
  : P extends { fail: AnyValue }
    ? undefined
    : P extends { complete: AnyValue }
      ? undefined
      : Promise<R>;

/** What `fail` receives (and what the Promise rejects with). */
export interface WxFailResult {
  errMsg: string;
  errno: number;
}

/** What `complete` receives. */
export interface WxCompleteResult {
  errMsg: string;
}

export interface WxCallbacks<S> {
  success?: (res: S) => void;
  fail?: (err: WxFailResult) => void;
  complete?: (res: WxCompleteResult) => void;
}

export interface FakeLoginSuccess {
  code: string;
  errMsg: string;
}
export interface FakeLoginOption extends WxCallbacks<FakeLoginSuccess> {
  /** accepted and ignored */
  timeout?: number;
}

export interface FakeCheckSessionSuccess {
  errMsg: string;
}
export type FakeCheckSessionOption = WxCallbacks<FakeCheckSessionSuccess>;

export type FakeAuthSetting = Partial<
  Record<
    | 'scope.userInfo'
    | 'scope.userLocation'
    | 'scope.userFuzzyLocation'
    | 'scope.werun'
    | 'scope.record'
    | 'scope.writePhotosAlbum'
    | 'scope.camera',
    boolean
  >
>;
export interface FakeGetSettingSuccess {
  authSetting: FakeAuthSetting;
  subscriptionsSetting: { mainSwitch: boolean; itemSettings?: Record<string, string> };
  errMsg: string;
}
export interface FakeGetSettingOption extends WxCallbacks<FakeGetSettingSuccess> {
  withSubscriptions?: boolean;
}

/** The user fields of wx.getUserProfile/getUserInfo (anonymized data has `language: ''` despite this type). */
export interface FakeUserInfo {
  nickName: string;
  avatarUrl: string;
  gender: 0 | 1 | 2;
  language: 'en' | 'zh_CN' | 'zh_TW';
  city: string;
  province: string;
  country: string;
}
export interface FakeUserInfoSuccess {
  userInfo: FakeUserInfo;
  rawData: string;
  signature: string;
  encryptedData: string;
  iv: string;
  cloudID: string;
  errMsg: string;
}
export interface FakeGetUserProfileOption extends WxCallbacks<FakeUserInfoSuccess> {
  /** required, at most 30 characters */
  desc: string;
  lang?: 'en' | 'zh_CN' | 'zh_TW';
}
export interface FakeGetUserInfoOption extends WxCallbacks<FakeUserInfoSuccess> {
  /** with credentials the result carries encryptedData/iv/signature. @default true */
  withCredentials?: boolean;
  lang?: 'en' | 'zh_CN' | 'zh_TW';
}

export interface FakeRequestSuccess {
  /** parsed JSON when `dataType` is 'json' (the default) and the body parses, else the text (or an ArrayBuffer) */
  data: unknown;
  statusCode: number;
  header: Record<string, string>;
  cookies: string[];
  errMsg: string;
}
export interface FakeRequestOption extends WxCallbacks<FakeRequestSuccess> {
  url: string;
  /** @default 'GET' */
  method?: 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT';
  /** an object is sent as JSON (or as the query string for GET/HEAD) */
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, unknown>;
  /** in ms; @default 60000 */
  timeout?: number;
  /** @default 'json' */
  dataType?: string;
  /** @default 'text' */
  responseType?: 'text' | 'arraybuffer';
}
export interface FakeHeadersReceived {
  header: Record<string, string>;
  cookies: string[];
  statusCode: number;
}
export interface FakeRequestTask {
  abort(): void;
  onHeadersReceived(listener: (result: FakeHeadersReceived) => void): void;
  offHeadersReceived(listener?: (result: FakeHeadersReceived) => void): void;
  /** accepted; chunked transfer is not simulated, so the listener is never called */
  onChunkReceived(listener: (result: { data: ArrayBuffer }) => void): void;
  offChunkReceived(listener?: (result: { data: ArrayBuffer }) => void): void;
}
/** Without callbacks the task is also a Promise of the success result. */
export type WxRequestResult<P> = P extends { success: AnyValue }
  ? FakeRequestTask
  : P extends { fail: AnyValue }
    ? FakeRequestTask
    : P extends { complete: AnyValue }
      ? FakeRequestTask
      : FakeRequestTask & Promise<FakeRequestSuccess>;

/** `e.detail` of a phone-number button tap. */
export type FakePhoneDetail =
  | { errMsg: 'getPhoneNumber:ok'; code: string; encryptedData: string; iv: string }
  | { errMsg: 'getPhoneNumber:fail user deny' };

export type FakeWxApi =
  | 'login'
  | 'checkSession'
  | 'getSetting'
  | 'getUserProfile'
  | 'getUserInfo'
  | 'request'
  | 'getStorageSync'
  | 'setStorageSync'
  | 'removeStorageSync'
  | 'clearStorageSync'
  | 'tapPhoneButton';

/** The fake `wx`. Structurally usable where the typings' `WechatMiniprogram.Wx` is expected for these members. */
export interface FakeWx {
  login<T extends FakeLoginOption = FakeLoginOption>(option?: T): WxAsync<T, FakeLoginSuccess>;
  /** ok while the session_key obtained by this client's latest login is still the user's current key */
  checkSession<T extends FakeCheckSessionOption = FakeCheckSessionOption>(
    option?: T,
  ): WxAsync<T, FakeCheckSessionSuccess>;
  getSetting<T extends FakeGetSettingOption = FakeGetSettingOption>(option?: T): WxAsync<T, FakeGetSettingSuccess>;
  getUserProfile<T extends FakeGetUserProfileOption = FakeGetUserProfileOption>(
    option: T,
  ): WxAsync<T, FakeUserInfoSuccess>;
  getUserInfo<T extends FakeGetUserInfoOption = FakeGetUserInfoOption>(option: T): WxAsync<T, FakeUserInfoSuccess>;
  request<T extends FakeRequestOption = FakeRequestOption>(option: T): WxRequestResult<T>;
  /** a deep copy of the stored value; '' when the key is absent */
  getStorageSync<T = unknown>(key: string): T;
  /** stores a deep copy (through JSON, like the runtime; Dates survive) */
  setStorageSync(key: string, data: unknown): void;
  removeStorageSync(key: string): void;
  clearStorageSync(): void;
  /** test hook: what a tap on `<button open-type="getPhoneNumber">` gives in `e.detail` */
  __tapPhoneButton(opts?: { deny?: boolean; phoneNumber?: string; countryCode?: string }): FakePhoneDetail;
  /** test hook: how often each API was called */
  readonly __calls: Readonly<Record<FakeWxApi, number>>;
  /** test hook: while offline, `request` fails like a dead network */
  __setOffline(offline: boolean): void;
}

export interface FakeWxOptions {
  simulator: Simulator;
  /** @default the simulator's first app */
  appId?: string;
  /** the user handle of this device. @default 'alice' */
  user?: string;
  /** the storage behind *StorageSync; pass the same Map to a new fake to simulate an app restart */
  storage?: Map<string, unknown>;
  /** clock in ms. @default the simulator's clock */
  now?: () => number;
  /** profile fields for getUserProfile/getUserInfo */
  profile?: Record<string, unknown>;
  /** answer getUserProfile/getUserInfo with anonymized data ("微信用户"), as WeChat does today. @default false */
  anonymous?: boolean;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

const ERRNO_UNKNOWN = 1;
const ERRNO_TIMEOUT = 5;
const ERRNO_NETWORK = 600001;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

class WxFailure implements WxFailResult {
  constructor(
    readonly errMsg: string,
    readonly errno: number,
  ) {}
}

/** A fake of the mini program's global `wx`, backed by a simulator in the same process. */
export function createFakeWx(options: FakeWxOptions): FakeWx {
  const { simulator } = options;
  const internals = internalsOf(simulator);
  const appId = options.appId ?? simulator.apps[0]?.appId;
  if (appId === undefined || !simulator.apps.some((app) => app.appId === appId)) {
    throw new TypeError(`unknown app ${String(appId)}`);
  }
  const user = options.user ?? 'alice';
  if (typeof user !== 'string' || user === '') throw new TypeError('user must be a non-empty string');
  const storage = options.storage ?? new Map<string, unknown>();
  const now = options.now ?? internals.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const calls: Record<FakeWxApi, number> = {
    login: 0,
    checkSession: 0,
    getSetting: 0,
    getUserProfile: 0,
    getUserInfo: 0,
    request: 0,
    getStorageSync: 0,
    setStorageSync: 0,
    removeStorageSync: 0,
    clearStorageSync: 0,
    tapPhoneButton: 0,
  };
  const authSetting: FakeAuthSetting = {};
  let lastCode: string | null = null;
  let offline = false;

  const userInfo = (api: string, withOpenId: boolean, lang: string | undefined): FakeUserInfoSuccess => {
    let result: ReturnType<Simulator['userInfo']>;
    try {
      result = simulator.userInfo({
        appId,
        user,
        withOpenId,
        anonymous: options.anonymous ?? false,
        profile: { ...(lang ? { language: lang } : {}), ...options.profile },
      });
    } catch (error) {
      if (error instanceof TypeError) {
        throw new WxFailure(`${api}:fail no session key: call wx.login and exchange the code first`, ERRNO_UNKNOWN);
      }
      throw error;
    }
    authSetting['scope.userInfo'] = true;
    const { rawData, signature, encryptedData, iv } = result;
    const info = result.userInfo as unknown as FakeUserInfo;
    return { userInfo: info, rawData, signature, encryptedData, iv, cloudID: cloudId(iv), errMsg: `${api}:ok` };
  };

  const fake: FakeWx = {
    login(option) {
      calls.login += 1;
      return settle(option, async () => {
        lastCode = simulator.mintLoginCode({ appId, user }).code;
        return { code: lastCode, errMsg: 'login:ok' };
      });
    },
    checkSession(option) {
      calls.checkSession += 1;
      return settle(option, async () => {
        const state = lastCode === null ? null : internals.loginCodeState(lastCode);
        const ok =
          state !== null &&
          (state.state === 'redeemed'
            ? state.sessionKey !== null && internals.isCurrentKey(state.appId, state.openid, state.sessionKey)
            : state.state === 'pending' && now() < state.issuedAt + CODE_TTL_MS);
        if (!ok) throw new WxFailure('checkSession:fail session time out', ERRNO_UNKNOWN);
        return { errMsg: 'checkSession:ok' };
      });
    },
    getSetting(option) {
      calls.getSetting += 1;
      return settle(option, async () => ({
        authSetting: { ...authSetting },
        subscriptionsSetting: { mainSwitch: true, itemSettings: {} },
        errMsg: 'getSetting:ok',
      }));
    },
    getUserProfile(option) {
      calls.getUserProfile += 1;
      return settle(option, async () => {
        const desc: unknown = option?.desc;
        if (typeof desc !== 'string' || desc === '') {
          throw new WxFailure('getUserProfile:fail parameter error: parameter.desc should be String', ERRNO_UNKNOWN);
        }
        if (desc.length > 30) throw new WxFailure('getUserProfile:fail desc length should be ≤ 30', ERRNO_UNKNOWN);
        return userInfo('getUserProfile', false, option.lang);
      });
    },
    getUserInfo(option) {
      calls.getUserInfo += 1;
      return settle(option, async () => {
        if (option?.withCredentials === false) {
          const full = userInfo('getUserInfo', true, option.lang);
          return { ...full, signature: '', encryptedData: '', iv: '', cloudID: '' };
        }
        return userInfo('getUserInfo', true, option?.lang);
      });
    },
    request(option) {
      calls.request += 1;
      return startRequest(option, fetchImpl, () => offline) as WxRequestResult<typeof option>;
    },
    getStorageSync<T = unknown>(key: string): T {
      calls.getStorageSync += 1;
      checkKey('getStorageSync', key);
      return (storage.has(key) ? copy(storage.get(key)) : '') as T;
    },
    setStorageSync(key, data) {
      calls.setStorageSync += 1;
      checkKey('setStorageSync', key);
      storage.set(key, copy(data));
    },
    removeStorageSync(key) {
      calls.removeStorageSync += 1;
      checkKey('removeStorageSync', key);
      storage.delete(key);
    },
    clearStorageSync() {
      calls.clearStorageSync += 1;
      storage.clear();
    },
    __tapPhoneButton(opts = {}) {
      calls.tapPhoneButton += 1;
      if (opts.deny) return { errMsg: 'getPhoneNumber:fail user deny' };
      const { code, encryptedData, iv } = simulator.phoneCode({
        appId,
        user,
        ...(opts.phoneNumber === undefined ? {} : { phoneNumber: opts.phoneNumber }),
        ...(opts.countryCode === undefined ? {} : { countryCode: opts.countryCode }),
      });
      return { errMsg: 'getPhoneNumber:ok', code, encryptedData, iv };
    },
    __calls: calls,
    __setOffline(value) {
      offline = value;
    },
  };
  return fake;
}

/** Runs `work` and reports like the runtime: callbacks when any is given, else a Promise. */
function settle<S, P extends WxCallbacks<S>>(option: P | undefined, work: () => Promise<S>): WxAsync<P, S> {
  return report(option, work) as WxAsync<P, S>;
}

function report<S>(option: WxCallbacks<S> | undefined, work: () => Promise<S>): Promise<S> | undefined {
  const promise = work().catch((error: unknown) => {
    const failure = error instanceof WxFailure ? error : new WxFailure(`fail ${describe(error)}`, ERRNO_UNKNOWN);
    throw plain(failure);
  });
  if (!option || !hasCallbacks(option)) return promise;
  promise.then(
    (result) => {
      option.success?.(result);
      option.complete?.(result as S & WxCompleteResult);
    },
    (error: WxFailResult) => {
      option.fail?.(error);
      option.complete?.(error);
    },
  );
  return undefined;
}

function hasCallbacks(option: WxCallbacks<never>): boolean {
  return option.success !== undefined || option.fail !== undefined || option.complete !== undefined;
}

function plain(error: WxFailure): WxFailResult {
  return { errMsg: error.errMsg, errno: error.errno };
}

// ---- request ----

function startRequest(
  option: FakeRequestOption,
  fetchImpl: typeof fetch,
  isOffline: () => boolean,
): FakeRequestTask | (FakeRequestTask & Promise<FakeRequestSuccess>) {
  const controller = new AbortController();
  const listeners = new Set<(result: FakeHeadersReceived) => void>();
  let reason: 'abort' | 'timeout' | null = null;

  const run = async (): Promise<FakeRequestSuccess> => {
    await Promise.resolve();
    if (typeof option?.url !== 'string') throw new WxFailure('request:fail parameter error: url should be String', 1);
    if (isOffline()) throw new WxFailure('request:fail net::ERR_INTERNET_DISCONNECTED', ERRNO_NETWORK);
    if (reason === 'abort') throw new WxFailure('request:fail abort', ERRNO_UNKNOWN);
    const method = (option.method ?? 'GET').toUpperCase();
    const headers = new Headers();
    for (const [name, value] of Object.entries(option.header ?? {})) {
      if (value !== undefined && value !== null) headers.set(name, String(value));
    }
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    let url: URL;
    try {
      url = new URL(option.url);
    } catch {
      throw new WxFailure(`request:fail invalid url "${option.url}"`, ERRNO_UNKNOWN);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new WxFailure(`request:fail invalid url "${option.url}"`, ERRNO_UNKNOWN);
    }
    let body: string | ArrayBuffer | undefined;
    const { data } = option;
    if (method === 'GET' || method === 'HEAD') {
      if (typeof data === 'string' && data !== '') url.search += `${url.search ? '&' : ''}${data}`;
      else if (isRecord(data)) {
        for (const [key, value] of Object.entries(data)) {
          if (value !== undefined)
            url.searchParams.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
        }
      }
    } else if (data instanceof ArrayBuffer || typeof data === 'string') {
      body = data;
    } else if (isRecord(data)) {
      body = headers.get('content-type')?.includes('application/x-www-form-urlencoded')
        ? new URLSearchParams(Object.entries(data).map(([k, v]): [string, string] => [k, String(v)])).toString()
        : JSON.stringify(data);
    }
    const timer = setTimeout(() => {
      reason ??= 'timeout';
      controller.abort();
    }, option.timeout ?? DEFAULT_REQUEST_TIMEOUT_MS);
    try {
      const response = await fetchImpl(url, { method, headers, body, signal: controller.signal, redirect: 'follow' });
      const header = Object.fromEntries(response.headers);
      const cookies = response.headers.getSetCookie();
      for (const listener of listeners) listener({ header, cookies, statusCode: response.status });
      let payload: unknown;
      if (option.responseType === 'arraybuffer') payload = await response.arrayBuffer();
      else {
        const text = await response.text();
        payload = text;
        if ((option.dataType ?? 'json') === 'json') {
          try {
            payload = JSON.parse(text);
          } catch {
            payload = text;
          }
        }
      }
      return { data: payload, statusCode: response.status, header, cookies, errMsg: 'request:ok' };
    } catch (error) {
      if (reason === 'timeout') throw new WxFailure('request:fail timeout', ERRNO_TIMEOUT);
      if (reason === 'abort') throw new WxFailure('request:fail abort', ERRNO_UNKNOWN);
      throw new WxFailure(`request:fail ${networkReason(error)}`, ERRNO_NETWORK);
    } finally {
      clearTimeout(timer);
    }
  };

  const task: FakeRequestTask = {
    abort() {
      reason ??= 'abort';
      controller.abort();
    },
    onHeadersReceived(listener) {
      listeners.add(listener);
    },
    offHeadersReceived(listener) {
      if (listener) listeners.delete(listener);
      else listeners.clear();
    },
    onChunkReceived() {},
    offChunkReceived() {},
  };
  const promise = report(option, run);
  return promise === undefined ? task : Object.assign(promise, task);
}

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return describe(error);
}

// ---- storage ----

function checkKey(api: string, key: unknown): void {
  if (typeof key !== 'string' || key === '')
    throw new Error(`${api}:fail parameter error: parameter.key should be String`);
}

/** A deep copy through JSON, as the runtime stores values; Dates survive as Dates. */
function copy(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (value instanceof Date) return new Date(value.getTime());
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

// ---- helpers ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof ArrayBuffer) && !Array.isArray(value);
}

function cloudId(iv: string): string {
  return iv === '' ? '' : `sim_${Buffer.from(iv, 'base64').toString('hex').slice(0, 24)}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
