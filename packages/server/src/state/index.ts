/** Picks the shared-state backend from the configuration: in-process, or Redis when `REDIS_URL` is set. */
import type { TokenCache } from '@wxlogin/wechat';
import type { Config } from '../config/config.js';
import { createMemoryState } from './memory.js';
import type { RedisStateOptions } from './redis.js';
import type { SharedState } from './types.js';

export type { RedisStateOptions } from './redis.js';

export interface SharedStateHandle {
  state: SharedState;
  /** The Redis client for per-address rate limits, when Redis is used. */
  rateLimitRedis?: unknown;
  /** The shared WeChat access-token cache, when Redis is used. */
  tokenCache?: TokenCache;
  close(): Promise<void>;
}

/**
 * The shared state the configuration names: in-process without `REDIS_URL`;
 * Redis (a Cluster with `REDIS_CLUSTER`) otherwise. An unreachable Redis does
 * not stop start-up: requests answer 503 until it is back.
 */
export async function createSharedState(
  config: Pick<Config, 'redisUrl' | 'redisCluster'>,
  options: { onError?: (error: Error) => void } = {},
): Promise<SharedStateHandle> {
  if (config.redisUrl === null) {
    const state = createMemoryState();
    return { state, close: () => state.close() };
  }
  return createRedisState({
    url: config.redisUrl,
    cluster: config.redisCluster,
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

/**
 * Opens the Redis shared state: a command connection (also used by the HTTP
 * rate limiter and the token cache) and a subscriber connection. Waits at most
 * `connectTimeoutMs` for both to be ready, and does not fail when Redis is
 * unreachable: the operations throw `StateUnavailableError` until it is.
 * The Redis module and its `ioredis` client are loaded by the first call, so a
 * service without Redis never loads them.
 *
 * @throws TypeError when an option is invalid.
 * @example
 * const shared = await createRedisState({ url: 'redis://127.0.0.1:6379' });
 * app.addHook('onClose', () => shared.close());
 */
export async function createRedisState(options: RedisStateOptions): Promise<SharedStateHandle> {
  const redis = await import('./redis.js');
  return redis.createRedisState(options);
}
