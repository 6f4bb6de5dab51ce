/**
 * WeChat's canonical errmsg texts (shared/wechat-api.md §13) and the request id
 * suffix the real API appends, so clients learn to match on `errcode` only.
 */
import type { RandomBytes } from './crypto.js';

const TEXTS: Readonly<Record<number, string>> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40066: 'invalid url',
  40097: 'invalid args',
  40125: 'invalid appsecret',
  40163: 'code been used',
  40164: 'invalid ip, not in whitelist',
  40226: 'code blocked',
  40243: 'AppSecret frozen',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit, must slower, retry next minute',
  47001: 'data format error',
  48001: 'api unauthorized',
  50004: 'api forbidden for irregularities',
  50007: 'account freezed',
  87007: 'session_key is not existd or expired',
  87008: 'invalid sig_method',
  87009: 'invalid signature',
  89503: 'this ip requires administrator confirmation',
};

/** The canonical text of an errcode, or a generic one for codes the table does not know. */
export function canonicalErrmsg(errcode: number): string {
  return TEXTS[errcode] ?? 'error';
}

/** A request id like WeChat's: three groups of 8 hex digits, the first being the unix time in hex. */
export function newRid(nowMs: number, random: RandomBytes): string {
  const seconds = Math.max(0, Math.floor(nowMs / 1000)) % 0x1_0000_0000;
  const rest = Buffer.from(random(8)).toString('hex');
  return `${seconds.toString(16).padStart(8, '0')}-${rest.slice(0, 8)}-${rest.slice(8, 16)}`;
}

/** `"<text>, rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"` */
export function withRid(text: string, rid: string): string {
  return `${text}, rid: ${rid}`;
}
