import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '@wxlogin/server';
import { DEV_APP, type Simulator, startSimulator } from '@wxlogin/simulator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShop } from './shop.js';

describe('wxlogin mounted into an existing Fastify app', () => {
  let sim: Simulator;
  let app: FastifyInstance;
  let url = '';
  let dir = '';
  beforeAll(async () => {
    sim = await startSimulator();
    dir = mkdtempSync(join(tmpdir(), 'wxlogin-embed-'));
    const config = resolveConfig({
      env: {},
      overrides: {
        apps: [{ appId: DEV_APP.appId, secret: DEV_APP.secret }],
        secret: randomBytes(32).toString('base64'),
        wechatApiBaseUrl: sim.url,
        databaseUrl: `sqlite:${join(dir, 'db.sqlite')}`,
      },
    });
    app = await buildShop({ config, jwksUrl: () => `${url}/auth/.well-known/jwks.json` });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the contract under the prefix and its own routes with wxlogin tokens', async () => {
    const login = await fetch(`${url}/auth/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: sim.mintLoginCode({ user: 'shopper' }).code }),
    });
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as { accessToken: string; user: { id: string } };
    const orders = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    expect(orders.status).toBe(200);
    expect(await orders.json()).toEqual({ userId: tokens.user.id, orders: [] });
    const forged = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${tokens.accessToken}x` } });
    expect(forged.status).toBe(401);
  });

  it('keeps its error envelope inside the prefix only', async () => {
    const inside = await fetch(`${url}/auth/v1/nope`);
    expect(inside.status).toBe(404);
    expect(await inside.json()).toMatchObject({ error: { code: 'not_found' } });
    const bad = await fetch(`${url}/auth/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request' } });
    const outside = await fetch(`${url}/nope`);
    expect(outside.status).toBe(404);
    expect(await outside.json()).not.toHaveProperty('requestId');
  });
});
