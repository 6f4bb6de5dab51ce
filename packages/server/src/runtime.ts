/**
 * Assembles the service's parts from a resolved configuration: store, shared
 * state, sealer, signing keys, WeChat clients, metrics and the domain service.
 * Every part that talks to the outside world can be injected.
 */
import { createWechatClient, type TokenCache, type WechatClient } from '@wxlogin/wechat';
import type { AppCredentials, Config } from './config/config.js';
import { createSealer, type Sealer } from './crypto/seal.js';
import { pooledRandomBytes, type RandomBytes } from './crypto/tokens.js';
import { createMetrics, type Metrics } from './metrics.js';
import { AuthService, type ServiceLogger } from './services/auth-service.js';
import { createMemoryState } from './state/memory.js';
import { RevocationList } from './state/revocations.js';
import type { SharedState } from './state/types.js';
import { UserCache } from './state/user-cache.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';
import { AccessTokens } from './tokens/access-tokens.js';

/** Everything outside the process, for tests and embedding; each has a default built from the config. */
export interface RuntimeDeps {
  store?: Store;
  state?: SharedState;
  /** Makes the WeChat client of one app (default: `createWechatClient` with the config's WeChat options). */
  wechatClient?: (app: AppCredentials, config: Config, metrics: Metrics) => WechatClient;
  fetch?: typeof globalThis.fetch;
  /** ms clock */
  now?: () => number;
  random?: RandomBytes;
  metrics?: Metrics;
  /** A Redis client (ioredis) for the per-address rate limits shared by all instances. */
  rateLimitRedis?: unknown;
  /** Where WeChat access tokens are cached (a shared cache lets one instance refresh for all). */
  tokenCache?: TokenCache;
}

export interface Runtime {
  config: Config;
  store: Store;
  state: SharedState;
  sealer: Sealer;
  tokens: AccessTokens;
  revocations: RevocationList;
  /** Users read by authenticated requests, dropped on every change signalled by any instance. */
  users: UserCache;
  wechat: ReadonlyMap<string, WechatClient>;
  metrics: Metrics;
  service: AuthService;
  /**
   * Housekeeping, run every minute (and callable): reloads signing keys (so a
   * rotation made elsewhere is used within a minute), deletes expired sessions
   * and refresh tokens, and signing keys retired longer than a token lifetime ago.
   */
  maintain(): Promise<void>;
  close(): Promise<void>;
}

/** How often the runtime runs `maintain()` (ms). */
const MAINTENANCE_INTERVAL_MS = 60_000;
/** How long a cached user is served at most (ms); changes drop it long before, through the user-change signal. */
const USER_CACHE_MAX_AGE_MS = 60_000;

export function defaultWechatClient(
  deps: Pick<RuntimeDeps, 'fetch' | 'now' | 'tokenCache'> = {},
): NonNullable<RuntimeDeps['wechatClient']> {
  return (app, config, metrics) =>
    createWechatClient({
      appId: app.appId,
      secret: app.secret,
      baseUrl: config.wechatApiBaseUrl,
      requestTimeoutMs: config.wechatTimeoutMs,
      maxRetries: config.wechatMaxRetries,
      accessTokenMode: config.wechatAccessTokenMode,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.tokenCache ? { tokenCache: deps.tokenCache } : {}),
      onCall(event) {
        metrics.wechatCalls.observe({ endpoint: event.endpoint, outcome: event.outcome }, event.durationMs / 1000);
        if (event.errcode !== null)
          metrics.wechatErrcodes.inc({ endpoint: event.endpoint, errcode: String(event.errcode) });
      },
    });
}

export async function createRuntime(config: Config, deps: RuntimeDeps, logger: ServiceLogger): Promise<Runtime> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? pooledRandomBytes;
  const store =
    deps.store ??
    openStore(config.databaseUrl, {
      postgresPoolSize: config.postgresPoolSize,
      sqliteCacheKiB: config.sqliteCacheKiB,
    });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  try {
    if (deps.store === undefined) closers.push(() => store.close());
    await store.migrate();
    const state = deps.state ?? createMemoryState({ now });
    if (deps.state === undefined) closers.push(() => state.close());
    const metrics =
      deps.metrics ?? createMetrics({ countActiveSessions: () => store.countActiveSessions(Math.floor(now() / 1000)) });
    const sealer = createSealer([config.secret, ...config.previousSecrets], random);
    const tokens = new AccessTokens(store, sealer, {
      issuer: config.tokenIssuer,
      audience: config.tokenAudience,
      ttlSeconds: config.accessTokenTtlSeconds,
      alg: config.signingAlg,
      now,
    });
    await tokens.init();
    const revocations = new RevocationList(store, state, config.accessTokenTtlSeconds * 1000, now);
    await revocations.start();
    closers.push(async () => revocations.stop());
    const users = new UserCache(state, { maxEntries: config.userCacheSize, maxAgeMs: USER_CACHE_MAX_AGE_MS, now });
    users.start();
    closers.push(async () => users.stop());
    const makeClient = deps.wechatClient ?? defaultWechatClient(deps);
    const wechat = new Map(config.apps.map((app) => [app.appId, makeClient(app, config, metrics)] as const));
    closers.push(async () => {
      await Promise.all([...wechat.values()].map((client) => client.close()));
    });
    const parts = { config, store, state, sealer, tokens, revocations, users, wechat, metrics };
    const service = new AuthService({ ...parts, logger, now, random });
    const maintain = async (): Promise<void> => {
      const nowSeconds = Math.floor(now() / 1000);
      await store.deleteExpired(nowSeconds);
      await store.deleteRetiredSigningKeys(nowSeconds - config.accessTokenTtlSeconds);
      await tokens.reload();
    };
    const timer = setInterval(() => {
      maintain().catch((error: unknown) => logger.warn({ err: error }, 'maintenance failed; retried next minute'));
    }, MAINTENANCE_INTERVAL_MS);
    timer.unref();
    closers.push(async () => clearInterval(timer));
    return { ...parts, service, maintain, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
