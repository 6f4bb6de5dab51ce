/**
 * The CommonJS bundle the WeChat devtools' "build npm" ships: no imports of any
 * kind, and it works in a bare context that has nothing but `wx` and timers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { DEV_APP } from '@wxlogin/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedWx, type Service, startService } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const bundlePath = `${packageDir}miniprogram_dist/index.js`;

/** Builds the package when the bundle is missing or older than any source file. */
function ensureBundle(): string {
  const sources = readdirSync(`${packageDir}src`).map((name) => statSync(`${packageDir}src/${name}`).mtimeMs);
  if (!existsSync(bundlePath) || statSync(bundlePath).mtimeMs < Math.max(...sources)) {
    execFileSync('npm', ['run', 'build', '-w', '@wxlogin/miniprogram'], { cwd: repoRoot, stdio: 'pipe' });
  }
  return readFileSync(bundlePath, 'utf8');
}

interface Exports {
  createAuth(options: { baseUrl: string; appId?: string }): {
    login(): Promise<{ openid: string; appId: string }>;
    getProfile(): Promise<{ openid: string }>;
    logout(): Promise<void>;
  };
  WxloginError: new (...args: never[]) => Error;
}

let service: Service;
let text: string;

beforeAll(async () => {
  text = ensureBundle();
  service = await startService();
}, 120_000);

afterAll(async () => {
  await service?.close();
});

describe('miniprogram_dist/index.js', () => {
  it('imports nothing and names no Node API', () => {
    expect(text).not.toMatch(/\brequire\s*\(/);
    expect(text).not.toMatch(/\bimport\s*\(|^\s*import\s/m);
    expect(text).not.toMatch(/\b(process|Buffer|globalThis|__dirname|TextEncoder|URLSearchParams|fetch)\b/);
    expect(text).toMatch(/module\.exports = __toCommonJS/);
  });

  it('logs in against the real service from a bare sandbox with only wx and timers', async () => {
    const { wx, sent } = recordedWx({ simulator: service.sim, user: 'sandbox-user' });
    const module = { exports: {} as Exports };
    const context = createContext({
      wx,
      console,
      setTimeout,
      clearTimeout,
      Promise,
      module,
      exports: module.exports,
    });
    runInContext(text, context, { filename: 'miniprogram_dist/index.js' });
    const sdk = module.exports;
    expect(Object.keys(sdk).sort()).toEqual(['WxloginError', 'createAuth', 'isWxloginError']);

    const auth = sdk.createAuth({ baseUrl: service.url, appId: DEV_APP.appId });
    const user = await auth.login();
    const profile = await auth.getProfile();
    await auth.logout();

    expect(user.openid).toBe(service.sim.openidOf(DEV_APP.appId, 'sandbox-user'));
    expect(profile.openid).toBe(user.openid);
    expect(sent).toEqual(['POST /v1/auth/login', 'GET /v1/me', 'POST /v1/auth/logout']);
    expect(wx.getStorageSync('wxlogin.tokens')).toBe('');
  });

  it('stays small', () => {
    const bytes = Buffer.byteLength(text);
    const gzip = gzipSync(text, { level: 9 }).byteLength;
    console.info(`miniprogram_dist/index.js: ${bytes} bytes, ${gzip} bytes gzip`);
    expect(bytes).toBeLessThan(64 * 1024);
    expect(gzip).toBeLessThan(12 * 1024);
  });
});
