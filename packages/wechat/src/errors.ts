/**
 * Typed failures of the WeChat server API client, and the one table that maps
 * WeChat's errcodes to stable codes and retryability. Callers switch on `code`;
 * WeChat's own number and text travel as data (`errcode`, `errmsg`).
 */

/** The WeChat server endpoints this package calls. */
export type WechatEndpoint =
  | 'jscode2session'
  | 'token'
  | 'stable_token'
  | 'checksession'
  | 'resetusersessionkey'
  | 'getuserphonenumber';

/** Stable codes of a {@link WechatError}. */
export type WechatErrorCode =
  | 'system_busy'
  | 'invalid_code'
  | 'code_used'
  | 'user_blocked'
  | 'rate_limited'
  | 'daily_quota'
  | 'invalid_credential'
  | 'invalid_access_token'
  | 'access_token_missing'
  | 'access_token_expired'
  | 'invalid_appid'
  | 'invalid_secret'
  | 'invalid_grant_type'
  | 'ip_not_whitelisted'
  | 'secret_frozen'
  | 'invalid_args'
  | 'invalid_url'
  | 'missing_parameter'
  | 'require_post'
  | 'api_unauthorized'
  | 'session_key_expired'
  | 'invalid_sig_method'
  | 'invalid_signature'
  | 'ip_confirmation'
  | 'account_restricted'
  | 'unknown_errcode'
  | 'timeout'
  | 'network'
  | 'unexpected';

/** What one errcode means to us. `retryable`: a prompt retry of the same safe call may succeed. */
export interface ErrcodeInfo {
  readonly code: WechatErrorCode;
  readonly retryable: boolean;
  /** our own short description, used in messages instead of WeChat's errmsg */
  readonly description: string;
}

const entry = (code: WechatErrorCode, description: string, retryable = false): ErrcodeInfo =>
  Object.freeze({ code, retryable, description });

/**
 * Every errcode that shared/wechat-api.md lists for jscode2session, token, stable_token,
 * checksession, resetusersessionkey and getuserphonenumber (§1–§5, §13).
 * Only -1 is retryable: 45011/45009 are quotas that a retry within seconds only burns further.
 */
export const ERRCODE_TABLE: ReadonlyMap<number, ErrcodeInfo> = new Map<number, ErrcodeInfo>([
  [-1, entry('system_busy', 'system busy', true)],
  [40001, entry('invalid_credential', 'invalid credential')],
  [40002, entry('invalid_grant_type', 'invalid grant_type')],
  [40013, entry('invalid_appid', 'invalid appid')],
  [40014, entry('invalid_access_token', 'invalid access_token')],
  [40029, entry('invalid_code', 'invalid code')],
  [40066, entry('invalid_url', 'invalid url')],
  [40097, entry('invalid_args', 'invalid args')],
  [40125, entry('invalid_secret', 'invalid appsecret')],
  [40163, entry('code_used', 'code been used')],
  [40164, entry('ip_not_whitelisted', 'ip not in whitelist')],
  [40226, entry('user_blocked', 'code blocked')],
  [40243, entry('secret_frozen', 'appsecret frozen')],
  [41001, entry('access_token_missing', 'access_token missing')],
  [41002, entry('missing_parameter', 'appid missing')],
  [41004, entry('missing_parameter', 'appsecret missing')],
  [41008, entry('missing_parameter', 'missing code')],
  [42001, entry('access_token_expired', 'access_token expired')],
  [43002, entry('require_post', 'require POST method')],
  [44002, entry('missing_parameter', 'empty post data')],
  [45009, entry('daily_quota', 'daily api quota reached')],
  [45011, entry('rate_limited', 'minute api quota reached')],
  [47001, entry('invalid_args', 'data format error')],
  [48001, entry('api_unauthorized', 'api unauthorized')],
  [50004, entry('account_restricted', 'token api forbidden')],
  [50007, entry('account_restricted', 'account frozen')],
  [87007, entry('session_key_expired', 'session_key not existing or expired')],
  [87008, entry('invalid_sig_method', 'invalid sig_method')],
  [87009, entry('invalid_signature', 'invalid signature')],
  [89501, entry('ip_confirmation', 'ip waiting for admin confirmation')],
  [89503, entry('ip_confirmation', 'ip needs admin confirmation')],
  [89506, entry('ip_confirmation', 'ip rejected by admin (24 h)')],
  [89507, entry('ip_confirmation', 'ip rejected by admin (1 h)')],
]);

