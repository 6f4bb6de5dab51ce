/**
 * The `wxlogin` command as a user runs it: the committed launcher
 * (`bin/wxlogin.js`, which npm links) running the built CLI in a child process.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'packages/server/dist/cli.js');
const bin = join(root, 'packages/server/bin/wxlogin.js');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
const children: ChildProcess[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-cli-'));
  dirs.push(dir);
  return dir;
}

function start(
  args: string[],
  env: Record<string, string>,
  cwd = root,
): { child: ChildProcess; output: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(bin, args, {
    cwd,
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (d) => {
    text += String(d);
  });
  child.stderr?.on('data', (d) => {
    text += String(d);
  });
  const waitFor = (re: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${text}`)), 15_000);
      const check = (): void => {
        const match = text.match(re);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        } else if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`exited ${child.exitCode} before ${re}:\n${text}`));
        } else setTimeout(check, 25);
      };
      check();
    });
  return { child, output: () => text, waitFor };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}, 120_000);

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('wxlogin serve', () => {
  it('refuses to start without configuration: one clear line, non-zero exit', () => {
    const result = spawnSync(bin, ['serve'], { env: baseEnv, encoding: 'utf8' });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^wxlogin: invalid configuration: .*WX_APPID\/WX_SECRET.*WXLOGIN_SECRET/);
  });

  it('names a malformed WXLOGIN_SECRET without echoing it', () => {
    const result = spawnSync(bin, ['serve'], {
      env: { ...baseEnv, WX_APPID: DEV_APP.appId, WX_SECRET: DEV_APP.secret, WXLOGIN_SECRET: 'not-32-bytes' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('WXLOGIN_SECRET: must be base64 of 32 bytes');
    expect(result.stderr).not.toContain('not-32-bytes');
    expect(result.stderr).not.toContain(DEV_APP.secret);
  });

  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    const sim = await startSimulator();
    try {
      const dir = tempDir();
      const server = start(['serve'], {
        WX_APPID: DEV_APP.appId,
        WX_SECRET: DEV_APP.secret,
        WXLOGIN_SECRET: randomBytes(32).toString('base64'),
        WECHAT_API_BASE_URL: sim.url,
        DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        PORT: '0',
      });
      const [, url] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/);
      sim.inject({ endpoint: 'jscode2session', delayMs: 700 });
      const pending = fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: sim.mintLoginCode().code }),
      });
      await new Promise((r) => setTimeout(r, 200));
      server.child.kill('SIGTERM');
      const response = await pending;
      expect(response.status).toBe(200);
      expect(await exited(server.child)).toBe(0);
    } finally {
      await sim.close();
    }
  });
});

describe('the wxlogin command', () => {
  /** The node flags of the process that `wxlogin serve` became (the launcher execs node in its place). */
  async function nodeFlagsOf(env: Record<string, string>): Promise<string[]> {
    const dir = tempDir();
    const server = start(['serve'], {
      WX_APPID: DEV_APP.appId,
      WX_SECRET: DEV_APP.secret,
      WXLOGIN_SECRET: randomBytes(32).toString('base64'),
      WECHAT_API_BASE_URL: 'http://127.0.0.1:9',
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      PORT: '0',
      ...env,
    });
    await server.waitFor(/Server listening at/);
    const argv = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
    server.child.kill('SIGTERM');
    await exited(server.child);
    return argv.filter((arg) => arg.startsWith('--'));
  }

  it.skipIf(process.platform !== 'linux')('starts Node with a bounded heap, unless the operator sets one', async () => {
    expect(await nodeFlagsOf({})).toEqual(['--max-semi-space-size=4', '--max-old-space-size=128']);
    expect(await nodeFlagsOf({ NODE_OPTIONS: '--max-old-space-size=512' })).toEqual([]);
    expect(await nodeFlagsOf({ WXLOGIN_NODE_FLAGS: '--max-old-space-size=256' })).toEqual(['--max-old-space-size=256']);
    expect(await nodeFlagsOf({ WXLOGIN_NODE_FLAGS: '--stack-size=2000' })).toEqual([
      '--max-semi-space-size=4',
      '--max-old-space-size=128',
      '--stack-size=2000',
    ]);
  });
});

describe('wxlogin migrate and keys rotate', () => {
  it('apply migrations and rotate the signing key on a database', () => {
    const dir = tempDir();
    const env = {
      ...baseEnv,
      WX_APPID: DEV_APP.appId,
      WX_SECRET: DEV_APP.secret,
      WXLOGIN_SECRET: randomBytes(32).toString('base64'),
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      LOG_LEVEL: 'silent',
    };
    const migrate = spawnSync(bin, ['migrate'], { env, encoding: 'utf8' });
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('migrations applied');
    const rotate = spawnSync(bin, ['keys', 'rotate'], { env, encoding: 'utf8' });
    expect(rotate.status, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/new signing key [0-9a-f-]{36} is active/);
  });

  it('prints help, and refuses an unknown command', () => {
    const help = spawnSync(bin, ['help'], { env: baseEnv, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('wxlogin dev');
    const unknown = spawnSync(bin, ['frobnicate'], { env: baseEnv, encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('runs through npx from the repository root', () => {
    const result = spawnSync('npx', ['--no-install', 'wxlogin', 'help'], { cwd: root, env: baseEnv, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('wxlogin serve');
  });
});

describe('wxlogin dev', () => {
  it('starts with the simulator, and its printed walk-through works when pasted into a shell', async () => {
    const dir = tempDir();
    const dev = start(
      ['dev', '--port', '0', '--simulator-port', '0', '--data-dir', join(dir, '.wxlogin')],
      { LOG_LEVEL: 'warn' },
      dir,
    );
    await dev.waitFor(/# 5\. log out[^\n]*\n[^\n]*\n[^\n]*\n/);
    expect(dev.output()).toContain('DEVELOPMENT MODE');
    expect(existsSync(join(dir, '.wxlogin', 'dev-secrets.json'))).toBe(true);
    const script = dev
      .output()
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && (line.startsWith('#') || /^(CODE|ACCESS|curl)/.test(line)))
      .join('\n');
    const shell = spawnSync('bash', ['-e', '-c', script], { cwd: dir, encoding: 'utf8', env: baseEnv });
    expect(shell.status, `${shell.stdout}\n${shell.stderr}`).toBe(0);
    const out = shell.stdout;
    expect(out).toMatch(/"tokenType":"Bearer"/);
    expect(out).toMatch(/"openid":"o[^"]+"/);
    expect(out).toMatch(/^204$/m);
    expect(out).toMatch(/"code":"unauthorized"/);
  }, 60_000);
});
