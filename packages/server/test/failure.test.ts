/**
 * What an instance does when Redis or PostgreSQL goes away and comes back,
 * through a TCP proxy in front of each that the test cuts and restores:
 * readiness turns 503 at once, requests answer 503 `service_unavailable` in the
 * envelope without hanging, nothing is half-written, and the instance heals by
 * itself, revocations it missed included.
 */
import type { ErrorBody, TokenResponse } from '@wxlogin/protocol';
import { type Simulator, startSimulator } from '@wxlogin/simulator';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scaleServices } from './backends.js';
import { createClock, type HttpResult, type Stack, startStack } from './harness.js';
import {
  type Deployment,
  destroyDeployment,
  hostPort,
  newDeployment,
  openInstance,
  queryDeployment,
  startTcpProxy,
  type TcpProxy,
} from './scale-backend.js';

const services = scaleServices();
if (services === null) {
  console.warn('!! failure tests SKIPPED: PostgreSQL and Redis are not both reachable (required in CI)');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; answers how long it took (ms), or throws after `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`not within ${ms} ms`);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = Date.now();
  const result = await fn();
  return { ms: Date.now() - started, result };
}

const sidOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString()) as { sid: string }).sid;

function expectUnavailable(result: HttpResult): void {
  expect(result.status, result.text).toBe(503);
  const body = result.body as ErrorBody;
  expect(body.error.code).toBe('service_unavailable');
  expect(body.requestId).toBe(result.headers.get('x-request-id'));
  expect(result.headers.get('retry-after')).not.toBeNull();
}

describe.skipIf(services === null)('when PostgreSQL or Redis goes away', () => {
  let sim: Simulator;
  let deployment: Deployment;
  let redisProxy: TcpProxy;
  let postgresProxy: TcpProxy;
  /** The instance behind the proxies. */
  let x: Stack;
  /** Another instance, connected directly. */
  let y: Stack;
  const clock = createClock();
  const timings: string[] = [];

  beforeAll(async () => {
    const { postgresUrl, redisUrl } = services as NonNullable<typeof services>;
    sim = await startSimulator({ now: clock.now });
    deployment = newDeployment(postgresUrl, redisUrl);
    redisProxy = await startTcpProxy(hostPort(redisUrl, 6379));
    postgresProxy = await startTcpProxy(hostPort(postgresUrl, 5432));
    // Limits on, so the per-address limiter (counted in Redis) is on the path of a login.
    const overrides = { rateLimitLoginPerMinute: 1000, rateLimitRefreshPerMinute: 1000, rateLimitUserPerMinute: 1000 };
    x = await startStack({
      simulator: sim,
      clock,
      overrides,
      backend: {
        name: 'behind proxies',
        async prepare() {
          const instance = await openInstance(deployment, {
            postgresUrl: postgresProxy.address(postgresUrl),
            redisUrl: redisProxy.address(redisUrl),
          });
          return { overrides: { databaseUrl: postgresUrl, redisUrl }, deps: instance.deps, cleanup: instance.close };
        },
      },
    });
    y = await startStack({
      simulator: sim,
      clock,
      overrides,
      backend: {
        name: 'direct',
        async prepare() {
          const instance = await openInstance(deployment);
          return { overrides: { databaseUrl: postgresUrl, redisUrl }, deps: instance.deps, cleanup: instance.close };
        },
      },
    });
  });
  afterAll(async () => {
    await x?.close();
    await y?.close();
    await redisProxy?.close();
    await postgresProxy?.close();
    await sim?.close();
    if (deployment) await destroyDeployment(deployment);
    if (timings.length > 0) console.info(`failure timings:\n  ${timings.join('\n  ')}`);
  });
  beforeEach(async () => {
    expect((await x.request('GET', '/readyz')).status).toBe(200);
  });
  afterEach(async () => {
    redisProxy.restore();
    postgresProxy.restore();
    await within(10_000, async () => (await x.request('GET', '/readyz')).status === 200);
  });

  const count = async (): Promise<{ users: number; sessions: number; tokens: number }> => {
    const [row] = await queryDeployment<{ users: number; sessions: number; tokens: number }>(
      deployment,
      (q) => `SELECT (SELECT count(*)::int FROM ${q}.users) AS users,
                     (SELECT count(*)::int FROM ${q}.sessions) AS sessions,
                     (SELECT count(*)::int FROM ${q}.refresh_tokens) AS tokens`,
    );
    return row as { users: number; sessions: number; tokens: number };
  };

  it('Redis cut: 503 at once, nothing written, and it heals by itself', async () => {
    const before = await count();
    redisProxy.cut();
    const ready = await timed(() => x.request('GET', '/readyz'));
    expectUnavailable(ready.result);
    expect(ready.ms).toBeLessThan(500);

    const { code } = sim.mintLoginCode({ user: 'during-redis-cut' });
    sim.resetCalls();
    const login = await timed(() => x.request('POST', '/v1/auth/login', { body: { code } }));
    expectUnavailable(login.result);
    expect(login.ms).toBeLessThan(2000);
    expect(sim.calls('jscode2session')).toBe(0);
    expect(await count()).toEqual(before);
    timings.push(`Redis cut: readyz 503 in ${ready.ms} ms, login 503 in ${login.ms} ms`);

    redisProxy.restore();
    const healed = await within(5000, async () => (await x.request('GET', '/readyz')).status === 200);
    timings.push(`Redis restored: readyz 200 after ${healed} ms`);
    // The code never reached WeChat, so it still works.
    const after = await x.request<TokenResponse>('POST', '/v1/auth/login', { body: { code } });
    expect(after.status, after.text).toBe(200);
  });

  it('Redis stalled: requests fail after the command timeout instead of hanging', async () => {
    redisProxy.stall();
    const ready = await timed(() => x.request('GET', '/readyz'));
    expectUnavailable(ready.result);
    expect(ready.ms).toBeLessThan(2500);
    const { code } = sim.mintLoginCode({ user: 'during-redis-stall' });
    const login = await timed(() => x.request('POST', '/v1/auth/login', { body: { code } }));
    expectUnavailable(login.result);
    expect(login.ms).toBeLessThan(2500);
    timings.push(`Redis stalled: readyz 503 in ${ready.ms} ms, login 503 in ${login.ms} ms`);
  });

  it('PostgreSQL cut: 503 at once, nothing half-written, and it heals by itself', async () => {
    const before = await count();
    postgresProxy.cut();
    const ready = await timed(() => x.request('GET', '/readyz'));
    expectUnavailable(ready.result);
    expect(ready.ms).toBeLessThan(2500);

    const { code } = sim.mintLoginCode({ user: 'during-postgres-cut' });
    const login = await timed(() => x.request('POST', '/v1/auth/login', { body: { code } }));
    expectUnavailable(login.result);
    expect(login.ms).toBeLessThan(2500);
    const session = await y.login('bystander');
    const me = await x.request('GET', '/v1/me', { token: session.accessToken });
    expectUnavailable(me);
    timings.push(`PostgreSQL cut: readyz 503 in ${ready.ms} ms, login 503 in ${login.ms} ms`);

    postgresProxy.restore();
    const healed = await within(5000, async () => (await x.request('GET', '/readyz')).status === 200);
    timings.push(`PostgreSQL restored: readyz 200 after ${healed} ms`);
    // Only the bystander's login (on the other instance) was written.
    const after = await count();
    expect(after.sessions).toBe(before.sessions + 1);
    expect(after.tokens).toBe(before.tokens + 1);
    expect((await x.request('GET', '/v1/me', { token: session.accessToken })).status).toBe(200);
    await x.login('after-postgres-cut');
  });

  it('PostgreSQL stalled: readiness answers 503 within its 2 s cap, requests within the statement timeout', async () => {
    postgresProxy.stall();
    const [ready, login] = await Promise.all([
      timed(() => x.request('GET', '/readyz')),
      timed(() => x.request('POST', '/v1/auth/login', { body: { code: sim.mintLoginCode({ user: 'stall' }).code } })),
    ]);
    expectUnavailable(ready.result);
    expect(ready.ms).toBeLessThan(2500);
    expectUnavailable(login.result);
    expect(login.ms).toBeLessThan(8000);
    timings.push(`PostgreSQL stalled: readyz 503 in ${ready.ms} ms, login 503 in ${login.ms} ms`);
  }, 15_000);

  it('a logout on an instance cut from Redis reaches the others when it is back', async () => {
    const session = await y.login('carol');
    expect((await y.request('GET', '/v1/me', { token: session.accessToken })).status).toBe(200);
    redisProxy.cut();
    // The store is reachable: the logout is recorded; only the signal has to wait.
    expect((await x.request('POST', '/v1/auth/logout', { token: session.accessToken })).status).toBe(204);
    expect((await x.request('GET', '/v1/me', { token: session.accessToken })).status).toBe(401);
    await sleep(200);
    expect(y.runtime.revocations.has(sidOf(session.accessToken))).toBe(false);
    redisProxy.restore();
    const reached = await within(
      5000,
      async () => (await y.request('GET', '/v1/me', { token: session.accessToken })).status === 401,
    );
    timings.push(`logout made during a Redis outage reached another instance ${reached} ms after Redis returned`);
  });

  it('a logout missed during an outage is picked up at resync', async () => {
    const session = await x.login('dave');
    expect((await x.request('GET', '/v1/me', { token: session.accessToken })).status).toBe(200);
    redisProxy.cut();
    expect((await y.request('POST', '/v1/auth/logout', { token: session.accessToken })).status).toBe(204);
    await sleep(200);
    expect(x.runtime.revocations.has(sidOf(session.accessToken))).toBe(false);
    redisProxy.restore();
    const reached = await within(
      5000,
      async () => (await x.request('GET', '/v1/me', { token: session.accessToken })).status === 401,
    );
    timings.push(`logout missed during a Redis outage refused ${reached} ms after Redis returned (resync)`);
  });
});
