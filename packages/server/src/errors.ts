/**
 * The service's error: a contract `code` (its HTTP status comes from the one
 * catalog in @wxlogin/protocol), a message safe to show, and WeChat's errcode
 * when WeChat answered. `detail` is for logs only (never sent to the client).
 */
import { type ErrorCode, statusOf } from '@wxlogin/protocol';
import { WechatError, type WechatErrorCode } from '@wxlogin/wechat';
import { StateUnavailableError } from './state/types.js';
import { StoreUnavailableError } from './store/types.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { wechatErrcode?: number; retryAfterSeconds?: number; detail?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.statusCode = statusOf(code);
  }
}

/** WeChat's failure → our contract code and the message the client sees. */
const WECHAT_TO_API: Partial<Record<WechatErrorCode, { code: ErrorCode; message: string; retryAfter?: number }>> = {
  invalid_code: { code: 'invalid_code', message: 'WeChat rejected the code; call wx.login again' },
  code_used: { code: 'code_used', message: 'this code was already used; call wx.login again' },
  user_blocked: { code: 'user_blocked', message: 'WeChat refused this user' },
  rate_limited: { code: 'rate_limited', message: 'WeChat rate limit reached; retry later', retryAfter: 60 },
  system_busy: { code: 'wechat_unavailable', message: 'WeChat is busy; retry later', retryAfter: 2 },
  timeout: { code: 'wechat_unavailable', message: 'WeChat did not answer in time; retry later', retryAfter: 2 },
  network: { code: 'wechat_unavailable', message: 'WeChat cannot be reached; retry later', retryAfter: 2 },
};

/** Maps any failure of a WeChat call to an ApiError (unknown failures → 502 wechat_error). */
export function fromWechatError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof WechatError)) {
    return new ApiError('wechat_error', 'WeChat answered something unexpected', {
      cause: error,
      detail: 'non-wechat error',
    });
  }
  const mapped = WECHAT_TO_API[error.code] ?? {
    code: 'wechat_error' as const,
    message: 'WeChat answered something unexpected',
  };
  return new ApiError(mapped.code, mapped.message, {
    ...(error.errcode !== null ? { wechatErrcode: error.errcode } : {}),
    ...(mapped.retryAfter !== undefined ? { retryAfterSeconds: mapped.retryAfter } : {}),
    detail: `${error.endpoint}: ${error.code}`,
    cause: error,
  });
}

/** A store or shared state that cannot be reached → 503 `service_unavailable`; null for any other failure. */
export function fromStorageFailure(error: unknown): ApiError | null {
  if (error instanceof StoreUnavailableError || error instanceof StateUnavailableError) {
    return new ApiError('service_unavailable', 'the service cannot reach its storage; retry later', {
      retryAfterSeconds: 1,
      cause: error,
    });
  }
  return null;
}
