/**
 * examples/miniprogram cannot run here without the WeChat devtools, so this
 * checks that every file parses, every page has its four files, every event
 * handler named in a template exists, and runs the pages' logic in a sandbox
 * with stand-ins for App/Page/getApp, the fake `wx` and the real service.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext, Script } from 'node:vm';
import * as sdk from '@wxlogin/miniprogram';
import { DEV_APP } from '@wxlogin/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedWx, type Service, startService } from './helpers.js';

const exampleDir = fileURLToPath(new URL('../../../examples/miniprogram/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'miniprogram_npm') return [];
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const read = (path: string): string => readFileSync(join(exampleDir, path), 'utf8');

describe('examples/miniprogram files', () => {
  const all = files(exampleDir).map((path) => relative(exampleDir, path));

  it('parses every .js and every .json', () => {
    const js = all.filter((path) => path.endsWith('.js'));
    const json = all.filter((path) => path.endsWith('.json'));
    expect(js.length).toBeGreaterThanOrEqual(3);
    for (const path of js) expect(() => new Script(read(path), { filename: path }), path).not.toThrow();
    for (const path of json) expect(() => JSON.parse(read(path)), path).not.toThrow();
  });

  it('has the four files of every page listed in app.json, and nothing else under pages/', () => {
    const pages = (JSON.parse(read('app.json')) as { pages: string[] }).pages;
    expect(pages).toEqual(['pages/index/index', 'pages/profile/profile']);
    const expected = pages.flatMap((page) => ['js', 'json', 'wxml', 'wxss'].map((ext) => `${page}.${ext}`));
    expect(all.filter((path) => path.startsWith('pages/')).sort()).toEqual(expected.sort());
  });

  it('uses the dev app id, the SDK and wxlogin dev', () => {
    const project = JSON.parse(read('project.config.json')) as { appid: string; setting: { urlCheck: boolean } };
    expect(project.appid).toBe(DEV_APP.appId);
    expect(project.setting.urlCheck).toBe(false);
    expect(read('app.js')).toMatch(/require\('@wxlogin\/miniprogram'\)/);
    expect(read('app.js')).toMatch(/'http:\/\/127\.0\.0\.1:3000'/);
    expect(read('pages/profile/profile.wxml')).toMatch(/open-type="chooseAvatar"/);
    expect(read('pages/profile/profile.wxml')).toMatch(/type="nickname"/);
    expect(read('pages/index/index.wxml')).toMatch(/open-type="getPhoneNumber"/);
  });

  it('names only event handlers that the page defines', () => {
    for (const page of ['pages/index/index', 'pages/profile/profile']) {
      const handlers = [...read(`${page}.wxml`).matchAll(/\b(?:bind|catch)[:\w]*="(\w+)"/g)].map((m) => m[1]);
      expect(handlers.length, page).toBeGreaterThan(0);
      for (const name of handlers)
        expect(read(`${page}.js`), `${page}: ${name}`).toMatch(new RegExp(`\\n  (async )?${name}\\(`));
    }
  });
});

interface PageInstance {
  data: Record<string, unknown>;
  setData(patch: Record<string, unknown>): void;
  [method: string]: unknown;
}

describe('examples/miniprogram pages against the real service', () => {
  let service: Service;

  beforeAll(async () => {
    service = await startService();
  });

  afterAll(async () => {
    await service.close();
  });

  it('logs in, shows the profile, binds the phone, saves a nickname and logs out', async () => {
    const { wx, sent } = recordedWx({ simulator: service.sim, user: 'example-user' });
    const navigation: string[] = [];
    const runtimeWx = Object.assign(Object.create(wx) as object, {
      navigateTo: ({ url }: { url: string }) => navigation.push(url),
      navigateBack: () => navigation.push('back'),
    });
    // the SDK as `require('@wxlogin/miniprogram')` gives it, aimed at this test's service
    const pkg = { ...sdk, createAuth: (o: sdk.AuthOptions) => sdk.createAuth({ ...o, baseUrl: service.url, wx }) };
    let app: Record<string, unknown> = {};
    const pages: Record<string, Record<string, unknown>> = {};
    let loading = '';
    const context = createContext({
      wx: runtimeWx,
      console: { ...console, info: () => {}, log: () => {} },
      setTimeout,
      clearTimeout,
      Promise,
      App: (definition: Record<string, unknown>) => {
        app = definition;
      },
      getApp: () => app,
      Page: (definition: Record<string, unknown>) => {
        pages[loading] = definition;
      },
    });
    const load = (path: string): void => {
      loading = path;
      const wrapped = runInContext(`(function (require, module, exports) {${read(path)}\n})`, context, {
        filename: path,
      }) as (req: (name: string) => unknown, module: object, exports: object) => void;
      wrapped(
        (name) => {
          if (name !== '@wxlogin/miniprogram') throw new Error(`unexpected require(${name})`);
          return pkg;
        },
        { exports: {} },
        {},
      );
    };
    load('app.js');
    (app.onLaunch as () => void).call(app);
    load('pages/index/index.js');
    load('pages/profile/profile.js');

    const index = instantiate(pages['pages/index/index.js']);
    (index.onLoad as () => void)();
    await until(() => index.data.loading === false && wx.__calls.checkSession > 0);
    expect(index.data.error).toBe('');
    expect(index.data.profile).toMatchObject({ openid: service.sim.openidOf(DEV_APP.appId, 'example-user') });
    expect(wx.__calls.login).toBe(1); // onLaunch and onLoad shared one login

    await (index.onGetPhoneNumber as (e: unknown) => Promise<void>)({ detail: wx.__tapPhoneButton() });
    expect(index.data.message).toBe('Bound 13800138000');
    await (index.onGetPhoneNumber as (e: unknown) => Promise<void>)({ detail: wx.__tapPhoneButton({ deny: true }) });
    expect(index.data.message).toBe('');

    (index.goProfile as () => void)();
    expect(navigation).toEqual(['/pages/profile/profile']);
    const profile = instantiate(pages['pages/profile/profile.js']);
    await (profile.onLoad as () => Promise<void>)();
    (profile.onChooseAvatar as (e: unknown) => void)({ detail: { avatarUrl: 'http://tmp/avatar.png' } });
    await (profile.onSubmit as (e: unknown) => Promise<void>)({ detail: { value: { nickname: '  Example  ' } } });
    expect(profile.data.error).toBe('');
    expect(navigation).toEqual(['/pages/profile/profile', 'back']);

    (index.onShow as () => void)();
    await until(() => (index.data.profile as { nickname?: string } | null)?.nickname === 'Example');
    expect(index.data.profile).toMatchObject({ avatarUrl: 'http://tmp/avatar.png', phoneNumber: '13800138000' });

    await (index.logout as () => Promise<void>)();
    expect(index.data.profile).toBeNull();
    expect(sent).toContain('POST /v1/auth/logout');
  });
});

/** A page instance the way the runtime makes one: the definition, its data, and setData with path keys. */
function instantiate(definition: Record<string, unknown> | undefined): PageInstance {
  if (definition === undefined) throw new Error('page not registered');
  const page = { ...definition } as PageInstance;
  page.data = JSON.parse(JSON.stringify(definition.data ?? {})) as Record<string, unknown>;
  page.setData = (patch) => {
    for (const [path, value] of Object.entries(patch)) {
      const keys = path.split('.');
      let target = page.data;
      for (const key of keys.slice(0, -1)) {
        if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
        target = target[key] as Record<string, unknown>;
      }
      target[keys[keys.length - 1] as string] = value;
    }
  };
  for (const [name, value] of Object.entries(definition)) {
    if (typeof value === 'function') page[name] = value.bind(page);
  }
  return page;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting for the page');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
