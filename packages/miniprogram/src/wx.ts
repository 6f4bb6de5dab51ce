/**
 * The few members of the mini program's `wx` the SDK uses, typed loosely
 * enough that both the real `wx` (miniprogram-api-typings) and test fakes fit.
 * Every call uses `success`/`fail` callbacks, which every base library supports.
 */

/** What a `wx` API gives to `fail`. `errno` exists from base library 2.24.0. */
export interface WxFail {
  errMsg: string;
  errno?: number;
}

interface WxCallbacks<S> {
  success?: (result: S) => void;
  fail?: (error: WxFail) => void;
}

/** The methods `wx.request` documents (it has no PATCH). */
export type WxMethod = 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT';

/** What `wx.request` gives to `success` (any HTTP status counts as success there). */
export interface WxResponse {
  data: unknown;
  statusCode: number;
  header?: unknown;
}

export interface WxRequestOption extends WxCallbacks<WxResponse> {
  url: string;
  method?: WxMethod;
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, string>;
  /** in ms */
  timeout?: number;
}

/** The part of `wx` the SDK calls. The global `wx` of the mini program runtime satisfies it. */
export interface WxLike {
  login(option: WxCallbacks<{ code: string }> & { timeout?: number }): unknown;
  checkSession(option: WxCallbacks<unknown>): unknown;
  getSetting(option: WxCallbacks<{ authSetting: unknown }>): unknown;
  request(option: WxRequestOption): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, data: unknown): void;
  removeStorageSync(key: string): void;
}

/** Calls a callback-style `wx` API and settles with what it reports. */
export function callWx<S>(
  invoke: (callbacks: { success: (result: S) => void; fail: (error: WxFail) => void }) => unknown,
): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    invoke({ success: resolve, fail: reject });
  });
}

/** True for the plain `{ errMsg }` objects `wx` APIs fail with. */
export function isWxFail(value: unknown): value is WxFail {
  return typeof value === 'object' && value !== null && typeof (value as { errMsg?: unknown }).errMsg === 'string';
}
