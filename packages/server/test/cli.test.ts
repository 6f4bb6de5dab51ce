/**
 * The `wxlogin` command as a user runs it: the built binary in a child process.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(root, 'packages/server/dist/cli.js');
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
  const child = spawn(process.execPath, [cli, ...args], {
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
    const result = spawnSync(process.execPath, [cli, 'serve'], { env: baseEnv, encoding: 'utf8' });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^wxlogin: invalid configuration: .*WX_APPID\/WX_SECRET.*WXLOGIN_SECRET/);
  });

  it('names a malformed WXLOGIN_SECRET without echoing it', () => {
    const result = spawnSync(process.execPath, [cli, 'serve'], {
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
    const migrate = spawnSync(process.execPath, [cli, 'migrate'], { env, encoding: 'utf8' });
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('migrations applied');
    const rotate = spawnSync(process.execPath, [cli, 'keys', 'rotate'], { env, encoding: 'utf8' });
    expect(rotate.status, rotate.stderr).toBe(0);
    expect(rotate.stdout).toMatch(/new signing key [0-9a-f-]{36} is active/);
  });

  it('prints help, and refuses an unknown command', () => {
    const help = spawnSync(process.execPath, [cli, 'help'], { env: baseEnv, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('wxlogin dev');
    const unknown = spawnSync(process.execPath, [cli, 'frobnicate'], { env: baseEnv, encoding: 'utf8' });
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
