/**
 * Secrets stay secret: the leak scanner itself can fail, a full tour of the
 * API under trace logging leaks nothing (checked by the harness at close), and
 * the SQLite file never holds a session key in any encoding.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/config.js';
import { assertNoLeaks, encodingsOf, startStack, TEST_SECRET } from './harness.js';

describe('the leak scanner', () => {
  const config = resolveConfig({
    env: {},
    overrides: { apps: [{ appId: DEV_APP.appId, secret: DEV_APP.secret }], secret: TEST_SECRET },
  });
  const secrets = {
    sessionKeys: new Set(['tiihtNczf5v6AKRyjwEUhQ==']),
    accessTokens: new Set(['ACCESS_TOKEN_VALUE_123']),
    refreshTokens: new Set(['rt.secret-part']),
  };
  it.each([
    ['a session key in base64', ['log tiihtNczf5v6AKRyjwEUhQ== here'], []],
    ['a session key in hex', [`key=${Buffer.from('tiihtNczf5v6AKRyjwEUhQ==', 'base64').toString('hex')}`], []],
    ['the app secret', [`secret ${DEV_APP.secret}`], []],
    ['the server secret', [TEST_SECRET], []],
    ['a WeChat access token in a response', [], [{ text: 'token ACCESS_TOKEN_VALUE_123' }]],
    ['a refresh token in a log', ['rt.secret-part'], []],
    ['a refresh token in a response that did not issue it', [], [{ text: '{"x":"rt.secret-part"}', issued: [] }]],
  ])('fails on %s', (_name, logs, wire) => {
    expect(() => assertNoLeaks(secrets, config, logs, wire)).toThrow();
  });
  it('passes clean output, and a refresh token in its own issuing response', () => {
    expect(() =>
      assertNoLeaks(
        secrets,
        config,
        ['all fine'],
        [{ text: '{"refreshToken":"rt.secret-part"}', issued: ['rt.secret-part'] }],
      ),
    ).not.toThrow();
  });
});

describe('secrets under a full tour of the API', () => {
  it('never reach a response, a log line (trace level) or the SQLite file', async () => {
    const stack = await startStack({ overrides: { logLevel: 'trace', sessionPolicy: 'follow-wechat' } });
    const users = ['sk-a', 'sk-b', 'sk-c'];
    for (const user of users) {
      const tokens = await stack.login(user);
      await stack.login(user); // rotates the session key: previous key kept sealed
      const info = stack.sim.userInfo({ user });
      await stack.request('POST', '/v1/me/userinfo', { token: tokens.accessToken, body: info });
      await stack.request('POST', '/v1/me/userinfo', {
        token: tokens.accessToken,
        body: { ...info, signature: '0'.repeat(40) },
      });
      await stack.request('POST', '/v1/me/phone', {
        token: tokens.accessToken,
        body: { code: stack.sim.phoneCode({ user }).code },
      });
      await stack.request('POST', '/v1/auth/decrypt', {
        token: tokens.accessToken,
        body: { encryptedData: info.encryptedData, iv: info.iv },
      });
      await stack.request('GET', '/v1/auth/session?check=wechat', { token: tokens.accessToken });
      const refreshed = await stack.request<{ refreshToken: string }>('POST', '/v1/auth/refresh', {
        body: { refreshToken: tokens.refreshToken },
      });
      await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: tokens.refreshToken } }); // reuse → revoke
      await stack.request('POST', '/v1/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } });
      await stack.request('POST', '/v1/auth/logout', { token: tokens.accessToken });
    }
    stack.sim.inject({ endpoint: 'jscode2session', errcode: 40029 });
    await stack.request('POST', '/v1/auth/login', { body: { code: stack.sim.mintLoginCode({ user: 'sk-d' }).code } });
    stack.sim.inject({ endpoint: 'jscode2session', html: true });
    await stack.request('POST', '/v1/auth/login', { body: { code: stack.sim.mintLoginCode({ user: 'sk-d' }).code } });
    await stack.request('GET', '/metrics');
    expect(stack.secrets.sessionKeys.size).toBeGreaterThanOrEqual(6);
    expect(stack.secrets.accessTokens.size).toBeGreaterThanOrEqual(1);
    expect(stack.logs.length).toBeGreaterThan(20);

    // the database file (and its WAL) holds no session key in any encoding
    const dbPath = stack.dataDir as string;
    const files = readdirSync(join(dbPath, '..')).filter((f) => f.startsWith('wxlogin.db'));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(dbPath, '..', f))));
    for (const key of stack.secrets.sessionKeys) {
      const raw = Buffer.from(key, 'base64');
      expect(bytes.includes(raw), 'raw session key bytes in the database').toBe(false);
      for (const text of encodingsOf(key))
        expect(bytes.includes(Buffer.from(text, 'utf8')), 'session key text in the database').toBe(false);
    }
    await stack.close(); // scans every response and log line
  });
});

describe('restart on the same database', () => {
  it('keeps earlier access and refresh tokens working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-restart-'));
    const sim = await startSimulator();
    const databaseUrl = `sqlite:${join(dir, 'wxlogin.db')}`;
    try {
      const first = await startStack({ simulator: sim, overrides: { databaseUrl } });
      const tokens = await first.login('restart-user');
      await first.close();
      const second = await startStack({ simulator: sim, overrides: { databaseUrl } });
      const me = await second.request<{ id: string }>('GET', '/v1/me', { token: tokens.accessToken });
      expect(me.status, me.text).toBe(200);
      expect(me.body.id).toBe(tokens.user.id);
      const refreshed = await second.request('POST', '/v1/auth/refresh', {
        body: { refreshToken: tokens.refreshToken },
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      await second.close();
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a logout effective after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-restart-'));
    const sim = await startSimulator();
    const databaseUrl = `sqlite:${join(dir, 'wxlogin.db')}`;
    try {
      const first = await startStack({ simulator: sim, overrides: { databaseUrl } });
      const tokens = await first.login('restart-logout');
      expect((await first.request('POST', '/v1/auth/logout', { token: tokens.accessToken })).status).toBe(204);
      await first.close();
      const second = await startStack({ simulator: sim, overrides: { databaseUrl } });
      expect((await second.request('GET', '/v1/me', { token: tokens.accessToken })).status).toBe(401);
      await second.close();
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
