/**
 * Test harness: the real service over real HTTP against the WeChat simulator.
 * Every response body/header and every log line is captured; `close()` fails
 * the test when any secret seen on the wire from WeChat (session keys, access
 * tokens), the app secret, or a refresh token (outside the response that
 * issued it) shows up in them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TokenResponse } from '@wxlogin/protocol';
import { DEV_APP, type Simulator, startSimulator } from '@wxlogin/simulator';
import { expect } from 'vitest';
import { type Config, resolveConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import type { Runtime, RuntimeDeps } from '../src/runtime.js';

export interface Clock {
  now(): number;
  advance(seconds: number): void;
}

export function createClock(start = Date.now()): Clock {
  let offset = 0;
  return {
    now: () => start + offset + (Date.now() - start),
    advance(seconds) {
      offset += seconds * 1000;
    },
  };
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface Backend {
  name: string;
  /** Extra config overrides (e.g. DATABASE_URL) and deps for this backend. */
  prepare(): Promise<{ overrides: Record<string, unknown>; deps?: RuntimeDeps; cleanup(): Promise<void> }>;
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async prepare() {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-test-'));
    return {
      overrides: { databaseUrl: `sqlite:${join(dir, 'wxlogin.db')}` },
      async cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export interface Stack {
  url: string;
  sim: Simulator;
  runtime: Runtime;
  config: Config;
  clock: Clock;
  logs: string[];
  dataDir: string | null;
  /** Secrets seen coming from WeChat during the run. */
  secrets: { sessionKeys: Set<string>; accessTokens: Set<string>; refreshTokens: Set<string> };
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  /** Mints a code for `user` in the simulator and logs in; asserts 200. */
  login(user?: string, appId?: string): Promise<TokenResponse>;
  close(): Promise<void>;
}

export const TEST_SECRET = randomBytes(32).toString('base64');

export async function startStack(
  options: {
    overrides?: Record<string, unknown>;
    backend?: Backend;
    simulator?: Simulator;
    clock?: Clock;
    deps?: RuntimeDeps;
  } = {},
): Promise<Stack> {
  const clock = options.clock ?? createClock();
  const sim = options.simulator ?? (await startSimulator({ now: clock.now }));
  const backend = await (options.backend ?? sqliteBackend).prepare();
  const secrets = { sessionKeys: new Set<string>(), accessTokens: new Set<string>(), refreshTokens: new Set<string>() };
  const issuedRefresh = new Map<string, number>();
  const logs: string[] = [];
  const wire: Array<{ text: string; issued?: string[] }> = [];

  // record what WeChat (the simulator) sends, to know which secrets must never leak
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    for (const match of text.matchAll(/"(session_key|access_token)"\s*:\s*"([^"]+)"/g)) {
      (match[1] === 'session_key' ? secrets.sessionKeys : secrets.accessTokens).add(match[2] as string);
    }
    return response;
  };

  const config = resolveConfig({
    env: {},
    overrides: {
      apps: [{ appId: DEV_APP.appId, secret: DEV_APP.secret }],
      secret: TEST_SECRET,
      wechatApiBaseUrl: sim.url,
      wechatTimeoutMs: 1500,
      logLevel: 'debug',
      rateLimitLoginPerMinute: 0,
      rateLimitRefreshPerMinute: 0,
      rateLimitUserPerMinute: 0,
      ...backend.overrides,
      ...options.overrides,
    },
  });
  let runtime: Runtime | null = null;
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const app = await buildApp(config, {
    now: clock.now,
    fetch: recordingFetch,
    logStream,
    onRuntime: (r) => {
      runtime = r;
    },
    ...backend.deps,
    ...options.deps,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  if (runtime === null) throw new Error('runtime not created');

  const request = async <T>(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${address}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    const issued: string[] = [];
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as TokenResponse).refreshToken === 'string') {
      const token = (parsed as TokenResponse).refreshToken;
      secrets.refreshTokens.add(token);
      issuedRefresh.set(token, (issuedRefresh.get(token) ?? 0) + 1);
      issued.push(token);
    }
    wire.push({ text: `${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`, issued });
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  };

  const stack: Stack = {
    url: address,
    sim,
    runtime,
    config,
    clock,
    logs,
    dataDir: typeof backend.overrides.databaseUrl === 'string' ? String(backend.overrides.databaseUrl).slice(7) : null,
    secrets,
    request,
    async login(user = 'alice', appId) {
      const minted = sim.mintLoginCode({ user, ...(appId ? { appId } : {}) });
      const result = await request<TokenResponse>('POST', '/v1/auth/login', {
        body: { code: minted.code, ...(appId ? { appId } : {}) },
      });
      expect(result.status, result.text).toBe(200);
      return result.body;
    },
    async close() {
      await app.close();
      if (options.simulator === undefined) await sim.close();
      await backend.cleanup();
      assertNoLeaks(secrets, config, logs, wire);
    },
  };
  return stack;
}

/** The encodings a 16-byte session key could leak in. */
export function encodingsOf(base64Key: string): string[] {
  const bytes = Buffer.from(base64Key, 'base64');
  return [base64Key, bytes.toString('hex'), bytes.toString('base64url'), bytes.toString('latin1')].filter(
    (s) => s.length >= 8,
  );
}

export function assertNoLeaks(
  secrets: Stack['secrets'],
  config: Config,
  logs: readonly string[],
  wire: ReadonlyArray<{ text: string; issued?: string[] }>,
): void {
  const neverAnywhere = [
    ...[...secrets.sessionKeys].flatMap(encodingsOf),
    ...secrets.accessTokens,
    ...config.apps.map((a) => a.secret),
    config.secret,
  ];
  const logText = logs.join('\n');
  for (const secret of [...neverAnywhere, ...secrets.refreshTokens]) {
    expect(logText.includes(secret), 'a secret appeared in the logs').toBe(false);
  }
  for (const { text, issued = [] } of wire) {
    for (const secret of neverAnywhere) expect(text.includes(secret), 'a secret appeared in a response').toBe(false);
    for (const token of secrets.refreshTokens) {
      if (!issued.includes(token))
        expect(text.includes(token), 'a refresh token appeared outside its issuing response').toBe(false);
    }
  }
}
