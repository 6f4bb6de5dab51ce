import type { WechatRequest, WireObject } from '../http.js';
import { wireString } from '../http.js';

/** What a `wx.login` code is exchanged for. */
export interface Code2SessionResult {
  openId: string;
  /** base64 of 16 bytes; a secret: never log it or send it to the client */
  sessionKey: string;
  /** present only when the app is bound to an Open Platform account */
  unionId: string | null;
}

/** jscode2session success body (text/plain JSON, no errcode on success). */
interface WireCode2Session {
  openid: string;
  session_key: string;
  unionid?: string;
}

function parse(wire: WireObject): Code2SessionResult | null {
  const openid = wireString(wire, 'openid');
  const sessionKey = wireString(wire, 'session_key');
  if (openid === null || sessionKey === null) return null;
  const unionid = wire.unionid;
  if (unionid !== undefined && unionid !== null && typeof unionid !== 'string') return null;
  const typed: WireCode2Session = { openid, session_key: sessionKey, ...(unionid ? { unionid } : {}) };
  return { openId: typed.openid, sessionKey: typed.session_key, unionId: typed.unionid ?? null };
}

/** `GET /sns/jscode2session` (appid, secret and code travel in the query). */
export function code2SessionRequest(
  credentials: { appId: string; secret: string },
  code: string,
  signal?: AbortSignal,
): WechatRequest<Code2SessionResult> {
  return {
    endpoint: 'jscode2session',
    method: 'GET',
    path: '/sns/jscode2session',
    query: { appid: credentials.appId, secret: credentials.secret, js_code: code, grant_type: 'authorization_code' },
    parse,
    signal,
  };
}
