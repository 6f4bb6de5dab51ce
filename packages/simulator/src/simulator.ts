/**
 * A faithful fake of `api.weixin.qq.com` (shared/wechat-api.md §0–§5, §12) with
 * fault injection, call counters and a small control API under `/__sim/`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pooledRandomBytes, type RandomBytes, sessionSignature, signatureMatches } from './crypto.js';
import { canonicalErrmsg, newRid, withRid } from './errmsg.js';
import { isRefusal, type LoginCodeState, Model, type Refusal, type SimApp } from './model.js';

export type { SimApp } from './model.js';

/** The WeChat endpoints the simulator serves. */
export type SimEndpoint =
  | 'jscode2session'
  | 'token'
  | 'stable_token'
  | 'checksession'
  | 'resetusersessionkey'
  | 'getuserphonenumber';

/** Every endpoint, in a stable order. */
export const SIM_ENDPOINTS: readonly SimEndpoint[] = Object.freeze([
  'jscode2session',
  'token',
  'stable_token',
  'checksession',
  'resetusersessionkey',
  'getuserphonenumber',
]);

/** The built-in development app (used by `wxlogin dev` and tests). Its secret is public: never use it for a real app. */
export const DEV_APP: Readonly<{ appId: 'wx0123456789abcdef'; secret: string; openPlatformId: string }> = Object.freeze(
  {
    appId: 'wx0123456789abcdef',
    secret: '5ec7e7de5ec7e7de5ec7e7de5ec7e7de',
    openPlatformId: 'wxlogin-dev-open-platform',
  },
);

export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** @default [DEV_APP] */
  apps?: SimApp[];
  /** clock in ms; drives code, session-key and access-token lifetimes. @default Date.now */
  now?: () => number;
  /**
   * A new login code redeemed via jscode2session rotates the user's session_key unless the last rotation was
   * less than this many seconds ago. @default 0 (always rotates)
   */
  sessionKeyRotationMinSeconds?: number;
  /** lifetime of access tokens, in seconds. @default 7200 */
  accessTokenTtlSeconds?: number;
  /** receives one line per request (method, path, outcome; never a query string or a secret). @default silent */
  logger?: (line: string) => void;
  /** source of random bytes for codes, keys, tokens and ivs. @default node:crypto randomBytes, drawn 4 KiB at a time */
  randomBytes?: (size: number) => Uint8Array;
}

/** What wx.login gives, plus who it belongs to. */
export interface MintedCode {
  code: string;
  appId: string;
  openid: string;
  unionid: string | null;
}

/** What wx.getUserProfile / wx.getUserInfo give. */
export interface UserInfoResult {
  rawData: string;
  signature: string;
  encryptedData: string;
  iv: string;
  userInfo: Record<string, unknown>;
}

