/**
 * Several instances of the service on one PostgreSQL schema and one Redis
 * prefix, each with its own connections, as behind a load balancer: a logout
 * reaches every instance, a login code is exchanged once across instances, one
 * WeChat access token serves them all, and an instance killed mid-load leaves
 * nothing half-written.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Profile, TokenResponse } from '@wxlogin/protocol';
import { DEV_APP, type Simulator, startSimulator } from '@wxlogin/simulator';
import { build, type Plugin } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scaleServices } from './backends.js';
import { type Backend, createClock, type Stack, startStack, TEST_SECRET } from './harness.js';
import {
  type ChildInstanceParams,
  type Deployment,
  destroyDeployment,
  newDeployment,
  openInstance,
  queryDeployment,
} from './scale-backend.js';

const services = scaleServices();
if (services === null) {
  console.warn('!! multi-instance tests SKIPPED: PostgreSQL and Redis are not both reachable (required in CI)');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A backend whose every stack is one more instance of `deployment` (its own pool and Redis connections). */
function instanceOf(deployment: Deployment): Backend {
  return {
    name: 'instance',
    async prepare() {
      const instance = await openInstance(deployment);
      return {
        overrides: { databaseUrl: deployment.postgresUrl, redisUrl: deployment.redisUrl },
        deps: instance.deps,
        cleanup: () => instance.close(),
      };
    },
  };
}

