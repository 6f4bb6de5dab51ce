/** Picks the shared-state backend from the configuration: in-process, or Redis when `REDIS_URL` is set. */
import type { TokenCache } from '@wxlogin/wechat';
import type { Config } from '../config/config.js';
import { createMemoryState } from './memory.js';
import type { SharedState } from './types.js';

export interface SharedStateHandle {
  state: SharedState;
  /** The Redis client for per-address rate limits, when Redis is used. */
  rateLimitRedis?: unknown;
  /** The shared WeChat access-token cache, when Redis is used. */
  tokenCache?: TokenCache;
  close(): Promise<void>;
}

export async function createSharedState(config: Config): Promise<SharedStateHandle> {
  if (config.redisUrl === null) {
    const state = createMemoryState();
    return { state, close: () => state.close() };
  }
  throw new Error('REDIS_URL: the Redis backend is not available in this build');
}
