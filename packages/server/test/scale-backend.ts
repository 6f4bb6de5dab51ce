/**
 * The scale-out backend of the integration tests, PostgreSQL + Redis, and the
 * tools the multi-instance and failure tests share: a deployment (one fresh
 * schema, one fresh key prefix) that several instances open with their own
 * connections, a TCP proxy that can cut a connection and restore it, and the
 * entry of an instance run as a child process.
 *
 * Nothing here imports Vitest: the child-process instance is bundled from this file.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { resolveConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import type { RuntimeDeps } from '../src/runtime.js';
import { createRedisState, type RedisStateOptions } from '../src/state/redis.js';
import { createPostgresStore } from '../src/store/postgres.js';
import type { Backend } from './harness.js';

/** Where one test deployment lives: its own PostgreSQL schema and Redis key prefix. */
export interface Deployment {
  postgresUrl: string;
  redisUrl: string;
  schema: string;
  keyPrefix: string;
}

export function newDeployment(postgresUrl: string, redisUrl: string): Deployment {
  const id = randomBytes(6).toString('hex');
  return { postgresUrl, redisUrl, schema: `wxlogin_test_${id}`, keyPrefix: `wxlogin-test:${id}:` };
}

export interface InstanceConnections {
  /** What `buildApp` takes: the store, the shared state, the rate limiter's client and the token cache. */
  deps: RuntimeDeps;
  close(): Promise<void>;
}

/**
 * One instance's own connections onto a deployment: a PostgreSQL pool on its
 * schema and Redis connections under its prefix. `via` reaches the servers
 * through other addresses (a proxy).
 */
export async function openInstance(
  deployment: Deployment,
  via: { postgresUrl?: string; redisUrl?: string; redis?: Partial<RedisStateOptions> } = {},
): Promise<InstanceConnections> {
  const store = createPostgresStore({
    connectionString: via.postgresUrl ?? deployment.postgresUrl,
    schema: deployment.schema,
    poolSize: 5,
  });
  const shared = await createRedisState({
    ...via.redis,
    url: via.redisUrl ?? deployment.redisUrl,
    keyPrefix: deployment.keyPrefix,
  });
  return {
    deps: {
      store,
      state: shared.state,
      rateLimitRedis: shared.rateLimitRedis,
      ...(shared.tokenCache ? { tokenCache: shared.tokenCache } : {}),
    },
    async close() {
      await shared.close();
      await store.close();
    },
  };
}

/** Removes what a deployment stored: its schema and every key under its prefix. */
export async function destroyDeployment(deployment: Deployment): Promise<void> {
  const client = new pg.Client({ connectionString: deployment.postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${deployment.schema}" CASCADE`);
  } finally {
    await client.end();
  }
  await deleteKeys(deployment.redisUrl, deployment.keyPrefix);
}

export async function deleteKeys(redisUrl: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Opens a plain client on a deployment's database (for integrity queries). */
export async function queryDeployment<Row extends pg.QueryResultRow>(
  deployment: Deployment,
  sql: (schema: string) => string,
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: deployment.postgresUrl });
  await client.connect();
  try {
    return (await client.query<Row>(sql(`"${deployment.schema}"`))).rows;
  } finally {
    await client.end();
  }
}

/** The "postgres+redis" backend of the contract suite: a fresh deployment for every stack. */
export function createScaleBackend(postgresUrl: string, redisUrl: string): Backend {
  return {
    name: 'postgres+redis',
    async prepare() {
      const deployment = newDeployment(postgresUrl, redisUrl);
      const instance = await openInstance(deployment);
      return {
        overrides: { databaseUrl: postgresUrl, redisUrl },
        deps: instance.deps,
        async cleanup() {
          await instance.close();
          await destroyDeployment(deployment);
        },
      };
    },
  };
}

// ── a TCP proxy that can cut or stall a connection ────────────────────────

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  address(url: string): string;
  /** Closes every connection and refuses new ones (the server is down). */
  cut(): void;
  /** Keeps connections open but forwards nothing (the network stalls). */
  stall(): void;
  /** Forwards again; connections that stalled are closed, so clients reconnect cleanly. */
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | null;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'stall' = 'open';
  const pairs = new Set<Pair>();
  const drop = (pair: Pair): void => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };
  const server = createServer((client) => {
    client.on('error', () => {});
    if (mode === 'cut') {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: null };
    pairs.add(pair);
    client.on('close', () => drop(pair));
    if (mode === 'stall') return;
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => drop(pair));
    upstream.on('close', () => drop(pair));
    client.on('data', (chunk) => {
      if (mode === 'open') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'open') client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not bind');
  const port = address.port;
  return {
    port,
    address(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut() {
      mode = 'cut';
      for (const pair of [...pairs]) drop(pair);
    },
    stall() {
      mode = 'stall';
    },
    restore() {
      const wasStalled = mode === 'stall';
      mode = 'open';
      if (wasStalled) for (const pair of [...pairs]) drop(pair);
    },
    async close() {
      mode = 'cut';
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** host and port of a URL, with the scheme's default port. */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
}

// ── an instance in a child process ────────────────────────────────────────

export interface ChildInstanceParams {
  deployment: Deployment;
  wechatApiBaseUrl: string;
  app: { appId: string; secret: string };
  /** WXLOGIN_SECRET of the deployment (every instance shares it). */
  secret: string;
}

/**
 * The body of a child-process instance: builds the service on the deployment,
 * listens on port 0 and writes `{"url": …}` as one line on stdout.
 */
export async function runChildInstance(params: ChildInstanceParams): Promise<void> {
  const config = resolveConfig({
    env: {},
    overrides: {
      apps: [params.app],
      secret: params.secret,
      wechatApiBaseUrl: params.wechatApiBaseUrl,
      wechatTimeoutMs: 1500,
      logLevel: 'error',
      rateLimitLoginPerMinute: 0,
      rateLimitRefreshPerMinute: 0,
      rateLimitUserPerMinute: 0,
      databaseUrl: params.deployment.postgresUrl,
      redisUrl: params.deployment.redisUrl,
    },
  });
  const instance = await openInstance(params.deployment);
  const app = await buildApp(config, { ...instance.deps, logStream: process.stderr });
  app.addHook('onClose', () => instance.close());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}