/** Polls until `check` holds; answers how long it took (ms), or throws after `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await sleep(5);
  }
  throw new Error(`not within ${ms} ms`);
}

const sidOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] as string, 'base64url').toString()) as { sid: string }).sid;

describe.skipIf(services === null)('several instances on one PostgreSQL + Redis', () => {
  let sim: Simulator;
  let deployment: Deployment;
  let stacks: Stack[] = [];
  const clock = createClock();

  beforeAll(async () => {
    const { postgresUrl, redisUrl } = services as NonNullable<typeof services>;
    sim = await startSimulator({ now: clock.now });
    deployment = newDeployment(postgresUrl, redisUrl);
    for (let i = 0; i < 3; i++) {
      stacks.push(await startStack({ simulator: sim, clock, backend: instanceOf(deployment) }));
    }
  });
  afterAll(async () => {
    for (const stack of stacks) await stack.close();
    stacks = [];
    await sim?.close();
    if (deployment) await destroyDeployment(deployment);
  });
  afterEach(() => {
    sim.clearFaults();
  });

  const instance = (i: number): Stack => stacks[i] as Stack;

  it('login on A, refresh on B, logout on C: the tokens are refused on A and B within a second', async () => {
    const [a, b, c] = [instance(0), instance(1), instance(2)];
    const login = await a.login('alice');
    const refreshed = await b.request<TokenResponse>('POST', '/v1/auth/refresh', {
      body: { refreshToken: login.refreshToken },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    const { accessToken } = refreshed.body;
    for (const stack of [a, b, c])
      expect((await stack.request('GET', '/v1/me', { token: accessToken })).status).toBe(200);

    const started = Date.now();
    expect((await c.request('POST', '/v1/auth/logout', { token: accessToken })).status).toBe(204);
    const refusedIn = await Promise.all(
      [a, b].map((stack) =>
        within(1000, async () => (await stack.request('GET', '/v1/me', { token: accessToken })).status === 401),
      ),
    );
    const total = Date.now() - started;
    console.info(`logout reached the other instances in ${refusedIn.join(' / ')} ms (${total} ms after the request)`);
    expect(Math.max(...refusedIn)).toBeLessThan(1000);
    for (const stack of [a, b]) {
      expect((await stack.request('GET', '/v1/me', { token: login.accessToken })).status).toBe(401);
      const spent = await stack.request('POST', '/v1/auth/refresh', {
        body: { refreshToken: refreshed.body.refreshToken },
      });
      expect(spent.status).toBe(401);
    }
  });

  it('a profile change on A reaches the cached profile on B and C within a second', async () => {
    const [a, b, c] = [instance(0), instance(1), instance(2)];
    const login = await a.login('carol');
    const token = { token: login.accessToken };
    // B and C now hold the user in their caches
    for (const stack of [b, c]) {
      const me = await stack.request<Profile>('GET', '/v1/me', token);
      expect(me.body.nickname).toBeNull();
    }
    const updated = await a.request<Profile>('PATCH', '/v1/me', { ...token, body: { nickname: 'Carol' } });
    expect(updated.status, updated.text).toBe(200);
    const seenIn = await Promise.all(
      [b, c].map((stack) =>
        within(1000, async () => (await stack.request<Profile>('GET', '/v1/me', token)).body.nickname === 'Carol'),
      ),
    );
    console.info(`a profile change reached the other instances in ${seenIn.join(' / ')} ms`);
    expect(Math.max(...seenIn)).toBeLessThan(1000);
  });

  it('the same code sent to A and B at once: one code2Session call, both logged in as the same user', async () => {
    const { code } = sim.mintLoginCode({ user: 'bob' });
    sim.resetCalls();
    sim.inject({ endpoint: 'jscode2session', delayMs: 200 });
    const results = await Promise.all(
      [instance(0), instance(1), instance(0), instance(1)].map((stack) =>
        stack.request<TokenResponse>('POST', '/v1/auth/login', { body: { code } }),
      ),
    );
    expect(sim.calls('jscode2session')).toBe(1);
    for (const result of results) expect(result.status, result.text).toBe(200);
    expect(new Set(results.map((r) => r.body.user.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(4);
    // redeemed everywhere
    const again = await instance(2).request<{ error: { code: string } }>('POST', '/v1/auth/login', { body: { code } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('code_used');
    expect(sim.calls('jscode2session')).toBe(1);
  });

  it('one WeChat access token for every instance: 200 phone requests after expiry refresh it exactly once', async () => {
    const users = ['p0', 'p1', 'p2'];
    const logins = await Promise.all(users.map((user, i) => instance(i).login(user)));
    const phone = (i: number): Promise<{ status: number; text: string }> =>
      instance(i % 3).request('POST', '/v1/me/phone', {
        token: (logins[i % 3] as TokenResponse).accessToken,
        body: { code: sim.phoneCode({ user: users[i % 3] as string, phoneNumber: '13900139000' }).code },
      });
    // warm up: the first instance fetches, the others find the token in the shared cache
    const beforeWarm = sim.calls('stable_token');
    for (let i = 0; i < 3; i++) expect((await phone(i)).status).toBe(200);
    expect(sim.calls('stable_token') - beforeWarm).toBe(1);

    sim.expireAccessTokens(DEV_APP.appId);
    const before = sim.calls('stable_token');
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => phone(i)));
    const failed = results.filter((r) => r.status !== 200);
    expect(failed.map((r) => r.text).slice(0, 3)).toEqual([]);
    expect(sim.calls('stable_token') - before).toBe(1);
  });

  it('shares the per-address rate limit across instances', async () => {
    const { postgresUrl, redisUrl } = services as NonNullable<typeof services>;
    const limited = newDeployment(postgresUrl, redisUrl);
    const pair: Stack[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        pair.push(
          await startStack({
            simulator: sim,
            clock,
            backend: instanceOf(limited),
            overrides: { rateLimitLoginPerMinute: 3 },
          }),
        );
      }
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const stack = pair[i % 2] as Stack;
        const result = await stack.request('POST', '/v1/auth/login', {
          body: { code: sim.mintLoginCode({ user: `rl${i}` }).code },
        });
        statuses.push(result.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      for (const stack of pair) await stack.close();
      await destroyDeployment(limited);
    }
  });

  describe('an instance killed mid-load', () => {
    let cacheDir: string;
    let child: ChildProcess | null = null;

    beforeAll(async () => {
      // The instance is bundled from source beside node_modules (so its imports resolve).
      const nodeModules = fileURLToPath(new URL('../../../node_modules/', import.meta.url));
      mkdirSync(join(nodeModules, '.cache'), { recursive: true });
      cacheDir = mkdtempSync(join(nodeModules, '.cache', 'wxlogin-instance-'));
      const sources: Plugin = {
        name: 'wxlogin-sources',
        setup(builder) {
          builder.onResolve({ filter: /^@wxlogin\/[a-z]+$/ }, (args) => ({
            path: fileURLToPath(new URL(`../../${args.path.slice('@wxlogin/'.length)}/src/index.ts`, import.meta.url)),
          }));
          builder.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
        },
      };
      await build({
        stdin: {
          contents: `import { runChildInstance } from './scale-backend.ts';
runChildInstance(JSON.parse(process.argv[2])).catch((error) => { console.error(error); process.exit(1); });`,
          resolveDir: fileURLToPath(new URL('.', import.meta.url)),
          sourcefile: 'instance-entry.ts',
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: join(cacheDir, 'instance.mjs'),
        plugins: [sources],
        logLevel: 'silent',
      });
    });
    afterAll(() => {
      child?.kill('SIGKILL');
      if (cacheDir !== undefined) rmSync(cacheDir, { recursive: true, force: true });
    });

    async function startChild(): Promise<string> {
      const params: ChildInstanceParams = {
        deployment,
        wechatApiBaseUrl: sim.url,
        app: { appId: DEV_APP.appId, secret: DEV_APP.secret },
        secret: TEST_SECRET,
      };
      const started = spawn(process.execPath, [join(cacheDir, 'instance.mjs'), JSON.stringify(params)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      let stderr = '';
      started.stderr?.on('data', (chunk) => {
        stderr += String(chunk);
      });
      const lines = createInterface({ input: started.stdout as NonNullable<typeof started.stdout> });
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not start: ${stderr}`)), 15_000);
        started.once('exit', (code) => reject(new Error(`child exited (${code}): ${stderr}`)));
        lines.once('line', (line) => {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        });
      });
    }

    it('leaves every answered session intact and the database consistent', async () => {
      const url = await startChild();
      const post = async (path: string, body: unknown): Promise<{ status: number; body: TokenResponse }> => {
        const response = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as TokenResponse };
      };
      interface Known {
        sessionId: string;
        /** The newest refresh token the client was given. */
        latest: string;
        /** A refresh was sent and never answered (the instance died). */
        lost: boolean;
      }
      const sessions: Known[] = [];
      let refreshes = 0;
      let killed = false;
      /** A request to the instance that will die: null when it died before answering. */
      const attempt = async (path: string, body: unknown): Promise<{ status: number; body: TokenResponse } | null> => {
        try {
          return await post(path, body);
        } catch {
          return null;
        }
      };
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; !killed; i++) {
          const login = await attempt('/v1/auth/login', { code: sim.mintLoginCode({ user: `crash-${w}-${i}` }).code });
          if (login === null) return; // died during this login: its outcome is unknown to the client
          expect(login.status).toBe(200);
          const known: Known = {
            sessionId: sidOf(login.body.accessToken),
            latest: login.body.refreshToken,
            lost: false,
          };
          sessions.push(known);
          for (let r = 0; r < 3 && !killed; r++) {
            known.lost = true;
            const refreshed = await attempt('/v1/auth/refresh', { refreshToken: known.latest });
            if (refreshed === null) return;
            expect(refreshed.status).toBe(200);
            known.latest = refreshed.body.refreshToken;
            known.lost = false;
            refreshes += 1;
          }
        }
      };
      const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
      await within(15_000, async () => sessions.length >= 30 && refreshes >= 30);
      const dying = child as ChildProcess;
      const exited = new Promise((resolve) => dying.once('exit', resolve));
      dying.kill('SIGKILL');
      killed = true;
      await Promise.all([load, exited]);
      child = null;
      expect(sessions.length).toBeGreaterThanOrEqual(30);

      // The database is consistent as a whole.
      const problems = await queryDeployment<{ problem: string; n: number }>(
        deployment,
        (q) => `
        SELECT 'session without exactly one unspent refresh token' AS problem, count(*)::int AS n FROM (
          SELECT s.id FROM ${q}.sessions s LEFT JOIN ${q}.refresh_tokens t ON t.session_id = s.id AND t.spent_at IS NULL
          GROUP BY s.id HAVING count(t.id) <> 1) x
        UNION ALL
        SELECT 'session whose expiry is not its unspent token''s', count(*)::int FROM ${q}.sessions s
          JOIN ${q}.refresh_tokens t ON t.session_id = s.id AND t.spent_at IS NULL WHERE s.expires_at <> t.expires_at
        UNION ALL
        SELECT 'refresh token without session', count(*)::int FROM ${q}.refresh_tokens t
          LEFT JOIN ${q}.sessions s ON s.id = t.session_id WHERE s.id IS NULL
        UNION ALL
        SELECT 'session without a stored session key', count(*)::int FROM ${q}.sessions s
          LEFT JOIN ${q}.session_keys k ON k.user_id = s.user_id WHERE k.user_id IS NULL
        UNION ALL
        SELECT 'session of a missing user', count(*)::int FROM ${q}.sessions s
          LEFT JOIN ${q}.users u ON u.id = s.user_id WHERE u.id IS NULL
        UNION ALL
        SELECT 'not exactly one active signing key', CASE WHEN count(*) = 1 THEN 0 ELSE 1 END
          FROM ${q}.signing_keys WHERE retired_at IS NULL`,
      );
      expect(problems.filter((p) => p.n !== 0)).toEqual([]);

      // Every session whose login was answered: its newest refresh token works exactly once on a survivor.
      const unspent = new Map(
        (
          await queryDeployment<{ session_id: string; id: string }>(
            deployment,
            (q) => `SELECT session_id, id FROM ${q}.refresh_tokens WHERE spent_at IS NULL`,
          )
        ).map((row) => [row.session_id, row.id]),
      );
      let checked = 0;
      for (const [index, known] of sessions.entries()) {
        expect(unspent.has(known.sessionId), `session ${index} is stored`).toBe(true);
        const stillLatest = unspent.get(known.sessionId) === known.latest.split('.')[0];
        // Only a refresh that was sent and never answered may have moved the session on.
        if (!known.lost) expect(stillLatest, `session ${index} ends at its newest token`).toBe(true);
        if (!stillLatest) continue;
        const first = await instance(index % 2).request('POST', '/v1/auth/refresh', {
          body: { refreshToken: known.latest },
        });
        expect(first.status, first.text).toBe(200);
        const second = await instance((index + 1) % 2).request('POST', '/v1/auth/refresh', {
          body: { refreshToken: known.latest },
        });
        expect(second.status).toBe(401);
        checked += 1;
      }
      expect(checked).toBeGreaterThanOrEqual(sessions.length - 12);
      const lost = sessions.filter((known) => known.lost).length;
      console.info(
        `killed mid-load: ${sessions.length} answered logins, ${refreshes} answered refreshes, ${lost} refreshes unanswered; ${checked} sessions verified on the survivors`,
      );
      // and the survivors still serve logins
      await instance(0).login('after-crash');
    }, 60_000);
  });
});
