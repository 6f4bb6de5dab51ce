/**
 * The processes under measurement, each a child of the benchmark so its memory
 * and CPU time can be read from /proc: the real service (`wxlogin serve` from
 * the built package), the WeChat simulator (its CLI), and the reference, a bare
 * `node:http` server answering a fixed small JSON.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in bench/src, or bench/dist once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The simulator's built-in development app (`DEV_APP` of @wxlogin/simulator; its secret is public). */
export const BENCH_APP = { appId: 'wx0123456789abcdef', secret: '5ec7e7de5ec7e7de5ec7e7de5ec7e7de' } as const;

const SERVICE_CLI = join(REPO_ROOT, 'packages/server/dist/cli.js');
const SIMULATOR_CLI = join(REPO_ROOT, 'packages/simulator/dist/cli.js');

/** Throws a clear message when the packages were not built (the benchmark runs the built service). */
export function assertBuilt(): void {
  for (const file of [SERVICE_CLI, SIMULATOR_CLI]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" at the repository root first`);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Base URL, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  /** The last lines the process wrote to stderr/stdout (for failure reports). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, name: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startChild(options: {
  name: string;
  /** The program to run; node by default. */
  command?: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  readyPath: string;
  cwd?: string;
}): Promise<Child> {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const handle: Child = {
    name: options.name,
    pid: child.pid ?? -1,
    url,
    output: () => tail,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitReady(url + options.readyPath, child, options.name, handle.output);
  } catch (error) {
    await handle.stop(1000);
    throw error;
  }
  return handle;
}

