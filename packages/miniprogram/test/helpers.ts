/**
 * The SDK's integration stage: the real wxlogin service over HTTP, the WeChat
 * simulator behind it, and the simulator's fake `wx` in front.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuthOptions, createAuth } from '@wxlogin/miniprogram';
import { buildApp, resolveConfig } from '@wxlogin/server';
import {
  createFakeWx,
  DEV_APP,
  type FakeWx,
  type FakeWxOptions,
  type Simulator,
  startSimulator,
} from '@wxlogin/simulator';

export const ADMIN_TOKEN = 'admin-token-for-the-sdk-tests';

export interface Service {
  url: string;
  sim: Simulator;
  close(): Promise<void>;
}

/** Starts the simulator and the service (SQLite in a temp folder) on 127.0.0.1, port 0. */
export async function startService(
  options: { overrides?: Record<string, unknown>; now?: () => number } = {},
): Promise<Service> {
  const sim = await startSimulator();
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-sdk-'));
  const config = resolveConfig({
    env: {},
    overrides: {
      apps: [{ appId: DEV_APP.appId, secret: DEV_APP.secret }],
      secret: randomBytes(32).toString('base64'),
      wechatApiBaseUrl: sim.url,
      databaseUrl: `sqlite:${join(dir, 'db')}`,
      logLevel: 'silent',
      adminToken: ADMIN_TOKEN,
      rateLimitLoginPerMinute: 0,
      rateLimitRefreshPerMinute: 0,
      rateLimitUserPerMinute: 0,
      ...options.overrides,
    },
  });
  const app = await buildApp(config, options.now === undefined ? {} : { now: options.now });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    sim,
    async close() {
      await app.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fake `wx`, plus a log of the requests the SDK sent through it ("METHOD /path"). */
export interface RecordedWx {
  wx: FakeWx;
  sent: string[];
  /** how many requests went to `path` (any method) */
  count(path: string): number;
}

export function recordedWx(options: FakeWxOptions): RecordedWx {
  const fake = createFakeWx(options);
  const sent: string[] = [];
  const wx: FakeWx = {
    ...fake,
    request: ((option: Parameters<FakeWx['request']>[0]) => {
      const path = option.url.replace(/^https?:\/\/[^/]+/, '');
      sent.push(`${option.method ?? 'GET'} ${path}`);
      return fake.request(option);
    }) as FakeWx['request'],
  };
  return { wx, sent, count: (path) => sent.filter((line) => line.endsWith(` ${path}`)).length };
}

let users = 0;

/** A fresh device for a fresh user (unique user handle), and a client on it. */
export function device(
  service: Service,
  options: Partial<AuthOptions> & { user?: string; storage?: Map<string, unknown> } = {},
): RecordedWx & { auth: ReturnType<typeof createAuth>; user: string; openid: string } {
  users += 1;
  const user = options.user ?? `user-${users}-${randomBytes(4).toString('hex')}`;
  const recorded = recordedWx({
    simulator: service.sim,
    user,
    ...(options.storage === undefined ? {} : { storage: options.storage }),
    profile: { nickName: `nick of ${user}` },
  });
  const { user: _user, storage: _storage, ...authOptions } = options;
  const auth = createAuth({
    baseUrl: service.url,
    wx: recorded.wx,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...authOptions,
  });
  return { ...recorded, auth, user, openid: service.sim.openidOf(DEV_APP.appId, user) };
}

/** Calls the service directly (another client, an operator). */
export async function http(
  service: Service,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}
