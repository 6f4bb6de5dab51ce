import { hmacSessionSignature } from '../crypto.js';
import type { WechatRequest, WireObject } from '../http.js';
import { wireString } from '../http.js';

/** The query both session-key endpoints take: the key itself never travels, only its HMAC of "". */
function signedQuery(accessToken: string, input: { openId: string; sessionKey: string }): Record<string, string> {
  return {
    access_token: accessToken,
    openid: input.openId,
    signature: hmacSessionSignature(input.sessionKey),
    sig_method: 'hmac_sha256',
  };
}

/** checksession success body (a wrong or stale key is errcode 87009 instead). */
interface WireCheckSession {
  errcode: 0;
  errmsg: string;
}

function isCheckSessionOk(wire: WireObject): wire is WireObject & WireCheckSession {
  return wire.errcode === 0;
}

/** `GET /wxa/checksession`: success is `{"errcode":0,"errmsg":"ok"}`; a wrong/stale key is 87009. */
export function checkSessionRequest(
  accessToken: string,
  input: { openId: string; sessionKey: string },
): WechatRequest<true> {
  return {
    endpoint: 'checksession',
    method: 'GET',
    path: '/wxa/checksession',
    query: signedQuery(accessToken, input),
    // Success echoes errcode 0; anything else without an errcode (e.g. `{}`) is not a verdict.
    parse: (wire) => (isCheckSessionOk(wire) ? true : null),
  };
}

/** resetusersessionkey success body. */
interface WireResetSessionKey {
  errcode: number;
  errmsg: string;
  openid: string;
  session_key: string;
}

function parseReset(wire: WireObject): { openId: string; sessionKey: string } | null {
  const openid = wireString(wire, 'openid');
  const sessionKey = wireString(wire, 'session_key');
  if (openid === null || sessionKey === null) return null;
  const typed: Pick<WireResetSessionKey, 'openid' | 'session_key'> = { openid, session_key: sessionKey };
  return { openId: typed.openid, sessionKey: typed.session_key };
}

/** `GET /wxa/resetusersessionkey`: rotates the key at once and returns the new one (same expiry). */
export function resetSessionKeyRequest(
  accessToken: string,
  input: { openId: string; sessionKey: string },
): WechatRequest<{ openId: string; sessionKey: string }> {
  return {
    endpoint: 'resetusersessionkey',
    method: 'GET',
    path: '/wxa/resetusersessionkey',
    query: signedQuery(accessToken, input),
    parse: parseReset,
  };
}