/** What the phone-number button gives (`e.detail`), plus the number for assertions. */
export interface PhoneResult {
  code: string;
  encryptedData: string;
  iv: string;
  errMsg: 'getPhoneNumber:ok';
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

/** A failure to inject into the next matching requests. */
export interface FaultSpec {
  endpoint: SimEndpoint | '*';
  /** how many matching requests it affects; default 1; 'always' until cleared */
  times?: number | 'always';
  /** answer {"errcode":N,"errmsg":"<canonical text>, rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"} with HTTP 200 */
  errcode?: number;
  /** replaces the canonical text of an `errcode` fault (the rid suffix is still added) */
  errmsg?: string;
  /** added latency before answering (combinable with the others; alone = normal answer, delayed) */
  delayMs?: number;
  /** answer an HTML error page (text/html, status 502) */
  html?: boolean;
  /** answer exactly this raw body (text/plain, status 200) */
  body?: string;
  /** destroy the socket without answering */
  drop?: boolean;
}

export interface Simulator {
  /** e.g. 'http://127.0.0.1:43121'; reading it before `listen()` throws a TypeError */
  readonly url: string;
  readonly apps: readonly SimApp[];
  /** @throws TypeError when the appId is already registered or a field is missing */
  addApp(app: SimApp): void;
  /**
   * What wx.login gives: a fresh single-use code (5 minutes) for `user` (any stable handle; default 'alice')
   * of `appId` (default the first app). Same user handle → same openid per app.
   */
  mintLoginCode(opts?: { appId?: string; user?: string }): MintedCode;
  /**
   * What wx.getUserProfile/getUserInfo give, encrypted and signed with the user's CURRENT session key.
   * `profile` overrides fields; `withOpenId` (default true) adds openId/unionId to the encrypted data like getUserInfo.
   * @throws TypeError when the user never logged in
   */
  userInfo(opts?: {
    appId?: string;
    user?: string;
    profile?: Record<string, unknown>;
    withOpenId?: boolean;
    anonymous?: boolean;
  }): UserInfoResult;
  /**
   * What the phone-number button gives: a single-use phone code (5 minutes) plus the legacy encryptedData/iv
   * under the current session key ('' when the user has none). Default phone '13800138000', country '86'.
   */
  phoneCode(opts?: { appId?: string; user?: string; phoneNumber?: string; countryCode?: string }): PhoneResult;
  /** current session_key of a user (an expired one included), or null */
  sessionKeyOf(appId: string, openid: string): string | null;
  openidOf(appId: string, user: string): string;
  /** like a re-login elsewhere */
  rotateSessionKey(appId: string, openid: string): void;
  /** checksession then says 87009 */
  expireSessionKey(appId: string, openid: string): void;
  /** every issued access token of the app (all apps when omitted; both families) becomes expired → 42001 */
  expireAccessTokens(appId?: string): void;
  /** a login or phone code → 40029 */
  expireCode(code: string): void;
  inject(fault: FaultSpec): void;
  clearFaults(): void;
  /** number of requests received per endpoint (all endpoints when omitted), including failed/faulted ones */
  calls(endpoint?: SimEndpoint): number;
  resetCalls(): void;
  /** startSimulator() already calls it */
  listen(): Promise<void>;
  close(): Promise<void>;
  /** the node:http request handler, for mounting */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Internal hooks for the fake `wx`; not part of the public surface. */
export interface SimulatorInternals {
  now(): number;
  loginCodeState(code: string): LoginCodeState | null;
  isCurrentKey(appId: string, openid: string, key: string): boolean;
}

const internals = new WeakMap<Simulator, SimulatorInternals>();

/** The internal hooks of a simulator made by {@link createSimulator}. */
export function internalsOf(simulator: Simulator): SimulatorInternals {
  const found = internals.get(simulator);
  if (!found) throw new TypeError('not a simulator made by createSimulator()');
  return found;
}

const ROUTES: ReadonlyMap<string, SimEndpoint> = new Map([
  ['/sns/jscode2session', 'jscode2session'],
  ['/cgi-bin/token', 'token'],
  ['/cgi-bin/stable_token', 'stable_token'],
  ['/wxa/checksession', 'checksession'],
  ['/wxa/resetusersessionkey', 'resetusersessionkey'],
  ['/wxa/business/getuserphonenumber', 'getuserphonenumber'],
]);

const JSON_WECHAT = 'application/json; encoding=utf-8';
const JSON_CONTROL = 'application/json; charset=utf-8';
const MAX_BODY_BYTES = 1 << 20;
const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

type Answer = Record<string, unknown>;

interface Body {
  text: string;
  tooLarge: boolean;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number | 'always';
}

/** Creates a simulator (not listening yet). */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const random: RandomBytes = options.randomBytes ?? pooledRandomBytes();
  const log = options.logger ?? (() => {});
  const rotation = options.sessionKeyRotationMinSeconds ?? 0;
  const ttl = options.accessTokenTtlSeconds ?? 7200;
  if (!(Number.isFinite(rotation) && rotation >= 0)) throw new TypeError('sessionKeyRotationMinSeconds must be ≥ 0');
  if (!(Number.isFinite(ttl) && ttl > 0)) throw new TypeError('accessTokenTtlSeconds must be > 0');
  const model = new Model({
    apps: options.apps ?? [DEV_APP],
    now,
    random,
    sessionKeyRotationMinSeconds: rotation,
    accessTokenTtlSeconds: ttl,
  });
  const counts = new Map<SimEndpoint, number>(SIM_ENDPOINTS.map((e) => [e, 0]));
  let faults: ActiveFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let server: Server | null = null;
  let url: string | null = null;

