// Test-only helpers. The crypto here is written independently of the
// simulator's own routines, so a test cannot pass because both share a bug.
import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { DEV_APP, type SimApp, type Simulator } from '../src/index.js';

export const RID = /, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/;
export const OPENID = /^o[A-Za-z0-9_-]{27}$/;
export const SESSION_KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Another app on the dev app's open platform account (same unionids). */
export const SIBLING_APP: SimApp = {
  appId: 'wx1111111111111111',
  secret: 'b'.repeat(32),
  openPlatformId: DEV_APP.openPlatformId,
};
/** An app with no open platform binding (no unionid). */
export const LONE_APP: SimApp = { appId: 'wx2222222222222222', secret: 'c'.repeat(32) };
export const APPS: SimApp[] = [{ ...DEV_APP }, SIBLING_APP, LONE_APP];

export function hmacEmpty(sessionKey: string): string {
  return createHmac('sha256', sessionKey).update('').digest('hex');
}

export function sha1Hex(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

export function decrypt(sessionKey: string, encryptedData: string, iv: string): string {
  const d = createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(iv, 'base64'));
  return Buffer.concat([d.update(Buffer.from(encryptedData, 'base64')), d.final()]).toString('utf8');
}

/** The plaintext, or null when the key does not open it (bad padding or not JSON). */
export function tryDecryptJson(sessionKey: string, encryptedData: string, iv: string): Record<string, unknown> | null {
  try {
    return JSON.parse(decrypt(sessionKey, encryptedData, iv)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** A hand-driven clock. */
export class Clock {
  ms = 1_700_000_000_000;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface Reply {
  status: number;
  type: string | null;
  text: string;
  json: Record<string, unknown>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, type: res.headers.get('content-type'), text, json };
}

export async function get(sim: Simulator, path: string, query: Record<string, string> = {}): Promise<Reply> {
  const qs = new URLSearchParams(query).toString();
  return reply(await fetch(`${sim.url}${path}${qs ? `?${qs}` : ''}`));
}

export async function post(
  sim: Simulator,
  path: string,
  body: unknown,
  query: Record<string, string> = {},
  method = 'POST',
): Promise<Reply> {
  const qs = new URLSearchParams(query).toString();
  const res = await fetch(`${sim.url}${path}${qs ? `?${qs}` : ''}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return reply(res);
}

export function code2Session(sim: Simulator, code: string, app: SimApp = DEV_APP): Promise<Reply> {
  return get(sim, '/sns/jscode2session', {
    appid: app.appId,
    secret: app.secret,
    js_code: code,
    grant_type: 'authorization_code',
  });
}

/** Logs a user in the way a server would: mint a code, redeem it; returns the session key. */
export async function login(
  sim: Simulator,
  user = 'alice',
  app: SimApp = DEV_APP,
): Promise<{ openid: string; sessionKey: string }> {
  const { code } = sim.mintLoginCode({ appId: app.appId, user });
  const { json } = await code2Session(sim, code, app);
  if (typeof json.session_key !== 'string' || typeof json.openid !== 'string')
    throw new Error(`login failed: ${JSON.stringify(json)}`);
  return { openid: json.openid, sessionKey: json.session_key };
}

export async function classicToken(sim: Simulator, app: SimApp = DEV_APP): Promise<string> {
  const { json } = await get(sim, '/cgi-bin/token', {
    grant_type: 'client_credential',
    appid: app.appId,
    secret: app.secret,
  });
  if (typeof json.access_token !== 'string') throw new Error(`token failed: ${JSON.stringify(json)}`);
  return json.access_token;
}

export function stableToken(sim: Simulator, forceRefresh?: boolean, app: SimApp = DEV_APP): Promise<Reply> {
  return post(sim, '/cgi-bin/stable_token', {
    grant_type: 'client_credential',
    appid: app.appId,
    secret: app.secret,
    ...(forceRefresh === undefined ? {} : { force_refresh: forceRefresh }),
  });
}

export function checkSession(
  sim: Simulator,
  token: string,
  openid: string,
  signature: string,
  sigMethod = 'hmac_sha256',
): Promise<Reply> {
  return get(sim, '/wxa/checksession', { access_token: token, openid, signature, sig_method: sigMethod });
}

export function resetSessionKey(sim: Simulator, token: string, openid: string, signature: string): Promise<Reply> {
  return get(sim, '/wxa/resetusersessionkey', { access_token: token, openid, signature, sig_method: 'hmac_sha256' });
}

export function phoneNumber(sim: Simulator, token: string, code: string): Promise<Reply> {
  return post(sim, '/wxa/business/getuserphonenumber', { code }, { access_token: token });
}

/** errcode of a token against checksession (0 = the token works). */
export async function tokenErrcode(sim: Simulator, token: string): Promise<number> {
  const { openid, sessionKey } = await loginOnce(sim);
  const { json } = await checkSession(sim, token, openid, hmacEmpty(sessionKey));
  return json.errcode as number;
}

const probes = new WeakMap<Simulator, { openid: string; sessionKey: string }>();
async function loginOnce(sim: Simulator): Promise<{ openid: string; sessionKey: string }> {
  const found = probes.get(sim);
  if (found && sim.sessionKeyOf(DEV_APP.appId, found.openid) === found.sessionKey) return found;
  const fresh = await login(sim, 'token-probe');
  probes.set(sim, fresh);
  return fresh;
}
