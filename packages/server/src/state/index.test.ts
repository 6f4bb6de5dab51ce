// The Redis client is loaded only when Redis is configured. The mock of
// `ioredis` passes the real module through and counts the loads.
import { describe, expect, it, vi } from 'vitest';
import { createRedisState, createSharedState } from './index.js';

const client = vi.hoisted(() => ({ loads: 0 }));

vi.mock('ioredis', async (importOriginal) => {
  client.loads++;
  return importOriginal();
});

describe('createSharedState loads the Redis client only when Redis is configured', () => {
  it('in-process state never loads it; createRedisState does', async () => {
    const shared = await createSharedState({ redisUrl: null, redisCluster: false });
    expect(shared.rateLimitRedis).toBeUndefined();
    expect((await shared.state.hit('k', 1000)).count).toBe(1);
    await shared.close();
    expect(client.loads).toBe(0);

    await expect(createRedisState({ url: 'http://127.0.0.1:6379' })).rejects.toThrow(TypeError);
    expect(client.loads).toBe(1);
  });
});