const UNKNOWN: ErrcodeInfo = entry('unknown_errcode', 'unknown errcode');

/** The table row of an errcode; `unknown_errcode` (not retryable) for anything not listed. */
export function errcodeInfo(errcode: number): ErrcodeInfo {
  return ERRCODE_TABLE.get(errcode) ?? UNKNOWN;
}

/** A failed call to WeChat's server API. Never carries the secret, an access token or a session key. */
export class WechatError extends Error {
  override readonly name = 'WechatError' as const;
  readonly code: WechatErrorCode;
  /** WeChat's number when it answered with one */
  readonly errcode: number | null;
  /** WeChat's errmsg, sanitized (token-like strings redacted, length bounded) */
  readonly errmsg: string | null;
  readonly endpoint: WechatEndpoint;
  /** a prompt retry may succeed (for code2Session and getPhoneNumber: only with a new code) */
  readonly retryable: boolean;

  constructor(
    message: string,
    init: {
      code: WechatErrorCode;
      endpoint: WechatEndpoint;
      retryable: boolean;
      errcode?: number | null;
      errmsg?: string | null;
      cause?: unknown;
    },
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.endpoint = init.endpoint;
    this.retryable = init.retryable;
    this.errcode = init.errcode ?? null;
    this.errmsg = init.errmsg ?? null;
  }
}

const MAX_ERRMSG_LENGTH = 300;

/**
 * Makes WeChat's errmsg safe to keep: drops control characters, redacts anything
 * that looks like a credential (`access_token=…`, `secret=…`, long base64/hex runs)
 * and bounds the length. Request ids (`rid: 652d44d0-1d0af18b-5b069232`) survive.
 */
export function sanitizeErrmsg(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = value
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/(access_token|secret|session_key|js_code|code)=[^&\s,]*/gi, '$1=[redacted]')
    .replace(/[A-Za-z0-9_\-+/=]{32,}/g, '[redacted]');
  return cleaned.length > MAX_ERRMSG_LENGTH ? `${cleaned.slice(0, MAX_ERRMSG_LENGTH)}…` : cleaned;
}

/** The error for a response whose errcode is present and non-zero. */
export function errorFromErrcode(endpoint: WechatEndpoint, errcode: number, errmsg: unknown): WechatError {
  const info = errcodeInfo(errcode);
  return new WechatError(`WeChat ${endpoint} failed: errcode ${errcode} (${info.description})`, {
    code: info.code,
    endpoint,
    retryable: info.retryable,
    errcode,
    errmsg: sanitizeErrmsg(errmsg),
  });
}

export type OpenDataErrorReason =
  | 'bad_base64'
  | 'bad_key'
  | 'bad_iv'
  | 'bad_padding'
  | 'not_json'
  | 'watermark_mismatch';

const OPEN_DATA_MESSAGES: Record<OpenDataErrorReason, string> = {
  bad_base64: 'encryptedData is not strict base64 of a non-empty multiple of 16 bytes',
  bad_key: 'session key is not strict base64 of 16 bytes',
  bad_iv: 'iv is not strict base64 of 16 bytes',
  bad_padding: 'decryption failed (wrong session key or corrupted data)',
  not_json: 'decrypted data is not a JSON object',
  watermark_mismatch: 'watermark is missing or belongs to another appid',
};

/** Open data (encryptedData/iv, signatures) that cannot be decrypted or trusted. The message never holds key material. */
export class OpenDataError extends Error {
  override readonly name = 'OpenDataError' as const;
  readonly reason: OpenDataErrorReason;

  constructor(reason: OpenDataErrorReason, options?: { cause?: unknown }) {
    super(`open data rejected: ${OPEN_DATA_MESSAGES[reason]}`, options);
    this.reason = reason;
  }
}