  const refusal = (errcode: number, text = canonicalErrmsg(errcode)): Answer => ({
    errcode,
    errmsg: withRid(text, newRid(now(), random)),
  });

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const takeFault = (endpoint: SimEndpoint): FaultSpec | null => {
    const active = faults.find((f) => f.spec.endpoint === endpoint || f.spec.endpoint === '*');
    if (!active) return null;
    if (active.remaining !== 'always') {
      active.remaining -= 1;
      if (active.remaining <= 0) faults = faults.filter((f) => f !== active);
    }
    return active.spec;
  };

  const serve = (endpoint: SimEndpoint, method: string, query: URLSearchParams, body: Body): Answer => {
    switch (endpoint) {
      case 'jscode2session':
        return code2Session(model, method, query, refusal);
      case 'token':
        return classicToken(model, method, query, refusal);
      case 'stable_token':
        return stableToken(model, method, body, refusal);
      case 'checksession':
        return checkSession(model, method, query, refusal);
      case 'resetusersessionkey':
        return resetSessionKey(model, method, query, refusal);
      case 'getuserphonenumber':
        return phoneNumber(model, method, query, body, refusal);
    }
  };

  const handleWechat = async (
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: SimEndpoint,
    query: URLSearchParams,
  ): Promise<string> => {
    const body = await readBody(req);
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
    const type = endpoint === 'jscode2session' ? 'text/plain' : JSON_WECHAT;
    const fault = takeFault(endpoint);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.drop) {
      req.socket.destroy();
      return 'dropped';
    }
    if (fault?.html) {
      send(res, 502, 'text/html', HTML_502);
      return 'html 502';
    }
    if (fault?.body !== undefined) {
      send(res, 200, 'text/plain', fault.body);
      return 'raw body';
    }
    const answer =
      fault?.errcode !== undefined
        ? refusal(fault.errcode, fault.errmsg)
        : serve(endpoint, req.method ?? 'GET', query, body);
    send(res, 200, type, JSON.stringify(answer));
    const errcode = answer.errcode;
    return typeof errcode === 'number' && errcode !== 0 ? `errcode ${errcode}${fault ? ' (injected)' : ''}` : 'ok';
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<string> => {
    const body = await readBody(req);
    const route = `${req.method} ${path}`;
    try {
      const input = () => parseControlBody(body);
      switch (route) {
        case 'POST /__sim/login-code':
          return sendControl(res, 200, simulator.mintLoginCode(input()));
        case 'POST /__sim/userinfo':
          return sendControl(res, 200, simulator.userInfo(input()));
        case 'POST /__sim/phone-code':
          return sendControl(res, 200, simulator.phoneCode(input()));
        case 'POST /__sim/faults':
          simulator.inject(input() as unknown as FaultSpec);
          return sendControl(res, 204);
        case 'DELETE /__sim/faults':
          simulator.clearFaults();
          return sendControl(res, 204);
        case 'GET /__sim/calls':
          return sendControl(res, 200, Object.fromEntries(counts));
        case 'DELETE /__sim/calls':
          simulator.resetCalls();
          return sendControl(res, 204);
        case 'POST /__sim/expire':
          expire(simulator, input());
          return sendControl(res, 204);
        default:
          return sendControl(res, CONTROL_PATHS.has(path) ? 405 : 404, {
            error: CONTROL_PATHS.has(path) ? 'method not allowed' : 'not found',
          });
      }
    } catch (error) {
      if (error instanceof TypeError) return sendControl(res, 400, { error: error.message });
      throw error;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path, query } = splitUrl(req.url ?? '/');
    const method = req.method ?? 'GET';
    let outcome: string;
    if (path === '/__sim' || path.startsWith('/__sim/')) {
      outcome = await handleControl(req, res, path);
    } else {
      const endpoint = ROUTES.get(path);
      if (endpoint === undefined) {
        await readBody(req);
        send(res, 200, JSON_WECHAT, JSON.stringify(refusal(40066)));
        outcome = 'errcode 40066 (unknown path)';
      } else {
        outcome = await handleWechat(req, res, endpoint, query);
      }
    }
    log(`${method} ${path} -> ${outcome}`);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      log(`${req.method} ${splitUrl(req.url ?? '/').path} -> simulator error: ${describe(error)}`);
      if (!res.headersSent && !res.destroyed) send(res, 500, JSON_WECHAT, JSON.stringify(refusal(-1)));
      else res.destroy();
    });
  };

  const simulator: Simulator = {
    get url(): string {
      if (url === null) throw new TypeError('the simulator is not listening: call listen() first');
      return url;
    },
    get apps(): readonly SimApp[] {
      return model.apps;
    },
    addApp(app) {
      model.addApp(app);
    },
    mintLoginCode(opts = {}) {
      const { appId, user } = checkOpts(opts, ['appId', 'user']);
      const app = model.requireApp(appId);
      const { code, openid, unionid } = model.mintLoginCode(app.appId, user ?? 'alice');
      return { code, appId: app.appId, openid, unionid };
    },
    userInfo(opts = {}) {
      const { appId, user } = checkOpts(opts, ['appId', 'user']);
      if (opts.profile !== undefined && !isPlainObject(opts.profile)) throw new TypeError('profile must be an object');
      if (opts.withOpenId !== undefined && typeof opts.withOpenId !== 'boolean') {
        throw new TypeError('withOpenId must be a boolean');
      }
      if (opts.anonymous !== undefined && typeof opts.anonymous !== 'boolean') {
        throw new TypeError('anonymous must be a boolean');
      }
      return model.userInfo({ ...opts, appId, user });
    },
    phoneCode(opts = {}) {
      const checked = checkOpts(opts, ['appId', 'user', 'phoneNumber', 'countryCode']);
      return { ...model.mintPhoneCode(checked), errMsg: 'getPhoneNumber:ok' };
    },
    sessionKeyOf(appId, openid) {
      return model.app(appId) ? model.sessionKeyOf(appId, openid) : null;
    },
    openidOf(appId, user) {
      if (typeof user !== 'string' || user === '') throw new TypeError('user must be a non-empty string');
      return model.openidOf(appId, user);
    },
    rotateSessionKey(appId, openid) {
      model.rotateSessionKey(appId, openid);
    },
    expireSessionKey(appId, openid) {
      model.expireSessionKey(appId, openid);
    },
    expireAccessTokens(appId) {
      model.expireAccessTokens(appId);
    },
    expireCode(code) {
      model.expireCode(code);
    },
    inject(fault) {
      const spec = checkFault(fault);
      faults.push({ spec, remaining: spec.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    calls(endpoint) {
      if (endpoint !== undefined) {
        const count = counts.get(endpoint);
        if (count === undefined) throw new TypeError(`unknown endpoint ${String(endpoint)}`);
        return count;
      }
      let total = 0;
      for (const count of counts.values()) total += count;
      return total;
    },
    resetCalls() {
      for (const endpoint of SIM_ENDPOINTS) counts.set(endpoint, 0);
    },
    async listen() {
      if (server) return;
      const created = createServer(handler);
      const host = options.host ?? '127.0.0.1';
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(options.port ?? 0, host, () => {
          created.off('error', reject);
          resolve();
        });
      });
      server = created;
      const { port } = created.address() as AddressInfo;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    },
    async close() {
      const closing = server;
      if (!closing) return;
      server = null;
      url = null;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeAllConnections();
      });
    },
    handler,
  };

  internals.set(simulator, {
    now,
    loginCodeState: (code) => model.loginCodeState(code),
    isCurrentKey: (appId, openid, key) => model.isCurrentKey(appId, openid, key),
  });
  return simulator;
}

