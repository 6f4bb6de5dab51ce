/**
 * The stable error codes of the wxlogin HTTP contract (shared/API.md) and the
 * one catalog that maps each code to its HTTP status. Clients switch on `code`;
 * the message is for people and may change.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_code: 400,
  code_used: 400,
  invalid_signature: 400,
  decrypt_failed: 400,
  watermark_mismatch: 400,
  unauthorized: 401,
  invalid_refresh_token: 401,
  wechat_session_expired: 401,
  forbidden: 403,
  user_blocked: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  wechat_error: 502,
  wechat_unavailable: 503,
  service_unavailable: 503,
} as const;

/** A stable error code of the wxlogin HTTP contract. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every error code, in catalog order. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** The HTTP status that goes with an error code. */
export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/** True when `value` is one of the contract's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** The body of every error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    /** WeChat's own errcode, present only when WeChat answered with one. */
    wechatErrcode?: number;
  };
  requestId: string;
}

/** True when `value` has the shape of the contract's error envelope. */
export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const { error, requestId } = value as { error?: unknown; requestId?: unknown };
  if (typeof requestId !== 'string' || typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return isErrorCode(code) && typeof message === 'string';
}
