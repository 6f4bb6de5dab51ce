import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWechatClient } from '@wxlogin/wechat';
import { afterEach, describe, expect, it } from 'vitest';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A tiny jscode2session stand-in that counts TCP connections. */
async function start(delayMs = 0): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('{"session_key":"tQY+38pdTVnAIWCBNiM1+A==","openid":"o1"}');
    }, delayMs);
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

describe('default keep-alive transport', () => {
  it('reuses pooled connections for sequential calls, and close() shuts the agent', async () => {
    const server = await start();
    const client = createWechatClient({ appId: 'wx0123456789abcdef', secret: 'x'.repeat(32), baseUrl: server.url });
    for (let i = 0; i < 20; i++)
      await expect(client.code2Session(`code-${i}`)).resolves.toMatchObject({ openId: 'o1' });
    // back-to-back calls may open a second socket before the first is back in the pool; never one per call
    expect(server.connections()).toBeGreaterThanOrEqual(1);
    expect(server.connections()).toBeLessThanOrEqual(2);
    await client.close();
    await expect(client.code2Session('after-close')).rejects.toMatchObject({ name: 'WechatError', code: 'network' });
  });

  it('opens at most maxConnections sockets, and as many as concurrency needs up to it', async () => {
    const server = await start(50);
    const small = createWechatClient({
      appId: 'wx0123456789abcdef',
      secret: 'x'.repeat(32),
      baseUrl: server.url,
      maxConnections: 2,
    });
    await Promise.all(Array.from({ length: 8 }, (_, i) => small.code2Session(`code-${i}`)));
    expect(server.connections()).toBe(2);
    await small.close();
    const other = await start(50);
    const roomy = createWechatClient({ appId: 'wx0123456789abcdef', secret: 'x'.repeat(32), baseUrl: other.url });
    await Promise.all(Array.from({ length: 200 }, (_, i) => roomy.code2Session(`code-${i}`)));
    expect(other.connections()).toBe(200);
    await roomy.close();
  });

  it('close() leaves an injected fetch alone', async () => {
    const server = await start();
    const client = createWechatClient({
      appId: 'wx0123456789abcdef',
      secret: 'x'.repeat(32),
      baseUrl: server.url,
      fetch,
    });
    await client.close();
    await expect(client.code2Session('c')).resolves.toMatchObject({ openId: 'o1' });
  });
});