/** Creates a simulator and starts listening. */
export async function startSimulator(options?: SimulatorOptions): Promise<Simulator> {
  const simulator = createSimulator(options);
  await simulator.listen();
  return simulator;
}

// ---- WeChat endpoints ----

type Refuse = (errcode: number) => Answer;

function code2Session(model: Model, method: string, query: URLSearchParams, refuse: Refuse): Answer {
  if (method !== 'GET') return refuse(43001);
  const app = checkAppCredentials(model, query.get('appid'), query.get('secret'));
  if (isRefusal(app)) return refuse(app.errcode);
  const code = query.get('js_code');
  if (!code) return refuse(41008);
  if (query.get('grant_type') !== 'authorization_code') return refuse(40002);
  const result = model.redeemLoginCode(app, code);
  if (isRefusal(result)) return refuse(result.errcode);
  return {
    session_key: result.sessionKey,
    openid: result.openid,
    ...(result.unionid === null ? {} : { unionid: result.unionid }),
  };
}

function classicToken(model: Model, method: string, query: URLSearchParams, refuse: Refuse): Answer {
  if (method !== 'GET') return refuse(43001);
  const app = checkAppCredentials(model, query.get('appid'), query.get('secret'));
  if (isRefusal(app)) return refuse(app.errcode);
  if (query.get('grant_type') !== 'client_credential') return refuse(40002);
  const { token, expiresInSeconds } = model.issueClassicToken(app);
  return { access_token: token, expires_in: expiresInSeconds };
}

