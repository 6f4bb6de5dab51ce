/**
 * The simulated WeChat state: apps, users, login and phone codes, session keys
 * and access tokens (shared/wechat-api.md §12). No HTTP here; every operation
 * answers either a result or the errcode WeChat would send.
 */
import { createHmac } from 'node:crypto';
import { encryptOpenData, newSessionKey, type RandomBytes, rawDataSignature } from './crypto.js';

/** A mini program the simulator knows. */
export interface SimApp {
  appId: string;
  secret: string;
  /** when set, the app is bound to this open platform account and users get a unionid shared by all apps with the same value */
  openPlatformId?: string | null;
}

/** An errcode answer: WeChat's number; the HTTP layer adds the canonical errmsg. */
export interface Refusal {
  errcode: number;
}

export const CODE_TTL_MS = 300_000;
/**
 * How long a login code is remembered after it was minted: long after it died
 * (CODE_TTL_MS), so tests and tools can still inspect it, then forgotten, so a
 * simulator that mints codes without end (a benchmark, a long dev session)
 * holds an hour of them at most. A forgotten code answers 40029, as an expired one does.
 */
export const CODE_RETAIN_MS = 3_600_000;
const TOKEN_OVERLAP_MS = 300_000;
const FORCE_SPACING_MS = 30_000;
const FORCE_PER_DAY = 20;
const DAY_MS = 86_400_000;
/** WeChat counts days in China Standard Time (UTC+8). */
const CST_OFFSET_MS = 8 * 3_600_000;
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TOKEN_CHARS = `${ALNUM}-_`;
const WELL_FORMED_TOKEN = /^[0-9A-Za-z_-]{32,512}$/;
const ID_DERIVATION_KEY = 'wxlogin-simulator/ids/v1';
const ANONYMOUS_AVATAR =
  'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132';

interface Session {
  key: string;
  rotatedAt: number;
  /** null = no expiry planned; reset keeps it, a fresh login clears it */
  expiresAt: number | null;
}

interface LoginCode {
  appId: string;
  user: string;
  openid: string;
  issuedAt: number;
  expired: boolean;
  redeemed: boolean;
  /** the session key this code produced when it was redeemed */
  sessionKey: string | null;
}

interface PhoneCode {
  appId: string;
  openid: string;
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
  issuedAt: number;
  expired: boolean;
  used: boolean;
}

interface AccessToken {
  appId: string;
  family: 'classic' | 'stable';
  expiresAt: number;
  /** from this instant the token answers 40001 (superseded or force-refreshed) */
  revokedAt: number | null;
}

interface StableFamily {
  current: { token: string; record: AccessToken } | null;
  lastForceAt: number | null;
  forceDay: number;
  forceCount: number;
}

export interface ModelOptions {
  apps: readonly SimApp[];
  now: () => number;
  random: RandomBytes;
  sessionKeyRotationMinSeconds: number;
  accessTokenTtlSeconds: number;
}

export interface IssuedToken {
  token: string;
  expiresInSeconds: number;
}

export interface CodeExchange {
  openid: string;
  sessionKey: string;
  unionid: string | null;
}

export interface PhoneInfo {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
  watermark: { timestamp: number; appid: string };
}

export interface LoginCodeState {
  appId: string;
  openid: string;
  issuedAt: number;
  state: 'pending' | 'redeemed' | 'expired';
  sessionKey: string | null;
}

export function isRefusal(value: object): value is Refusal {
  return 'errcode' in value;
}

export class Model {
  readonly #now: () => number;
  readonly #random: RandomBytes;
  readonly #rotationMinMs: number;
  readonly #tokenTtlMs: number;
  readonly #apps = new Map<string, SimApp>();
  /** appId → openid → user handle */
  readonly #users = new Map<string, Map<string, string>>();
  /** `${appId}\n${openid}` → session */
  readonly #sessions = new Map<string, Session>();
  readonly #loginCodes = new Map<string, LoginCode>();
  readonly #phoneCodes = new Map<string, PhoneCode>();
  readonly #tokens = new Map<string, AccessToken>();
  readonly #classicLatest = new Map<string, AccessToken>();
  readonly #stable = new Map<string, StableFamily>();
  /** derivation input → id (see #derive) */
  readonly #derived = new Map<string, string>();

