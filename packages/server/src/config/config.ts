/**
 * Configuration is resolved once: merged from explicit overrides, the
 * environment and an optional JSON file (in that order of precedence),
 * checked against one schema, every problem reported together, defaults
 * applied, then frozen. Nothing after this re-checks options.
 */
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const App = Type.Object(
  {
    appId: Type.String({ pattern: '^wx[0-9a-zA-Z]{16}$' }),
    secret: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

/** The resolved configuration's schema; every key documents its unit and default in docs/configuration.md. */
export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    host: Type.String({ minLength: 1 }),
    apps: Type.Array(App, { minItems: 1 }),
    wechatApiBaseUrl: Type.String({ pattern: '^https?://' }),
    wechatTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
    wechatMaxRetries: Type.Integer({ minimum: 0, maximum: 5 }),
    wechatAccessTokenMode: Type.Union([Type.Literal('stable'), Type.Literal('classic')]),
    databaseUrl: Type.String({ pattern: '^(sqlite:|postgres://|postgresql://)' }),
    postgresPoolSize: Type.Integer({ minimum: 1, maximum: 200 }),
    /** SQLite's page cache, KiB */
    sqliteCacheKiB: Type.Integer({ minimum: 64, maximum: 4_194_304 }),
    redisUrl: Type.Union([Type.String({ pattern: '^rediss?://' }), Type.Null()]),
    redisCluster: Type.Boolean(),
    /** base64 of 32 bytes */
    secret: Type.String({ minLength: 1 }),
    /** older secrets still accepted for reading sealed data (rotation) */
    previousSecrets: Type.Array(Type.String({ minLength: 1 })),
    accessTokenTtlSeconds: Type.Integer({ minimum: 30, maximum: 86_400 }),
    refreshTokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 31_536_000 }),
    sessionKeyGraceSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
    sessionPolicy: Type.Union([Type.Literal('independent'), Type.Literal('follow-wechat')]),
    tokenIssuer: Type.String({ minLength: 1 }),
    tokenAudience: Type.String({ minLength: 1 }),
    signingAlg: Type.Union([Type.Literal('EdDSA'), Type.Literal('ES256')]),
    adminToken: Type.Union([Type.String({ minLength: 16 }), Type.Null()]),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024 }),
    rateLimitLoginPerMinute: Type.Integer({ minimum: 0 }),
    rateLimitRefreshPerMinute: Type.Integer({ minimum: 0 }),
    rateLimitUserPerMinute: Type.Integer({ minimum: 0 }),
    userCacheSize: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    corsOrigins: Type.Array(Type.String({ minLength: 1 })),
    trustProxy: Type.Boolean(),
    shutdownTimeoutMs: Type.Integer({ minimum: 0, maximum: 120_000 }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;
export type AppCredentials = Static<typeof App>;

/** Defaults of everything that has one (`apps` and `secret` have none). */
export const DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  wechatApiBaseUrl: 'https://api.weixin.qq.com',
  wechatTimeoutMs: 5000,
  wechatMaxRetries: 2,
  wechatAccessTokenMode: 'stable',
  databaseUrl: 'sqlite:./.wxlogin/wxlogin.db',
  postgresPoolSize: 10,
  sqliteCacheKiB: 4096,
  redisUrl: null,
  redisCluster: false,
  previousSecrets: [],
  accessTokenTtlSeconds: 3600,
  refreshTokenTtlSeconds: 2_592_000,
  sessionKeyGraceSeconds: 300,
  sessionPolicy: 'independent',
  tokenIssuer: 'wxlogin',
  tokenAudience: 'wxlogin',
  signingAlg: 'EdDSA',
  adminToken: null,
  logLevel: 'info',
  bodyLimitBytes: 65_536,
  rateLimitLoginPerMinute: 60,
  rateLimitRefreshPerMinute: 60,
  rateLimitUserPerMinute: 30,
  userCacheSize: 10_000,
  corsOrigins: [],
  trustProxy: false,
  shutdownTimeoutMs: 10_000,
} as const satisfies Partial<Static<typeof ConfigSchema>>;

type Key = keyof Static<typeof ConfigSchema>;
type Kind = 'string' | 'int' | 'bool' | 'list' | 'nullable';

