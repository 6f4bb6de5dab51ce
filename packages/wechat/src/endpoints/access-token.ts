import type { WechatRequest, WireObject } from '../http.js';
import { wireNumber, wireString } from '../http.js';

/** A freshly issued WeChat access token. */
export interface IssuedAccessToken {
  token: string;
  expiresInSeconds: number;
}

/** Success body of both `cgi-bin/token` and `cgi-bin/stable_token` (no errcode on success). */
interface WireAccessToken {
  access_token: string;
  expires_in: number;
}

function parse(wire: WireObject): IssuedAccessToken | null {
  const token = wireString(wire, 'access_token');
  const expiresIn = wireNumber(wire, 'expires_in');
  if (token === null || expiresIn === null || expiresIn <= 0) return null;
  const typed: WireAccessToken = { access_token: token, expires_in: expiresIn };
  return { token: typed.access_token, expiresInSeconds: typed.expires_in };
}

/** `POST /cgi-bin/stable_token` with a JSON body; `forceRefresh` rotates the token (WeChat allows 20 a day). */
export function stableTokenRequest(
  credentials: { appId: string; secret: string },
  forceRefresh: boolean,
): WechatRequest<IssuedAccessToken> {
  return {
    endpoint: 'stable_token',
    method: 'POST',
    path: '/cgi-bin/stable_token',
    query: {},
    body: {
      grant_type: 'client_credential',
      appid: credentials.appId,
      secret: credentials.secret,
      force_refresh: forceRefresh,
    },
    parse,
  };
}

/** `GET /cgi-bin/token`: every call issues a new token; the previous one keeps working for 5 minutes. */
export function classicTokenRequest(credentials: { appId: string; secret: string }): WechatRequest<IssuedAccessToken> {
  return {
    endpoint: 'token',
    method: 'GET',
    path: '/cgi-bin/token',
    query: { grant_type: 'client_credential', appid: credentials.appId, secret: credentials.secret },
    parse,
  };
}