  constructor(options: ModelOptions) {
    this.#now = options.now;
    this.#random = options.random;
    this.#rotationMinMs = options.sessionKeyRotationMinSeconds * 1000;
    this.#tokenTtlMs = options.accessTokenTtlSeconds * 1000;
    for (const app of options.apps) this.addApp(app);
  }

  get apps(): SimApp[] {
    return [...this.#apps.values()];
  }

  now(): number {
    return this.#now();
  }

  random(size: number): Uint8Array {
    return this.#random(size);
  }

  app(appId: string): SimApp | undefined {
    return this.#apps.get(appId);
  }

  addApp(app: SimApp): void {
    if (typeof app?.appId !== 'string' || app.appId === '') throw new TypeError('app.appId must be a non-empty string');
    if (typeof app.secret !== 'string' || app.secret === '')
      throw new TypeError('app.secret must be a non-empty string');
    if (app.openPlatformId != null && typeof app.openPlatformId !== 'string') {
      throw new TypeError('app.openPlatformId must be a string or null');
    }
    if (this.#apps.has(app.appId)) throw new TypeError(`app ${app.appId} is already registered`);
    this.#apps.set(app.appId, Object.freeze({ ...app }));
  }

  /** The app or a TypeError: the caller's own mistake. */
  requireApp(appId: string | undefined): SimApp {
    const id = appId ?? this.#apps.keys().next().value;
    const app = id === undefined ? undefined : this.#apps.get(id);
    if (!app) throw new TypeError(appId === undefined ? 'the simulator has no app' : `unknown app ${appId}`);
    return app;
  }

  openidOf(appId: string, user: string): string {
    this.requireApp(appId);
    const openid = `o${this.#derive(`openid:${appId}:${user}`)}`;
    let users = this.#users.get(appId);
    if (!users) {
      users = new Map();
      this.#users.set(appId, users);
    }
    users.set(openid, user);
    return openid;
  }

  unionidOf(app: SimApp, user: string): string | null {
    if (app.openPlatformId == null) return null;
    return `o${this.#derive(`unionid:${app.openPlatformId}:${user}`)}`;
  }

  userOf(appId: string, openid: string): string | undefined {
    return this.#users.get(appId)?.get(openid);
  }

  // ---- login codes and session keys ----

  mintLoginCode(appId: string, user: string): { code: string; openid: string; unionid: string | null } {
    const app = this.requireApp(appId);
    const openid = this.openidOf(app.appId, user);
    const code = this.#randomString(32, ALNUM);
    this.#forgetOldLoginCodes();
    this.#loginCodes.set(code, {
      appId: app.appId,
      user,
      openid,
      issuedAt: this.#now(),
      expired: false,
      redeemed: false,
      sessionKey: null,
    });
    return { code, openid, unionid: this.unionidOf(app, user) };
  }

  /** code2Session: a code is single use, lives 5 minutes and belongs to one app. */
  redeemLoginCode(app: SimApp, code: string): CodeExchange | Refusal {
    const record = this.#loginCodes.get(code);
    if (!record || record.appId !== app.appId || this.#codeExpired(record)) return { errcode: 40029 };
    if (record.redeemed) return { errcode: 40163 };
    record.redeemed = true;
    const session = this.#loginSession(app.appId, record.openid);
    record.sessionKey = session.key;
    return { openid: record.openid, sessionKey: session.key, unionid: this.unionidOf(app, record.user) };
  }

  loginCodeState(code: string): LoginCodeState | null {
    const record = this.#loginCodes.get(code);
    if (!record) return null;
    const state = record.redeemed ? 'redeemed' : this.#codeExpired(record) ? 'expired' : 'pending';
    const { appId, openid, issuedAt, sessionKey } = record;
    return { appId, openid, issuedAt, state, sessionKey };
  }

  expireCode(code: string): void {
    const record = this.#loginCodes.get(code) ?? this.#phoneCodes.get(code);
    if (!record) throw new TypeError('unknown code');
    record.expired = true;
  }

  /** The user's current key, or null when they never logged in (an expired key is still returned). */
  sessionKeyOf(appId: string, openid: string): string | null {
    return this.#sessions.get(sessionId(appId, openid))?.key ?? null;
  }

  /** True when `key` is the user's current, unexpired session key. */
  isCurrentKey(appId: string, openid: string, key: string): boolean {
    const session = this.#liveSession(appId, openid);
    return session !== null && session.key === key;
  }

  /** Rotates at once, as a login on another device would; gives a key to a user who had none. */
  rotateSessionKey(appId: string, openid: string): void {
    this.requireApp(appId);
    if (this.userOf(appId, openid) === undefined) throw new TypeError('unknown openid for this app');
    this.#sessions.set(sessionId(appId, openid), {
      key: newSessionKey(this.#random),
      rotatedAt: this.#now(),
      expiresAt: null,
    });
  }