/** Environment variable → config key. `WX_APPID`/`WX_SECRET` are handled apart (they make one app). */
export const ENV_KEYS: ReadonlyArray<readonly [env: string, key: Key, kind: Kind]> = [
  ['PORT', 'port', 'int'],
  ['HOST', 'host', 'string'],
  ['WECHAT_API_BASE_URL', 'wechatApiBaseUrl', 'string'],
  ['WECHAT_TIMEOUT_MS', 'wechatTimeoutMs', 'int'],
  ['WECHAT_MAX_RETRIES', 'wechatMaxRetries', 'int'],
  ['WECHAT_ACCESS_TOKEN_MODE', 'wechatAccessTokenMode', 'string'],
  ['DATABASE_URL', 'databaseUrl', 'string'],
  ['POSTGRES_POOL_SIZE', 'postgresPoolSize', 'int'],
  ['SQLITE_CACHE_KIB', 'sqliteCacheKiB', 'int'],
  ['REDIS_URL', 'redisUrl', 'nullable'],
  ['REDIS_CLUSTER', 'redisCluster', 'bool'],
  ['WXLOGIN_SECRET', 'secret', 'string'],
  ['WXLOGIN_PREVIOUS_SECRETS', 'previousSecrets', 'list'],
  ['ACCESS_TOKEN_TTL', 'accessTokenTtlSeconds', 'int'],
  ['REFRESH_TOKEN_TTL', 'refreshTokenTtlSeconds', 'int'],
  ['SESSION_KEY_GRACE', 'sessionKeyGraceSeconds', 'int'],
  ['SESSION_POLICY', 'sessionPolicy', 'string'],
  ['TOKEN_ISSUER', 'tokenIssuer', 'string'],
  ['TOKEN_AUDIENCE', 'tokenAudience', 'string'],
  ['SIGNING_ALG', 'signingAlg', 'string'],
  ['WXLOGIN_ADMIN_TOKEN', 'adminToken', 'nullable'],
  ['LOG_LEVEL', 'logLevel', 'string'],
  ['BODY_LIMIT', 'bodyLimitBytes', 'int'],
  ['RATE_LIMIT_LOGIN_PER_MINUTE', 'rateLimitLoginPerMinute', 'int'],
  ['RATE_LIMIT_REFRESH_PER_MINUTE', 'rateLimitRefreshPerMinute', 'int'],
  ['RATE_LIMIT_USER_PER_MINUTE', 'rateLimitUserPerMinute', 'int'],
  ['USER_CACHE_SIZE', 'userCacheSize', 'int'],
  ['CORS_ORIGINS', 'corsOrigins', 'list'],
  ['TRUST_PROXY', 'trustProxy', 'bool'],
  ['SHUTDOWN_TIMEOUT_MS', 'shutdownTimeoutMs', 'int'],
];

const envNameOf = new Map<string, string>(ENV_KEYS.map(([env, key]) => [key, env]));
envNameOf.set('apps', 'WX_APPID/WX_SECRET');

/** Thrown when the configuration is missing or malformed; `message` is one line naming every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

function parseEnvValue(raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
      if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
      return raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'nullable':
      return raw.trim() === '' ? null : raw.trim();
    default:
      return raw.trim();
  }
}

export interface ResolveConfigInput {
  /** Usually `process.env`. */
  env?: Record<string, string | undefined>;
  /** Highest precedence: values set by code or CLI flags. */
  overrides?: Partial<Record<Key, unknown>>;
  /** Path of a JSON config file; when absent, `WXLOGIN_CONFIG` from env is used if set. */
  configFile?: string | null;
}

function readConfigFile(path: string, problems: string[]): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`config file ${path}: must hold a JSON object`);
      return {};
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'not valid JSON' : 'cannot be read';
    problems.push(`config file ${path}: ${reason}`);
    return {};
  }
}

function describeProblem(path: string, message: string): string {
  const key = path.split('/').filter(Boolean)[0] ?? '';
  const name = envNameOf.get(key) ?? key;
  const detail = path.split('/').filter(Boolean).slice(1).join('.');
  return `${name}${detail ? ` (${detail})` : ''}: ${message}`;
}

function checkSecret(value: unknown, name: string, problems: string[]): void {
  if (typeof value !== 'string') return;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0 ? Buffer.from(value, 'base64') : null;
  if (bytes === null || bytes.length !== 32)
    problems.push(`${name}: must be base64 of 32 bytes (try: openssl rand -base64 32)`);
}

/**
 * Resolves, validates and freezes the configuration.
 * @throws ConfigError listing every problem (never echoing a secret's value)
 */
export function resolveConfig(input: ResolveConfigInput = {}): Config {
  const env = input.env ?? {};
  const problems: string[] = [];
  const configFile = input.configFile === undefined ? (env.WXLOGIN_CONFIG ?? null) : input.configFile;
  const file = configFile ? readConfigFile(configFile, problems) : {};

  const merged: Record<string, unknown> = { ...DEFAULTS, ...file };
  for (const [name, key, kind] of ENV_KEYS) {
    const raw = env[name];
    if (raw !== undefined) merged[key] = parseEnvValue(raw, kind);
  }
  if (env.WX_APPID !== undefined || env.WX_SECRET !== undefined) {
    if (!env.WX_APPID) problems.push('WX_APPID: required when WX_SECRET is set');
    else if (!env.WX_SECRET) problems.push('WX_SECRET: required when WX_APPID is set');
    else merged.apps = [{ appId: env.WX_APPID.trim(), secret: env.WX_SECRET.trim() }];
  }
  for (const [key, value] of Object.entries(input.overrides ?? {})) {
    if (value !== undefined) merged[key] = value;
  }

  if (merged.apps === undefined)
    problems.push('WX_APPID/WX_SECRET: no mini program configured (set both, or list "apps" in the config file)');
  if (merged.secret === undefined) problems.push('WXLOGIN_SECRET: required (base64 of 32 bytes)');
  for (const error of Value.Errors(ConfigSchema, merged)) {
    if (error.value === undefined && (error.path === '/apps' || error.path === '/secret')) continue;
    // never echo values: secrets could be among them
    problems.push(describeProblem(error.path, error.message));
  }
  checkSecret(merged.secret, 'WXLOGIN_SECRET', problems);
  const previous = Array.isArray(merged.previousSecrets) ? merged.previousSecrets : [];
  for (const value of previous) checkSecret(value, 'WXLOGIN_PREVIOUS_SECRETS', problems);
  const apps = Array.isArray(merged.apps) ? (merged.apps as Array<{ appId?: unknown }>) : [];
  const ids = apps.map((a) => a.appId);
  if (new Set(ids).size !== ids.length) problems.push('apps: the same appId is listed twice');

  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return deepFreeze(merged as Static<typeof ConfigSchema>);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
