import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './config.js';

const SECRET = Buffer.alloc(32, 7).toString('base64');
const base = { WX_APPID: 'wx0123456789abcdef', WX_SECRET: 's3cr3t-value', WXLOGIN_SECRET: SECRET };

function problemsOf(input: Parameters<typeof resolveConfig>[0]): string {
  try {
    resolveConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('applies the documented defaults', () => {
    const config = resolveConfig({ env: base });
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      wechatApiBaseUrl: 'https://api.weixin.qq.com',
      databaseUrl: 'sqlite:./.wxlogin/wxlogin.db',
      redisUrl: null,
      accessTokenTtlSeconds: 3600,
      refreshTokenTtlSeconds: 2592000,
      adminToken: null,
      logLevel: 'info',
      sessionPolicy: 'independent',
      bodyLimitBytes: 65536,
      corsOrigins: [],
      sqliteCacheKiB: 4096,
    });
    expect(config.apps).toEqual([{ appId: 'wx0123456789abcdef', secret: 's3cr3t-value' }]);
  });

  it('is frozen', () => {
    const config = resolveConfig({ env: base });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.apps[0])).toBe(true);
  });

  it('parses environment values by kind', () => {
    const config = resolveConfig({
      env: {
        ...base,
        PORT: '8080',
        TRUST_PROXY: 'true',
        CORS_ORIGINS: 'https://a.example, https://b.example',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SQLITE_CACHE_KIB: '1024',
      },
    });
    expect(config.port).toBe(8080);
    expect(config.sqliteCacheKiB).toBe(1024);
    expect(config.trustProxy).toBe(true);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('reports every problem at once, naming the settings, without echoing secrets', () => {
    const message = problemsOf({
      env: {
        WX_APPID: 'nope',
        WX_SECRET: 'hunter2-secret',
        WXLOGIN_SECRET: 'c2hvcnQ=',
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        SQLITE_CACHE_KIB: '16',
      },
    });
    expect(message).toContain('SQLITE_CACHE_KIB');
    expect(message).toContain('WXLOGIN_SECRET: must be base64 of 32 bytes');
    expect(message).toContain('PORT');
    expect(message).toContain('LOG_LEVEL');
    expect(message).toContain('WX_APPID/WX_SECRET');
    expect(message).not.toContain('hunter2-secret');
    expect(message).not.toContain('c2hvcnQ=');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('refuses to start without an app or a secret', () => {
    expect(problemsOf({ env: {} })).toMatch(
      /WX_APPID\/WX_SECRET: no mini program configured.*WXLOGIN_SECRET: required/,
    );
    expect(problemsOf({ env: { WX_APPID: 'wx0123456789abcdef', WXLOGIN_SECRET: SECRET } })).toContain(
      'WX_SECRET: required',
    );
  });

  it('reads several apps from a config file, environment winning over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-config-'));
    const file = join(dir, 'wxlogin.json');
    writeFileSync(
      file,
      JSON.stringify({
        apps: [
          { appId: 'wx0000000000000001', secret: 'a' },
          { appId: 'wx0000000000000002', secret: 'b' },
        ],
        port: 4000,
        accessTokenTtlSeconds: 600,
      }),
    );
    const config = resolveConfig({ env: { WXLOGIN_CONFIG: file, WXLOGIN_SECRET: SECRET, PORT: '5000' } });
    expect(config.apps.map((a) => a.appId)).toEqual(['wx0000000000000001', 'wx0000000000000002']);
    expect(config.port).toBe(5000);
    expect(config.accessTokenTtlSeconds).toBe(600);
  });

  it('refuses a broken or duplicated config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-config-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ nope');
    expect(problemsOf({ env: { WXLOGIN_SECRET: SECRET }, configFile: broken })).toContain('not valid JSON');
    const dup = join(dir, 'dup.json');
    const app = { appId: 'wx0000000000000001', secret: 'a' };
    writeFileSync(dup, JSON.stringify({ apps: [app, app] }));
    expect(problemsOf({ env: { WXLOGIN_SECRET: SECRET }, configFile: dup })).toContain(
      'the same appId is listed twice',
    );
    expect(problemsOf({ env: { WXLOGIN_SECRET: SECRET }, configFile: join(dir, 'missing.json') })).toContain(
      'cannot be read',
    );
  });

  it('refuses unknown keys in the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxlogin-config-'));
    const file = join(dir, 'extra.json');
    writeFileSync(file, JSON.stringify({ apps: [{ appId: 'wx0000000000000001', secret: 'a' }], prot: 1 }));
    expect(problemsOf({ env: { WXLOGIN_SECRET: SECRET }, configFile: file })).toMatch(/prot|additional/i);
  });
});
