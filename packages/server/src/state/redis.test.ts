import { createServer } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { deleteKeys, hostPort, startTcpProxy, type TcpProxy } from '../../test/scale-backend.js';
import { describeSharedStateConformance } from './conformance.js';
import type { SharedStateHandle } from './index.js';
import { connectRedis, createRedisState, type RedisStateOptions } from './redis.js';
import { StateUnavailableError } from './types.js';

const redisUrl = inject('redisUrl');
const prefix = (): string => `wxlogin-test:${Math.random().toString(36).slice(2)}:`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => Promise<boolean> | boolean, ms = 5000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`condition not met within ${ms} ms`);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('createRedisState options', () => {
  it.each([
    [{ url: 'http://127.0.0.1:6379' }, /url must start with redis/],
    [{ url: 'redis://127.0.0.1:6379', commandTimeoutMs: 0 }, /commandTimeoutMs must be a positive integer/],
    [{ url: 'redis://127.0.0.1:6379', lockWaitMs: 1.5 }, /lockWaitMs must be a positive integer/],
  ] as Array<[RedisStateOptions, RegExp]>)('refuses %o', async (options, message) => {
    await expect(createRedisState(options)).rejects.toThrow(message);
    await expect(createRedisState(options)).rejects.toBeInstanceOf(TypeError);
  });

  it('builds a Redis.Cluster from the seed list in cluster mode, with the prefix and fail-fast options', () => {
    const settings = { keyPrefix: 'p:', commandTimeoutMs: 500, connectTimeoutMs: 500, maxReconnectDelayMs: 1000 };
    const cluster = connectRedis('redis://user:pw@127.0.0.1:1,redis://127.0.0.1:2', true, settings);
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      const options = (cluster as Cluster).options;
      expect(options.keyPrefix).toBe('p:');
      expect(options.enableOfflineQueue).toBe(false);
      expect(options.redisOptions).toMatchObject({
        username: 'user',
        password: 'pw',
        commandTimeout: 500,
        maxRetriesPerRequest: 0,
        autoResubscribe: true,
      });
    } finally {
      cluster.disconnect();
    }
    const single = connectRedis('redis://127.0.0.1:1', false, settings);
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(single).not.toBeInstanceOf(Cluster);
      expect((single as Redis).options).toMatchObject({ keyPrefix: 'p:', enableOfflineQueue: false });
    } finally {
      single.disconnect();
    }
    expect(() => connectRedis('redis://a:1,not a url', true, settings)).toThrow(TypeError);
  });

  it('in cluster mode too, an unreachable cluster fails fast', async () => {
    const port = await closedPort();
    const shared = await createRedisState({ url: `redis://127.0.0.1:${port}`, cluster: true, connectTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(shared.state.claimCode('d', 1000)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(shared.state.ping()).rejects.toBeInstanceOf(StateUnavailableError);
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await shared.close();
    }
  });

  it('fails fast, without hanging, when Redis is unreachable', async () => {
    const port = await closedPort();
    const started = Date.now();
    const shared = await createRedisState({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 });
    try {
      expect(Date.now() - started).toBeLessThan(1500);
      const calls = [
        shared.state.claimCode('d', 1000),
        shared.state.hit('k', 1000),
        shared.state.publishRevocation('s'),
        shared.state.ping(),
        shared.state.waitForCode('d', 5000),
        shared.tokenCache?.get('k') ?? Promise.resolve(),
      ];
      const t0 = Date.now();
      for (const call of calls) await expect(call).rejects.toBeInstanceOf(StateUnavailableError);
      expect(Date.now() - t0).toBeLessThan(500);
    } finally {
      await shared.close();
    }
  });
});

