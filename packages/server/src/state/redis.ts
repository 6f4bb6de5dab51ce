/**
 * The Redis SharedState, for several instances of the service behind a load
 * balancer: login-code markers, rate-limit counters, the revocation signal and
 * the WeChat access-token cache, all under one key prefix.
 *
 * Fail fast, heal by itself: commands are never queued while Redis is away
 * (`enableOfflineQueue: false`) and time out after `commandTimeoutMs`, so every
 * operation then throws `StateUnavailableError` (503 `service_unavailable`) at
 * once; the client keeps reconnecting in the background and the same handle
 * works again as soon as Redis answers.
 *
 * Key layout (after the prefix, default `wxlogin:`); one operation never
 * touches two keys, and each key carries a hash tag, so it runs on one Redis
 * Cluster slot:
 * - `code:{<digest>}`: `inflight` | `done:<outcome json>` | `failed:<outcome json>`
 * - `hit:{<counter>}`: fixed-window counters
 * - `token:{<cache key>}` and `token:{<cache key>}:lock`: the WeChat access token and its refresh lock
 * - `wxlogin:rl:…`: the per-address counters of the HTTP rate limiter
 *
 * Channels (Pub/Sub; the prefix is added too): `<prefix>revocations` (a
 * session id per message), `<prefix>users` (the id of a user whose record
 * changed) and `<prefix>codes` (a settled code and its outcome).
 */
import { randomBytes } from 'node:crypto';
import type { CachedAccessToken, TokenCache } from '@wxlogin/wechat';
import { type Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RandomBytes } from '../crypto/tokens.js';
import type { SharedStateHandle } from './index.js';
import { type CodeClaim, type CodeOutcome, type SharedState, StateUnavailableError } from './types.js';

export interface RedisStateOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). With `cluster`,
   * one or more seed nodes of the cluster, separated by commas (credentials and
   * TLS are taken from the first).
   */
  url: string;
  /**
   * Connect to a Redis Cluster (`new Redis.Cluster(seeds)`) instead of one server.
   * @default false
   */
  cluster?: boolean;
  /**
   * Put before every key and channel name, so several deployments can share one Redis.
   * @default 'wxlogin:'
   */
  keyPrefix?: string;
  /**
   * A command without a reply after this many milliseconds fails (then `StateUnavailableError`).
   * @default 1000
   */
  commandTimeoutMs?: number;
  /**
   * Opening a connection gives up after this many milliseconds (the client retries in the background).
   * @default 1000
   */
  connectTimeoutMs?: number;
  /**
   * Longest pause between two reconnection attempts, in milliseconds: how long Redis may
   * be back before this instance notices.
   * @default 1000
   */
  maxReconnectDelayMs?: number;
  /**
   * How often a request waiting for another request's login code re-reads the marker,
   * in milliseconds, in case the settle message was missed.
   * @default 200
   */
  codePollMs?: number;
  /**
   * How long the outcome of a failed code exchange stays readable for late waiters, in milliseconds.
   * @default 5000
   */
  failedCodeTtlMs?: number;
  /**
   * Longest time one instance holds the access-token refresh lock, in milliseconds
   * (the lock of an instance that died lapses after it).
   * @default 10000
   */
  lockTtlMs?: number;
  /**
   * Longest time an instance waits for another's refresh lock, in milliseconds; after it, it
   * refreshes without the lock (harmless with `stable_token`, which never invalidates a token
   * others hold).
   * @default 10000
   */
  lockWaitMs?: number;
  /**
   * How often a waiting instance retries the refresh lock, in milliseconds.
   * @default 20
   */
  lockPollMs?: number;
  /** ms clock, for the lifetime of cached access tokens. */
  now?: () => number;
  /** Randomness for the lock values. */
  random?: RandomBytes;
  /**
   * Told about connection errors (refused, reset, timed out). They never reach a caller
   * this way: the operations of the moment throw `StateUnavailableError`.
   */
  onError?: (error: Error) => void;
}

/** The Lua scripts, loaded once per connection (EVALSHA) by ioredis. */
interface ScriptCommands {
  wxloginClaimCode(key: string, inFlightTtlMs: number): Promise<CodeClaim>;
  wxloginSettleCode(key: string, marker: string, ttlMs: number, channel: string, message: string): Promise<number>;
  wxloginHit(key: string, windowMs: number): Promise<[number, number]>;
  wxloginUnlock(key: string, value: string): Promise<number>;
}

