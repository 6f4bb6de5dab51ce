import type { ErrorCode } from '@wxlogin/protocol';

/**
 * Codes the SDK adds to the service's own error codes:
 * - `network_error`: `wx.request` failed (offline, DNS, timeout, domain not whitelisted) after the bounded retries.
 * - `login_failed`: `wx.login` failed, or WeChat kept refusing fresh login codes.
 * - `user_denied`: the user declined (phone button, user profile dialog).
 * - `phone_quota_exhausted`: the phone button reported errno 1400001 (the paid quota is used up).
 * - `data_stale`: encrypted data was obtained under a WeChat session that is no longer current and the SDK had
 *   no way to obtain it again; the SDK has already logged in again, so ask the user once more (another tap).
 * - `wx_api_failed`: another `wx` API failure; `errMsg` says which.
 * - `bad_response`: the service answered 2xx with a body that is not what the contract says.
 * - `http_error`: a non-2xx answer without the service's error envelope (your own API, a proxy page).
 */
export type ClientErrorCode =
  | 'network_error'
  | 'login_failed'
  | 'user_denied'
  | 'phone_quota_exhausted'
  | 'data_stale'
  | 'wx_api_failed'
  | 'bad_response'
  | 'http_error';

/** Every code a {@link WxloginError} can carry: the service's codes (shared/API.md) plus the SDK's own. */
export type WxloginErrorCode = ErrorCode | ClientErrorCode;

/** The service's error codes, as in `@wxlogin/protocol` (kept inline: the SDK has no runtime dependencies). */
export const SERVICE_ERROR_CODES: readonly ErrorCode[] = [
  'invalid_request',
  'invalid_code',
  'code_used',
  'invalid_signature',
  'decrypt_failed',
  'watermark_mismatch',
  'unauthorized',
  'invalid_refresh_token',
  'wechat_session_expired',
  'forbidden',
  'user_blocked',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'wechat_error',
  'wechat_unavailable',
  'service_unavailable',
];

export interface WxloginErrorDetails {
  /** HTTP status of the answer, when there was one. */
  status?: number | null;
  /** The service's request id (header `X-Request-Id`), to quote when reporting a problem. */
  requestId?: string | null;
  /** WeChat's own errcode, when the service passed one on. */
  wechatErrcode?: number | null;
  /** The `errMsg` of a failed `wx` API. */
  errMsg?: string | null;
  /** What caused it (a `wx` failure object, or an earlier error). */
  cause?: unknown;
}

/**
 * The one error type the SDK rejects with. Switch on `code`; `message` is for people.
 *
 * @example
 * try { await auth.bindPhone(e.detail) } catch (error) {
 *   if (isWxloginError(error, 'user_denied')) return;
 *   throw error;
 * }
 */
export class WxloginError extends Error {
  override readonly name = 'WxloginError';
  readonly code: WxloginErrorCode;
  /** HTTP status, or null when no answer arrived (network, `wx` API failures). */
  readonly status: number | null;
  readonly requestId: string | null;
  readonly wechatErrcode: number | null;
  readonly errMsg: string | null;

  constructor(code: WxloginErrorCode, message: string, details: WxloginErrorDetails = {}) {
    super(message);
    this.code = code;
    this.status = details.status ?? null;
    this.requestId = details.requestId ?? null;
    this.wechatErrcode = details.wechatErrcode ?? null;
    this.errMsg = details.errMsg ?? null;
    if (details.cause !== undefined) {
      // set by hand: `Error` options are ES2022, older mini program runtimes lack them
      Object.defineProperty(this, 'cause', { value: details.cause, writable: true, configurable: true });
    }
  }
}

/** True when `value` is a {@link WxloginError} (with that `code`, when given). */
export function isWxloginError(value: unknown, code?: WxloginErrorCode): value is WxloginError {
  return value instanceof WxloginError && (code === undefined || value.code === code);
}

/** True when `value` is one of the service's error codes. */
export function isServiceErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (SERVICE_ERROR_CODES as readonly string[]).indexOf(value) !== -1;
}