  expireSessionKey(appId: string, openid: string): void {
    this.requireApp(appId);
    const session = this.#sessions.get(sessionId(appId, openid));
    if (!session) throw new TypeError('this user has no session key');
    session.expiresAt = this.#now();
  }

  /** checksession: 0 only for the HMAC of the current, unexpired key. */
  checkSession(appId: string, openid: string, matches: (key: string) => boolean): Refusal {
    const session = this.#liveSession(appId, openid);
    return { errcode: session !== null && matches(session.key) ? 0 : 87009 };
  }

  /** resetusersessionkey: rotates immediately and keeps the old expiry. */
  resetSessionKey(appId: string, openid: string, matches: (key: string) => boolean): { sessionKey: string } | Refusal {
    const session = this.#liveSession(appId, openid);
    if (session === null) return { errcode: 87007 };
    if (!matches(session.key)) return { errcode: 87009 };
    session.key = newSessionKey(this.#random);
    session.rotatedAt = this.#now();
    return { sessionKey: session.key };
  }

  // ---- open data ----

  userInfo(options: {
    appId?: string;
    user?: string;
    profile?: Record<string, unknown>;
    withOpenId?: boolean;
    anonymous?: boolean;
  }): { rawData: string; signature: string; encryptedData: string; iv: string; userInfo: Record<string, unknown> } {
    const app = this.requireApp(options.appId);
    const user = options.user ?? 'alice';
    const openid = this.openidOf(app.appId, user);
    const sessionKey = this.sessionKeyOf(app.appId, openid);
    if (sessionKey === null) throw new TypeError('the user has never logged in: redeem a login code first');
    const base = options.anonymous ? anonymousProfile() : defaultProfile(user);
    const userInfo: Record<string, unknown> = { ...base, ...options.profile };
    const rawData = JSON.stringify(userInfo);
    const unionid = this.unionidOf(app, user);
    const payload: Record<string, unknown> =
      options.withOpenId === false
        ? { ...userInfo }
        : { openId: openid, ...userInfo, ...(unionid === null ? {} : { unionId: unionid }) };
    payload.watermark = { timestamp: this.#seconds(), appid: app.appId };
    const { encryptedData, iv } = encryptOpenData(sessionKey, JSON.stringify(payload), this.#random);
    return {
      rawData,
      signature: rawDataSignature(rawData, sessionKey),
      encryptedData,
      iv,
      userInfo: JSON.parse(rawData),
    };
  }

  mintPhoneCode(options: { appId?: string; user?: string; phoneNumber?: string; countryCode?: string }): {
    code: string;
    encryptedData: string;
    iv: string;
    phoneNumber: string;
    purePhoneNumber: string;
    countryCode: string;
  } {
    const app = this.requireApp(options.appId);
    const user = options.user ?? 'alice';
    const openid = this.openidOf(app.appId, user);
    const purePhoneNumber = options.phoneNumber ?? '13800138000';
    const countryCode = options.countryCode ?? '86';
    const phoneNumber = countryCode === '86' ? purePhoneNumber : `+${countryCode}${purePhoneNumber}`;
    const code = Buffer.from(this.#random(32)).toString('hex');
    const issuedAt = this.#now();
    this.#phoneCodes.set(code, {
      appId: app.appId,
      openid,
      phoneNumber,
      purePhoneNumber,
      countryCode,
      issuedAt,
      expired: false,
      used: false,
    });
    const sessionKey = this.sessionKeyOf(app.appId, openid);
    let encryptedData = '';
    let iv = '';
    if (sessionKey !== null) {
      const watermark = { timestamp: Math.floor(issuedAt / 1000), appid: app.appId };
      const plaintext = JSON.stringify({ phoneNumber, purePhoneNumber, countryCode, watermark });
      ({ encryptedData, iv } = encryptOpenData(sessionKey, plaintext, this.#random));
    }
    return { code, encryptedData, iv, phoneNumber, purePhoneNumber, countryCode };
  }

  /** getuserphonenumber: single use, 5 minutes, bound to the app of the access token. */
  redeemPhoneCode(appId: string, code: string, openid: string | undefined): PhoneInfo | Refusal {
    const record = this.#phoneCodes.get(code);
    if (!record) return { errcode: 40029 };
    if (record.appId !== appId) return { errcode: 40013 };
    if (record.used || record.expired || this.#now() >= record.issuedAt + CODE_TTL_MS) return { errcode: 40029 };
    if (openid !== undefined && openid !== record.openid) return { errcode: 40003 };
    record.used = true;
    const { phoneNumber, purePhoneNumber, countryCode } = record;
    return {
      phoneNumber,
      purePhoneNumber,
      countryCode,
      watermark: { timestamp: Math.floor(record.issuedAt / 1000), appid: appId },
    };
  }

  // ---- access tokens ----

  /** cgi-bin/token: a new token on every call; the previous one keeps working for 5 more minutes. */
  issueClassicToken(app: SimApp): IssuedToken {
    const now = this.#now();
    const previous = this.#classicLatest.get(app.appId);
    if (previous && previous.revokedAt === null) previous.revokedAt = now + TOKEN_OVERLAP_MS;
    const { token, record } = this.#newToken(app.appId, 'classic');
    this.#classicLatest.set(app.appId, record);
    return { token, expiresInSeconds: this.#secondsLeft(record) };
  }

  /**
   * cgi-bin/stable_token. Normal mode returns the current token until its last
   * 5 minutes, then a new one (the old one lives out its life). Force mode
   * revokes the current token and issues a new one, at most 20 times a day and
   * 30 s apart; otherwise it answers like normal mode.
   */
  stableToken(app: SimApp, forceRefresh: boolean): IssuedToken {
    const now = this.#now();
    let family = this.#stable.get(app.appId);
    if (!family) {
      family = { current: null, lastForceAt: null, forceDay: -1, forceCount: 0 };
      this.#stable.set(app.appId, family);
    }
    const day = Math.floor((now + CST_OFFSET_MS) / DAY_MS);
    if (family.forceDay !== day) {
      family.forceDay = day;
      family.forceCount = 0;
    }
    const current = family.current;
    const usable = current !== null && this.#tokenState(current.record) === 0;
    const forceAllowed =
      forceRefresh &&
      family.forceCount < FORCE_PER_DAY &&
      (family.lastForceAt === null || now - family.lastForceAt >= FORCE_SPACING_MS);
    if (forceAllowed) {
      if (current && current.record.revokedAt === null) current.record.revokedAt = now;
      family.lastForceAt = now;
      family.forceCount += 1;
    } else if (usable && current && now < current.record.expiresAt - TOKEN_OVERLAP_MS) {
      return { token: current.token, expiresInSeconds: this.#secondsLeft(current.record) };
    }
    const issued = this.#newToken(app.appId, 'stable');
    family.current = issued;
    return { token: issued.token, expiresInSeconds: this.#secondsLeft(issued.record) };
  }

  /** The app an access token belongs to, or the errcode a WeChat API answers for it. */
  checkAccessToken(token: string | null): SimApp | Refusal {
    if (token === null || token === '') return { errcode: 41001 };
    if (!WELL_FORMED_TOKEN.test(token)) return { errcode: 40014 };
    const record = this.#tokens.get(token);
    if (!record) return { errcode: 40001 };
    const state = this.#tokenState(record);
    if (state !== 0) return { errcode: state };
    return this.requireApp(record.appId);
  }

  expireAccessTokens(appId?: string): void {
    if (appId !== undefined) this.requireApp(appId);
    const now = this.#now();
    for (const record of this.#tokens.values()) {
      if (appId === undefined || record.appId === appId) record.expiresAt = Math.min(record.expiresAt, now);
    }
  }

  // ---- helpers ----

  #tokenState(record: AccessToken): 0 | 40001 | 42001 {
    const now = this.#now();
    if (now >= record.expiresAt) return 42001;
    if (record.revokedAt !== null && now >= record.revokedAt) return 40001;
    return 0;
  }

  #newToken(appId: string, family: AccessToken['family']): { token: string; record: AccessToken } {
    const token = `${family === 'stable' ? '91' : '90'}_${this.#randomString(134, TOKEN_CHARS)}`;
    const record: AccessToken = { appId, family, expiresAt: this.#now() + this.#tokenTtlMs, revokedAt: null };
    this.#tokens.set(token, record);
    return { token, record };
  }

  #secondsLeft(record: AccessToken): number {
    return Math.max(0, Math.floor((record.expiresAt - this.#now()) / 1000));
  }

  #loginSession(appId: string, openid: string): Session {
    const id = sessionId(appId, openid);
    const now = this.#now();
    const existing = this.#sessions.get(id);
    const keep = existing && !this.#sessionExpired(existing) && now - existing.rotatedAt < this.#rotationMinMs;
    if (keep) return existing;
    const session: Session = { key: newSessionKey(this.#random), rotatedAt: now, expiresAt: null };
    this.#sessions.set(id, session);
    return session;
  }

  #liveSession(appId: string, openid: string): Session | null {
    const session = this.#sessions.get(sessionId(appId, openid));
    return session && !this.#sessionExpired(session) ? session : null;
  }

  #sessionExpired(session: Session): boolean {
    return session.expiresAt !== null && this.#now() >= session.expiresAt;
  }

  /** Drops the codes minted CODE_RETAIN_MS ago or earlier: the oldest come first in the map, so this stops at the first younger one. */
  #forgetOldLoginCodes(): void {
    const before = this.#now() - CODE_RETAIN_MS;
    for (const [code, record] of this.#loginCodes) {
      if (record.issuedAt > before) return;
      this.#loginCodes.delete(code);
    }
  }

  #codeExpired(record: LoginCode): boolean {
    return record.expired || this.#now() >= record.issuedAt + CODE_TTL_MS;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Ids are a pure function of their input, and each login derives its user's ids again: remember them. */
  #derive(input: string): string {
    let id = this.#derived.get(input);
    if (id === undefined) {
      id = createHmac('sha256', ID_DERIVATION_KEY).update(input, 'utf8').digest('base64url').slice(0, 27);
      this.#derived.set(input, id);
    }
    return id;
  }

  #randomString(length: number, alphabet: string): string {
    const bytes = this.#random(length);
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[(bytes[i] ?? 0) % alphabet.length];
    return out;
  }
}

function sessionId(appId: string, openid: string): string {
  return `${appId}\n${openid}`;
}

function defaultProfile(user: string): Record<string, unknown> {
  const avatar = createHmac('sha256', ID_DERIVATION_KEY).update(`avatar:${user}`).digest('base64url');
  return {
    nickName: user,
    gender: 0,
    language: 'zh_CN',
    city: '',
    province: '',
    country: '',
    avatarUrl: `https://thirdwx.qlogo.cn/mmopen/vi_32/${avatar}/132`,
  };
}

/** What WeChat has sent since the 2021/2022 changes (shared/wechat-api.md §10.5). */
function anonymousProfile(): Record<string, unknown> {
  return {
    nickName: '微信用户',
    gender: 0,
    language: '',
    city: '',
    province: '',
    country: '',
    avatarUrl: ANONYMOUS_AVATAR,
  };
}