describe.skipIf(redisUrl === null)('Redis shared state', () => {
  const url = redisUrl as string;
  const opened: SharedStateHandle[] = [];
  const proxies: TcpProxy[] = [];
  const prefixes: string[] = [];
  const open = async (options: Partial<RedisStateOptions> = {}): Promise<SharedStateHandle> => {
    const keyPrefix = options.keyPrefix ?? prefix();
    prefixes.push(keyPrefix);
    const handle = await createRedisState({ url, ...options, keyPrefix });
    opened.push(handle);
    return handle;
  };
  const proxy = async (): Promise<TcpProxy> => {
    const started = await startTcpProxy(hostPort(url, 6379));
    proxies.push(started);
    return started;
  };
  afterEach(async () => {
    for (const handle of opened.splice(0)) await handle.close();
    for (const p of proxies.splice(0)) await p.close();
    for (const p of prefixes.splice(0)) await deleteKeys(url, p);
  });

  describeSharedStateConformance('redis', async () => {
    const keyPrefix = prefix();
    const handles: SharedStateHandle[] = [];
    return {
      async open() {
        const handle = await createRedisState({ url, keyPrefix });
        handles.push(handle);
        return handle;
      },
      async cleanup() {
        for (const handle of handles) await handle.close();
        await deleteKeys(url, keyPrefix);
      },
    };
  });

  it('keeps deployments with different prefixes apart', async () => {
    const a = await open();
    const b = await open();
    expect(await a.state.claimCode('same', 5000)).toBe('claimed');
    expect(await b.state.claimCode('same', 5000)).toBe('claimed');
    const seen: string[] = [];
    b.state.onRevocation((id) => seen.push(id));
    await a.state.publishRevocation('only-in-a');
    await sleep(100);
    expect(seen).toEqual([]);
  });

  it('a late failure of a lapsed owner never undoes a success of the same code', async () => {
    const a = await open();
    await a.state.claimCode('twice', 5000);
    await a.state.settleCode('twice', { ok: true, userId: 'u', created: false }, 60_000);
    await a.state.settleCode('twice', { ok: false, error: { code: 'code_used', message: 'used' } }, 60_000);
    expect(await a.state.claimCode('twice', 5000)).toBe('redeemed');
  });

  it('writes its keys under the prefix, each with a hash tag', async () => {
    const keyPrefix = prefix();
    const shared = await open({ keyPrefix });
    await shared.state.claimCode('abc', 5000);
    await shared.state.hit('user:login:u1', 5000);
    await shared.tokenCache?.set('wxlogin:wechat-access-token:wx1:stable', {
      token: 't',
      expiresAt: Date.now() + 5000,
    });
    const raw = new Redis(url);
    try {
      const keys = (await raw.keys(`${keyPrefix}*`)).sort();
      expect(keys).toEqual(
        [
          `${keyPrefix}code:{abc}`,
          `${keyPrefix}hit:{user:login:u1}`,
          `${keyPrefix}token:{wxlogin:wechat-access-token:wx1:stable}`,
        ].sort(),
      );
      expect(await raw.pttl(`${keyPrefix}token:{wxlogin:wechat-access-token:wx1:stable}`)).toBeGreaterThan(0);
      expect(await raw.pttl(`${keyPrefix}code:{abc}`)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
    }
  });

  it('a waiter still gets the outcome when the settle message is missed (poll fallback)', async () => {
    const keyPrefix = prefix();
    const shared = await open({ keyPrefix, codePollMs: 50 });
    expect(await shared.state.claimCode('missed', 5000)).toBe('claimed');
    const waiting = shared.state.waitForCode('missed', 3000);
    // Settled by hand: no message is published.
    const raw = new Redis(url);
    try {
      await raw.set(`${keyPrefix}code:{missed}`, `done:${JSON.stringify({ ok: true, userId: 'u', created: false })}`);
    } finally {
      raw.disconnect();
    }
    const started = Date.now();
    expect(await waiting).toEqual({ ok: true, userId: 'u', created: false });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('fails fast while Redis is cut, and heals by itself with a resync of the revocation listeners', async () => {
    const p = await proxy();
    const shared = await open({ url: p.address(url) });
    const direct = await open({ keyPrefix: prefixes.at(-1) as string });
    let resyncs = 0;
    const seen: string[] = [];
    shared.state.onRevocation(
      (id) => seen.push(id),
      () => {
        resyncs += 1;
      },
    );
    await shared.state.ping();
    p.cut();
    const t0 = Date.now();
    await expect(shared.state.claimCode('cut', 5000)).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(shared.state.ping()).rejects.toBeInstanceOf(StateUnavailableError);
    expect(Date.now() - t0).toBeLessThan(300);
    // Published while this instance is away: lost for it, so a resync must follow.
    await direct.state.publishRevocation('while-away');
    p.restore();
    const healedIn = await eventually(async () => {
      try {
        await shared.state.ping();
        return true;
      } catch {
        return false;
      }
    });
    expect(healedIn).toBeLessThan(3000);
    await eventually(() => resyncs > 0);
    expect(resyncs).toBe(1);
    expect(seen).toEqual([]);
    await direct.state.publishRevocation('after');
    await eventually(() => seen.includes('after'));
    expect(await shared.state.claimCode('healed', 5000)).toBe('claimed');
  });

  it('a revocation published during an outage is sent when Redis is back', async () => {
    const p = await proxy();
    const cutOff = await open({ url: p.address(url) });
    const other = await open({ keyPrefix: prefixes.at(-1) as string });
    const seen: string[] = [];
    other.state.onRevocation((id) => seen.push(id));
    p.cut();
    await expect(cutOff.state.publishRevocation('during-outage')).rejects.toBeInstanceOf(StateUnavailableError);
    await sleep(100);
    expect(seen).toEqual([]);
    p.restore();
    await eventually(() => seen.includes('during-outage'));
    expect(seen).toEqual(['during-outage']);
  });

  it('a stalled connection fails after commandTimeoutMs, not later', async () => {
    const p = await proxy();
    const shared = await open({ url: p.address(url), commandTimeoutMs: 300 });
    await shared.state.ping();
    p.stall();
    const started = Date.now();
    await expect(shared.state.hit('stalled', 1000)).rejects.toBeInstanceOf(StateUnavailableError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1000);
    p.restore();
    await eventually(async () => {
      try {
        await shared.state.ping();
        return true;
      } catch {
        return false;
      }
    });
  });

  it('never puts the cached token into an error', async () => {
    const p = await proxy();
    const shared = await open({ url: p.address(url), commandTimeoutMs: 200 });
    const cache = shared.tokenCache;
    if (cache === undefined) throw new Error('no token cache');
    const token = `91_${'S'.repeat(60)}`;
    p.stall();
    const failure = await cache.set('k', { token, expiresAt: Date.now() + 60_000 }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StateUnavailableError);
    const error = failure as StateUnavailableError;
    const everything = JSON.stringify({ message: error.message, cause: error.cause, own: { ...error } });
    expect(everything).not.toContain(token);
    expect(error.cause).not.toHaveProperty('command');
  });

  it('withLock proceeds without the lock after lockWaitMs when a holder died with it', async () => {
    const keyPrefix = prefix();
    const shared = await open({ keyPrefix, lockWaitMs: 200, lockTtlMs: 60_000 });
    const raw = new Redis(url);
    try {
      await raw.set(`${keyPrefix}token:{k}:lock`, 'someone-dead', 'PX', 60_000);
      const started = Date.now();
      expect(await shared.tokenCache?.withLock?.('k', async () => 'ran')).toBe('ran');
      expect(Date.now() - started).toBeGreaterThanOrEqual(180);
      // A lock it never held is not released by it.
      expect(await raw.get(`${keyPrefix}token:{k}:lock`)).toBe('someone-dead');
    } finally {
      raw.disconnect();
    }
  });

  it('the rate limiter client counts in Redis and turns failures into StateUnavailableError', async () => {
    const p = await proxy();
    const shared = await open({ url: p.address(url) });
    const client = shared.rateLimitRedis as {
      defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
      [name: string]: unknown;
    };
    client.defineCommand('testIncr', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" });
    const call = (): Promise<unknown> =>
      new Promise((resolve, reject) => {
        (client.testIncr as (key: string, cb: (error: Error | null, result?: unknown) => void) => void)(
          'rl',
          (error, result) => (error ? reject(error) : resolve(result)),
        );
      });
    expect(await call()).toBe(1);
    expect(await call()).toBe(2);
    p.cut();
    await expect(call()).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('close() ends the connections; later calls fail with StateUnavailableError', async () => {
    const shared = await createRedisState({ url, keyPrefix: prefix() });
    await shared.close();
    await expect(shared.state.claimCode('x', 1000)).rejects.toBeInstanceOf(StateUnavailableError);
    await shared.close();
  });
});