function stableToken(model: Model, method: string, body: Body, refuse: Refuse): Answer {
  if (method !== 'POST') return refuse(43002);
  const input = parseJsonBody(body);
  if (isRefusal(input)) return refuse(input.errcode);
  const { appid, secret, grant_type: grantType, force_refresh: force } = input.fields;
  if (appid !== undefined && typeof appid !== 'string') return refuse(40013);
  if (secret !== undefined && typeof secret !== 'string') return refuse(40125);
  const app = checkAppCredentials(model, appid ?? null, secret ?? null);
  if (isRefusal(app)) return refuse(app.errcode);
  if (grantType !== 'client_credential') return refuse(40002);
  if (force !== undefined && typeof force !== 'boolean') return refuse(47001);
  const { token, expiresInSeconds } = model.stableToken(app, force === true);
  return { access_token: token, expires_in: expiresInSeconds };
}

function checkSession(model: Model, method: string, query: URLSearchParams, refuse: Refuse): Answer {
  const checked = checkSignedQuery(model, method, query);
  if (isRefusal(checked)) return refuse(checked.errcode);
  const { errcode } = model.checkSession(checked.appId, checked.openid, checked.matches);
  return errcode === 0 ? { errcode: 0, errmsg: 'ok' } : refuse(errcode);
}

function resetSessionKey(model: Model, method: string, query: URLSearchParams, refuse: Refuse): Answer {
  const checked = checkSignedQuery(model, method, query);
  if (isRefusal(checked)) return refuse(checked.errcode);
  const result = model.resetSessionKey(checked.appId, checked.openid, checked.matches);
  if (isRefusal(result)) return refuse(result.errcode);
  return { errcode: 0, errmsg: 'ok', openid: checked.openid, session_key: result.sessionKey };
}

function phoneNumber(model: Model, method: string, query: URLSearchParams, body: Body, refuse: Refuse): Answer {
  if (method !== 'POST') return refuse(43002);
  const app = model.checkAccessToken(query.get('access_token'));
  if (isRefusal(app)) return refuse(app.errcode);
  const input = parseJsonBody(body);
  if (isRefusal(input)) return refuse(input.errcode);
  const { code, openid } = input.fields;
  if (typeof code !== 'string' || code === '') return refuse(40029);
  if (openid !== undefined && typeof openid !== 'string') return refuse(40003);
  const info = model.redeemPhoneCode(app.appId, code, openid);
  if (isRefusal(info)) return refuse(info.errcode);
  return { errcode: 0, errmsg: 'ok', phone_info: info };
}

function checkAppCredentials(model: Model, appid: string | null, secret: string | null): SimApp | Refusal {
  if (!appid) return { errcode: 41002 };
  if (!secret) return { errcode: 41004 };
  const app = model.app(appid);
  if (!app) return { errcode: 40013 };
  if (!signatureMatches(app.secret, secret)) return { errcode: 40125 };
  return app;
}

/** The shared checks of checksession and resetusersessionkey: method, token, arguments, sig_method. */
function checkSignedQuery(
  model: Model,
  method: string,
  query: URLSearchParams,
): { appId: string; openid: string; matches: (key: string) => boolean } | Refusal {
  if (method !== 'GET') return { errcode: 43001 };
  const app = model.checkAccessToken(query.get('access_token'));
  if (isRefusal(app)) return app;
  const openid = query.get('openid');
  const signature = query.get('signature');
  if (!openid || !signature) return { errcode: 40097 };
  if (query.get('sig_method') !== 'hmac_sha256') return { errcode: 87008 };
  return { appId: app.appId, openid, matches: (key) => signatureMatches(sessionSignature(key, ''), signature) };
}