/** Absent or failed: the caller owns the code now. In flight: someone else does. Done: redeemed. */
const CLAIM_CODE = `
local current = redis.call('GET', KEYS[1])
if current == false or string.sub(current, 1, 7) == 'failed:' then
  redis.call('SET', KEYS[1], 'inflight', 'PX', ARGV[1])
  return 'claimed'
end
if current == 'inflight' then return 'in_flight' end
return 'redeemed'
`;

/** Stores the outcome (a failure never overwrites a success) and tells the waiters of every instance. */
const SETTLE_CODE = `
local current = redis.call('GET', KEYS[1])
local failing = string.sub(ARGV[1], 1, 7) == 'failed:'
if not (failing and current and string.sub(current, 1, 5) == 'done:') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** One hit: the window starts with the first hit (and is repaired if a key lost its expiry). */
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** Releases a lock only if this holder still has it (its value), never one taken over after it lapsed. */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Client = Redis | Cluster;

/**
 * Most signals (revocations, user changes) kept for sending after an outage. Each
 * is also in the store, which listeners read again at a resync.
 */
const MAX_UNSENT_SIGNALS = 10_000;

const codeKey = (digest: string): string => `code:{${digest}}`;
const hitKey = (key: string): string => `hit:{${key}}`;
const tokenKey = (key: string): string => `token:{${key}}`;
const lockKey = (key: string): string => `token:{${key}}:lock`;

/** Whole milliseconds, at least 1 (PX refuses 0 and fractions). */
const px = (ms: number): number => Math.max(1, Math.ceil(ms));

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`createRedisState: ${name} must be a positive integer (milliseconds)`);
  }
  return value;
}

/**
 * A copy of a Redis error fit for logs: ioredis attaches the failed command and
 * its arguments (which may hold an access token) to some errors; this keeps
 * only the name and message.
 */
function scrub(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error).slice(0, 200));
  const copy = new Error(error.message.slice(0, 200));
  copy.name = error.name;
  return copy;
}

function unavailable(what: string, op: string, error: unknown): StateUnavailableError {
  if (error instanceof StateUnavailableError) return error;
  const cause = scrub(error);
  return new StateUnavailableError(`${what}: ${op} failed (${cause.message})`, { cause });
}

function parseOutcome(text: string): CodeOutcome | null {
  try {
    const value = JSON.parse(text) as CodeOutcome;
    if (value !== null && typeof value === 'object' && typeof value.ok === 'boolean') return value;
  } catch {
    // not an outcome
  }
  return null;
}

/** The outcome stored in a code marker, or undefined while it is in flight. */
function outcomeOfMarker(marker: string): CodeOutcome | null | undefined {
  if (marker.startsWith('done:')) return parseOutcome(marker.slice(5));
  if (marker.startsWith('failed:')) return parseOutcome(marker.slice(7));
  return undefined;
}

/** How one Redis connection behaves (see `RedisStateOptions` for the units and defaults). */
export interface ConnectionSettings {
  keyPrefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxReconnectDelayMs: number;
}

/** ioredis options of one connection: nothing queued, short timeouts, reconnect forever with a capped pause. */
function nodeOptions(settings: ConnectionSettings): RedisOptions {
  return {
    enableOfflineQueue: false,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout: settings.commandTimeoutMs,
    // A command whose connection dropped fails instead of being sent again after a reconnect
    // (an INCR or a claim must not run twice without the caller knowing).
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The subscriber resubscribes itself, to know when messages may have been missed.
    autoResubscribe: false,
  };
}

const reconnectDelay =
  (settings: ConnectionSettings) =>
  (attempt: number): number =>
    Math.min(attempt * 100, settings.maxReconnectDelayMs);

/** Seed nodes of a cluster URL list, and the connection options the first URL carries. */
function clusterSeeds(url: string): { nodes: Array<{ host: string; port: number }>; redisOptions: RedisOptions } {
  const urls = url
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const first = urls[0];
  if (first === undefined || !urls.every((u) => URL.canParse(u))) {
    throw new TypeError('createRedisState: url must be redis://host:port[,redis://host:port…] in cluster mode');
  }
  const nodes = urls.map((u) => {
    const parsed = new URL(u);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const parsed = new URL(first);
  const redisOptions: RedisOptions = {};
  if (parsed.username !== '') redisOptions.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') redisOptions.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') redisOptions.tls = {};
  return { nodes, redisOptions };
}

/** Opens one connection, or one cluster client, with the settings of this state. */
export function connectRedis(url: string, cluster: boolean, settings: ConnectionSettings): Redis | Cluster {
  if (!cluster) {
    return new Redis(url, {
      ...nodeOptions(settings),
      keyPrefix: settings.keyPrefix,
      retryStrategy: reconnectDelay(settings),
    });
  }
  const { nodes, redisOptions } = clusterSeeds(url);
  const { enableOfflineQueue, ...perNode } = nodeOptions(settings);
  const clusterOptions: ClusterOptions = {
    keyPrefix: settings.keyPrefix,
    enableOfflineQueue,
    clusterRetryStrategy: reconnectDelay(settings),
    // The cluster client moves its subscription between nodes itself and needs the node
    // connection to resubscribe; the resync then follows the cluster's own 'ready'.
    redisOptions: { ...perNode, autoResubscribe: true, ...redisOptions },
  };
  return new Redis.Cluster(nodes, clusterOptions);
}

/** Resolves when `ready` does, the client failed its first attempt, or `ms` passed; never rejects. */
function firstAttempt(client: Client, ready: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('error', done);
    void ready.then(done);
  });
}

const readyEvent = (client: Client): Promise<void> =>
  client.status === 'ready' ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve()));

async function quit(client: Client): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/**
 * Opens the Redis shared state: a command connection (also used by the HTTP
 * rate limiter and the token cache) and a subscriber connection. Waits at most
 * `connectTimeoutMs` for both to be ready, and does not fail when Redis is
 * unreachable: the operations throw `StateUnavailableError` until it is.
 *
 * @throws TypeError when an option is invalid.
 * @example
 * const shared = await createRedisState({ url: 'redis://127.0.0.1:6379' });
 * const app = await buildApp(config, {
 *   state: shared.state, rateLimitRedis: shared.rateLimitRedis, tokenCache: shared.tokenCache,
 * });
 * app.addHook('onClose', () => shared.close());
 */
export async function createRedisState(options: RedisStateOptions): Promise<SharedStateHandle> {
  const {
    url,
    cluster = false,
    keyPrefix = 'wxlogin:',
    now = Date.now,
    random = randomBytes,
    onError = () => {},
  } = options;
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new TypeError('createRedisState: url must start with redis:// or rediss://');
  }
  if (typeof keyPrefix !== 'string') throw new TypeError('createRedisState: keyPrefix must be a string');
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? 1000);
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? 1000);
  const maxReconnectDelayMs = positive('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 1000);
  const codePollMs = positive('codePollMs', options.codePollMs ?? 200);
  const failedCodeTtlMs = positive('failedCodeTtlMs', options.failedCodeTtlMs ?? 5000);
  const lockTtlMs = positive('lockTtlMs', options.lockTtlMs ?? 10_000);
  const lockWaitMs = positive('lockWaitMs', options.lockWaitMs ?? 10_000);
  const lockPollMs = positive('lockPollMs', options.lockPollMs ?? 20);

  const settings: ConnectionSettings = { keyPrefix, commandTimeoutMs, connectTimeoutMs, maxReconnectDelayMs };
  const client = connectRedis(url, cluster, settings);
  const subscriber = connectRedis(url, cluster, settings);
  const report = (error: Error): void => onError(scrub(error));
  client.on('error', report);
  subscriber.on('error', report);

  client.defineCommand('wxloginClaimCode', { numberOfKeys: 1, lua: CLAIM_CODE });
  client.defineCommand('wxloginSettleCode', { numberOfKeys: 1, lua: SETTLE_CODE });
  client.defineCommand('wxloginHit', { numberOfKeys: 1, lua: HIT });
  client.defineCommand('wxloginUnlock', { numberOfKeys: 1, lua: UNLOCK });
  const scripts = client as unknown as ScriptCommands;

  const revocationChannel = `${keyPrefix}revocations`;
  const usersChannel = `${keyPrefix}users`;
  const codesChannel = `${keyPrefix}codes`;
  const revocationListeners = new Set<(sessionId: string) => void>();
  const userListeners = new Set<(userId: string) => void>();
  const resyncListeners = new Set<() => void>();
  const codeWaiters = new Map<string, Set<(outcome: CodeOutcome | null) => void>>();
  let closed = false;
  /** Subscribed on the current subscriber connection (false while it is down). */
  let subscribed = false;
  let everSubscribed = false;
  let firstSubscribed: () => void = () => {};
  const subscribedOnce = new Promise<void>((resolve) => {
    firstSubscribed = resolve;
  });

  /** Signals this instance could not publish, by channel; sent when the command connection is ready again. */
  const unsent = new Map<string, Set<string>>([
    [revocationChannel, new Set()],
    [usersChannel, new Set()],
  ]);
  client.on('ready', () => {
    for (const [channel, messages] of unsent) {
      for (const message of [...messages]) {
        client.publish(channel, message).then(
          () => messages.delete(message),
          () => {},
        );
      }
    }
  });

  /** Adds a signal listener (and its resync callback); answers the function that removes both. */
  function listen(
    listeners: Set<(message: string) => void>,
    listener: (message: string) => void,
    onResync: (() => void) | undefined,
  ): () => void {
    listeners.add(listener);
    if (onResync) resyncListeners.add(onResync);
    return () => {
      listeners.delete(listener);
      if (onResync) resyncListeners.delete(onResync);
    };
  }

  /** Publishes a signal; one that cannot be sent now is kept and sent when Redis is back. */
  async function signal(op: string, channel: string, message: string): Promise<void> {
    try {
      await command(op, () => client.publish(channel, message));
    } catch (error) {
      // Instances that stayed connected would never hear of it otherwise.
      const pending = unsent.get(channel);
      if (pending !== undefined && pending.size < MAX_UNSENT_SIGNALS) pending.add(message);
      throw error;
    }
  }

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === revocationChannel) {
      for (const listener of revocationListeners) listener(message);
    } else if (channel === usersChannel) {
      for (const listener of userListeners) listener(message);
    } else if (channel === codesChannel) {
      const parsed = parseCodeMessage(message);
      if (parsed === null) return;
      for (const wake of codeWaiters.get(parsed.digest) ?? []) wake(parsed.outcome);
    }
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(revocationChannel, usersChannel, codesChannel).then(
      () => {
        subscribed = true;
        // Messages sent while the subscriber was away are lost: listeners reload from the store.
        if (everSubscribed) for (const resync of resyncListeners) resync();
        everSubscribed = true;
        firstSubscribed();
      },
      (error: unknown) => report(scrub(error)),
    );
  });
  subscriber.on('close', () => {
    subscribed = false;
  });

  async function run<T>(what: string, op: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StateUnavailableError(`${what}: ${op} after close()`);
    if (client.status !== 'ready') {
      throw new StateUnavailableError(`${what}: ${op} failed (not connected to Redis: ${client.status})`);
    }
    try {
      return await fn();
    } catch (error) {
      throw unavailable(what, op, error);
    }
  }
  const command = <T>(op: string, fn: () => Promise<T>): Promise<T> => run('Redis state', op, fn);

  const state: SharedState = {
    kind: 'redis',

    claimCode(digest, inFlightTtlMs) {
      return command('claimCode', () => scripts.wxloginClaimCode(codeKey(digest), px(inFlightTtlMs)));
    },

    async settleCode(digest, outcome, redeemedTtlMs) {
      const marker = outcome.ok ? `done:${JSON.stringify(outcome)}` : `failed:${JSON.stringify(outcome)}`;
      const ttlMs = outcome.ok ? redeemedTtlMs : Math.min(failedCodeTtlMs, redeemedTtlMs);
      const message = JSON.stringify({ digest, outcome });
      await command('settleCode', () =>
        scripts.wxloginSettleCode(codeKey(digest), marker, px(ttlMs), codesChannel, message),
      );
    },

    waitForCode(digest, timeoutMs) {
      return new Promise<CodeOutcome | null>((resolve, reject) => {
        let finished = false;
        const waiters = codeWaiters.get(digest) ?? new Set();
        codeWaiters.set(digest, waiters);
        const finish = (outcome: CodeOutcome | null, error?: unknown): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          clearInterval(poll);
          waiters.delete(wake);
          if (waiters.size === 0 && codeWaiters.get(digest) === waiters) codeWaiters.delete(digest);
          if (error === undefined) resolve(outcome);
          else reject(error);
        };
        const wake = (outcome: CodeOutcome | null): void => finish(outcome);
        waiters.add(wake);
        const timer = setTimeout(() => finish(null), timeoutMs);
        // The message may have been missed (sent before this waiter listened, or while the
        // subscriber reconnected): the marker itself is the truth. A marker that vanished
        // belongs to an owner that died; no outcome will come.
        const check = (): void => {
          command('waitForCode', () => client.get(codeKey(digest))).then(
            (marker) => {
              if (marker === null) return finish(null);
              const outcome = outcomeOfMarker(marker);
              if (outcome !== undefined) finish(outcome);
            },
            (error: unknown) => finish(null, error),
          );
        };
        const poll = setInterval(check, codePollMs);
        check();
      });
    },

    async hit(key, windowMs) {
      const [count, ttl] = await command('hit', () => scripts.wxloginHit(hitKey(key), px(windowMs)));
      return { count: Number(count), resetInMs: Math.max(0, Number(ttl)) };
    },

    publishRevocation(sessionId) {
      return signal('publishRevocation', revocationChannel, sessionId);
    },

    onRevocation(listener, onResync) {
      return listen(revocationListeners, listener, onResync);
    },

    publishUserChange(userId) {
      return signal('publishUserChange', usersChannel, userId);
    },

    onUserChange(listener, onResync) {
      return listen(userListeners, listener, onResync);
    },

    async ping() {
      await command('ping', () => client.ping());
      if (!subscribed) {
        throw new StateUnavailableError('Redis state: ping failed (the subscriber connection is not subscribed)');
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      revocationListeners.clear();
      userListeners.clear();
      resyncListeners.clear();
      for (const waiters of codeWaiters.values()) for (const wake of waiters) wake(null);
      codeWaiters.clear();
      await Promise.all([quit(client), quit(subscriber)]);
    },
  };

  const tokenCache = createRedisTokenCache(client, scripts, {
    now,
    random,
    lockTtlMs,
    lockWaitMs,
    lockPollMs,
    run: (op, fn) => run('Redis token cache', op, fn),
  });

  await Promise.all([
    firstAttempt(client, readyEvent(client), connectTimeoutMs),
    firstAttempt(subscriber, subscribedOnce, connectTimeoutMs),
  ]);
  return {
    state,
    rateLimitRedis: rateLimitClient(client),
    tokenCache,
    close: () => state.close(),
  };
}

function parseCodeMessage(message: string): { digest: string; outcome: CodeOutcome } | null {
  try {
    const value = JSON.parse(message) as { digest?: unknown; outcome?: unknown };
    const outcome = parseOutcome(JSON.stringify(value.outcome));
    if (typeof value.digest === 'string' && outcome !== null) return { digest: value.digest, outcome };
  } catch {
    // not ours
  }
  return null;
}

/**
 * The WeChat access-token cache shared by every instance, with a cross-instance
 * refresh lock: `SET NX PX` with a random value, released by compare-and-delete.
 */
function createRedisTokenCache(
  client: Client,
  scripts: ScriptCommands,
  options: {
    now: () => number;
    random: RandomBytes;
    lockTtlMs: number;
    lockWaitMs: number;
    lockPollMs: number;
    run: <T>(op: string, fn: () => Promise<T>) => Promise<T>;
  },
): TokenCache {
  const { now, random, lockTtlMs, lockWaitMs, lockPollMs, run } = options;
  return {
    async get(key): Promise<CachedAccessToken | null> {
      const text = await run('get', () => client.get(tokenKey(key)));
      if (text === null) return null;
      try {
        const value = JSON.parse(text) as Partial<CachedAccessToken>;
        if (typeof value.token === 'string' && typeof value.expiresAt === 'number') {
          return { token: value.token, expiresAt: value.expiresAt };
        }
      } catch {
        // a damaged entry is a miss
      }
      return null;
    },

    async set(key, value) {
      const entry = JSON.stringify({ token: value.token, expiresAt: value.expiresAt });
      await run('set', () => client.set(tokenKey(key), entry, 'PX', px(value.expiresAt - now())));
    },

    async delete(key) {
      await run('delete', () => client.del(tokenKey(key)));
    },

    async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const lock = lockKey(key);
      const value = random(16).toString('hex');
      let held = false;
      for (let waited = 0; ; waited += lockPollMs) {
        held = (await run('lock', () => client.set(lock, value, 'PX', lockTtlMs, 'NX'))) === 'OK';
        if (held || waited >= lockWaitMs) break;
        await sleep(lockPollMs);
      }
      try {
        return await fn();
      } finally {
        if (held) await run('unlock', () => scripts.wxloginUnlock(lock, value)).catch(() => {});
      }
    },
  };
}

/**
 * The client handed to `@fastify/rate-limit`: the command connection, with its
 * failures turned into `StateUnavailableError` (so a request the limiter cannot
 * count answers 503 `service_unavailable`, not 500). The limiter only defines
 * Lua commands and calls them with a callback.
 */
function rateLimitClient(client: Client): object {
  const adapter: Record<string, unknown> = {
    defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void {
      client.defineCommand(name, definition);
      const call = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
      if (typeof call !== 'function') return;
      adapter[name] = (...args: unknown[]): void => {
        const callback = args.pop() as (error: Error | null, result?: unknown) => void;
        if (client.status !== 'ready') {
          callback(
            new StateUnavailableError(`Redis rate limiter: ${name} failed (not connected to Redis: ${client.status})`),
          );
          return;
        }
        call.apply(client, args).then(
          (result) => callback(null, result),
          (error: unknown) => callback(unavailable('Redis rate limiter', name, error)),
        );
      };
    },
  };
  return adapter;
}