/** Only what a child needs from the parent's environment (no secrets of the shell leak into it). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export async function startSimulator(): Promise<Child> {
  const port = await freePort();
  return startChild({
    name: 'simulator',
    args: [SIMULATOR_CLI, '--port', String(port), '--host', '127.0.0.1'],
    env: baseEnv(),
    port,
    readyPath: '/__sim/calls',
  });
}

/** The bare reference: node:http answering a fixed small JSON, nothing else. */
const BARE_SERVER = `
const http = require('node:http');
const body = JSON.stringify({ id: 'u_0123456789abcdef', appId: 'wx0123456789abcdef', ok: true });
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startBare(): Promise<Child> {
  const port = await freePort();
  return startChild({
    name: 'bare node:http',
    args: ['-e', BARE_SERVER],
    env: { ...baseEnv(), PORT: String(port) },
    port,
    readyPath: '/',
  });
}

/**
 * The second reference of login at 100 ms: the least any service in front of
 * WeChat must do, on Node's own HTTP server and client. It reads the code from
 * the JSON body, exchanges it with the simulator's jscode2session over
 * keep-alive connections (what the service's WeChat client does), and answers
 * a fixed JSON of a login answer's size with the openid. No store, no tokens,
 * no framework.
 */
const PROXY_SERVER = `
const http = require('node:http');
const upstream = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512, scheduling: 'lifo' });
const query = 'appid=' + process.env.APP_ID + '&secret=' + process.env.APP_SECRET + '&grant_type=authorization_code';
const padding = 'x'.repeat(400);
const fail = (res, status) => { res.writeHead(status, { 'content-length': 0 }); res.end(); };
const readJson = (stream, done) => {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => { text += chunk; });
  stream.on('end', () => { let value; try { value = JSON.parse(text); } catch {} done(value); });
};
const server = http.createServer((req, res) => {
  if (req.method !== 'POST') { req.resume(); res.end('{}'); return; }
  readJson(req, (body) => {
    const code = body?.code;
    if (typeof code !== 'string') return fail(res, 400);
    const path = '/sns/jscode2session?' + query + '&js_code=' + encodeURIComponent(code);
    http.get({ hostname: upstream.hostname, port: upstream.port, path, agent }, (answer) => readJson(answer, (wire) => {
      const openid = wire?.openid;
      if (typeof openid !== 'string') return fail(res, 502);
      const out = JSON.stringify({ accessToken: padding, openid });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    })).on('error', () => fail(res, 502));
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => { agent.destroy(); server.close(() => process.exit(0)); });
`;

export async function startProxy(simulatorUrl: string): Promise<Child> {
  const port = await freePort();
  return startChild({
    name: 'bare proxy',
    args: ['-e', PROXY_SERVER],
    env: {
      ...baseEnv(),
      PORT: String(port),
      UPSTREAM: simulatorUrl,
      APP_ID: BENCH_APP.appId,
      APP_SECRET: BENCH_APP.secret,
    },
    port,
    readyPath: '/',
  });
}

/** Names of the service's environment that hold secrets: the benchmark sets them itself. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|KEY|DATABASE_URL|REDIS_URL/i;

/**
 * `NAME=VALUE` pairs (`--service-env`) as an environment for the service.
 * Secret-looking names are refused: the report records the command line, so a
 * secret given here would be written into a committed result.
 */
export function parseServiceEnv(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (match === null) throw new TypeError(`--service-env wants NAME=VALUE, got ${pair}`);
    const name = match[1] as string;
    if (SECRET_NAME.test(name)) {
      throw new TypeError(`--service-env does not take ${name}: the report records the command line`);
    }
    env[name] = match[2] as string;
  }
  return env;
}

export interface ServiceOptions {
  simulatorUrl: string;
  /**
   * The service's CLI script (default: packages/server/dist/cli.js of this
   * checkout), e.g. a baseline build to compare. It is started through the
   * `wxlogin` command of the same package (`../bin/wxlogin.js`).
   */
  cli?: string;
  /**
   * Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'], passed in
   * WXLOGIN_NODE_FLAGS: heap flags among them replace the command's defaults.
   */
  nodeFlags?: string[];
  /** Extra or overriding environment of the service. */
  env?: Record<string, string>;
}

export interface Service extends Child {
  readonly dataDir: string;
}

/**
 * Starts `wxlogin serve` exactly as an operator would (the `wxlogin` command,
 * with the node flags it ships with), configured through the
 * environment: SQLite in a fresh temporary folder, LOG_LEVEL=warn (at info,
 * pino writes one line per request), rate limits off (RATE_LIMIT_* = 0; the
 * benchmark sends everything from one address).
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wxlogin-bench-'));
  const port = await freePort();
  try {
    const child = await startChild({
      name: 'wxlogin serve',
      command: join(dirname(options.cli ?? SERVICE_CLI), '..', 'bin', 'wxlogin.js'),
      args: ['serve'],
      env: {
        ...baseEnv(),
        ...(options.nodeFlags && options.nodeFlags.length > 0
          ? { WXLOGIN_NODE_FLAGS: options.nodeFlags.join(' ') }
          : {}),
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        WX_APPID: BENCH_APP.appId,
        WX_SECRET: BENCH_APP.secret,
        WECHAT_API_BASE_URL: options.simulatorUrl,
        DATABASE_URL: `sqlite:${join(dataDir, 'wxlogin.db')}`,
        WXLOGIN_SECRET: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'warn',
        RATE_LIMIT_LOGIN_PER_MINUTE: '0',
        RATE_LIMIT_REFRESH_PER_MINUTE: '0',
        RATE_LIMIT_USER_PER_MINUTE: '0',
        ...options.env,
      },
      port,
      readyPath: '/readyz',
    });
    return {
      ...child,
      dataDir,
      async stop(graceMs) {
        await child.stop(graceMs);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

// ── /proc sampling ──────────────────────────────────────────────────────

/** Resident memory of a process in bytes: current (VmRSS) and lifetime peak (VmHWM); null when unreadable. */
export function readMemory(pid: number): { rss: number; hwm: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used so far, in ms, all its threads
 * together; with `thread`, that thread's alone (a thread id of the process; a
 * process's main thread, where Node runs its event loop, has the process's id).
 * Null when unreadable.
 */
export function readCpuMs(pid: number, thread?: number): number | null {
  let text: string;
  try {
    text = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  } catch {
    return null;
  }
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Samples a process's VmRSS every `intervalMs` and keeps the peak of the current window. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private peak = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  /** Starts a new window. */
  start(): void {
    this.stop();
    this.peak = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Ends the window; returns its peak VmRSS in bytes. */
  stop(): number {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.sample();
    }
    return this.peak;
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory !== null && memory.rss > this.peak) this.peak = memory.rss;
  }
}