function parseJsonBody(body: Body): { fields: Record<string, unknown> } | Refusal {
  if (body.tooLarge) return { errcode: 47001 };
  if (body.text.trim() === '') return { errcode: 44002 };
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch {
    return { errcode: 47001 };
  }
  return isPlainObject(value) ? { fields: value } : { errcode: 47001 };
}

// ---- control API ----

const CONTROL_PATHS = new Set([
  '/__sim/login-code',
  '/__sim/userinfo',
  '/__sim/phone-code',
  '/__sim/faults',
  '/__sim/calls',
  '/__sim/expire',
]);

function parseControlBody(body: Body): Record<string, unknown> {
  if (body.tooLarge) throw new TypeError('body too large');
  if (body.text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(body.text);
  } catch {
    throw new TypeError('body is not valid JSON');
  }
  if (!isPlainObject(value)) throw new TypeError('body must be a JSON object');
  return value;
}

function expire(simulator: Simulator, input: Record<string, unknown>): void {
  const { kind, appId, openid, code } = input;
  const text = (value: unknown, name: string): string => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
    return value;
  };
  switch (kind) {
    case 'access_tokens':
      simulator.expireAccessTokens(appId === undefined ? undefined : text(appId, 'appId'));
      return;
    case 'session_key':
      simulator.expireSessionKey(text(appId ?? simulator.apps[0]?.appId, 'appId'), text(openid, 'openid'));
      return;
    case 'code':
      simulator.expireCode(text(code, 'code'));
      return;
    default:
      throw new TypeError("kind must be 'access_tokens', 'session_key' or 'code'");
  }
}

function sendControl(res: ServerResponse, status: number, body?: unknown): string {
  if (body === undefined) {
    if (!res.destroyed) res.writeHead(status).end();
  } else {
    send(res, status, JSON_CONTROL, JSON.stringify(body));
  }
  return String(status);
}

// ---- validation ----

function checkOpts<K extends string>(opts: unknown, keys: readonly K[]): { [P in K]?: string } {
  if (!isPlainObject(opts)) throw new TypeError('options must be an object');
  const out: { [P in K]?: string } = {};
  for (const key of keys) {
    const value = opts[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') throw new TypeError(`${key} must be a non-empty string`);
    out[key] = value;
  }
  return out;
}

function checkFault(input: unknown): FaultSpec {
  if (!isPlainObject(input)) throw new TypeError('a fault must be an object');
  const { endpoint, times, errcode, errmsg, delayMs, html, body, drop } = input;
  if (endpoint !== '*' && !SIM_ENDPOINTS.includes(endpoint as SimEndpoint)) {
    throw new TypeError(`fault.endpoint must be '*' or one of ${SIM_ENDPOINTS.join(', ')}`);
  }
  if (times !== undefined && times !== 'always' && !(Number.isSafeInteger(times) && (times as number) > 0)) {
    throw new TypeError("fault.times must be a positive integer or 'always'");
  }
  if (errcode !== undefined && !(Number.isSafeInteger(errcode) && errcode !== 0)) {
    throw new TypeError('fault.errcode must be a non-zero integer');
  }
  if (errmsg !== undefined && (typeof errmsg !== 'string' || errcode === undefined)) {
    throw new TypeError('fault.errmsg must be a string and needs an errcode');
  }
  if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new TypeError('fault.delayMs must be a number ≥ 0');
  }
  if (html !== undefined && typeof html !== 'boolean') throw new TypeError('fault.html must be a boolean');
  if (body !== undefined && typeof body !== 'string') throw new TypeError('fault.body must be a string');
  if (drop !== undefined && typeof drop !== 'boolean') throw new TypeError('fault.drop must be a boolean');
  const answers = [errcode !== undefined, html === true, body !== undefined, drop === true].filter(Boolean).length;
  if (answers > 1) throw new TypeError('a fault takes at most one of errcode, html, body and drop');
  if (answers === 0 && !delayMs) throw new TypeError('a fault needs errcode, html, body, drop or delayMs');
  return Object.freeze({ ...(input as unknown as FaultSpec) });
}

// ---- HTTP helpers ----

function splitUrl(raw: string): { path: string; query: URLSearchParams } {
  const mark = raw.indexOf('?');
  const path = mark === -1 ? raw : raw.slice(0, mark);
  return { path, query: new URLSearchParams(mark === -1 ? '' : raw.slice(mark + 1)) };
}

function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve({ text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge }));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
