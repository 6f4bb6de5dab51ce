// The keep-alive agent loads two internal modules of undici instead of its index:
// these tests fail when an undici upgrade moves them or changes what they do.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeepAliveAgent } from './keep-alive.js';

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(): Promise<{ origin: string; sockets: () => number }> {
  let sockets = 0;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${req.method} ${req.url}`);
  });
  server.on('connection', () => {
    sockets += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets: () => sockets };
}

describe('createKeepAliveAgent', () => {
  it('sends requests and reuses its connections: ten calls one after another share one or two', async () => {
    const { origin, sockets } = await listen();
    const agent = createKeepAliveAgent(4);
    try {
      for (let i = 0; i < 10; i++) {
        const path = `/call?i=${i}`;
        const { statusCode, body } = await agent.dispatcher.request({ origin, path, method: 'GET' });
        expect(statusCode).toBe(200);
        expect(await body.text()).toBe(`GET ${path}`);
      }
      expect(sockets()).toBeLessThanOrEqual(2);
    } finally {
      await agent.close();
    }
  });

  it('refuses requests once closed', async () => {
    const { origin } = await listen();
    const agent = createKeepAliveAgent();
    await agent.close();
    await expect(agent.dispatcher.request({ origin, path: '/', method: 'GET' })).rejects.toThrow(/closed|destroyed/i);
  });

  it("loads only undici's agent and request modules, not the package's index", () => {
    // a fresh process imports the built module (`npm run build` comes before the tests) and lists undici's files
    const moduleUrl = new URL('../dist/keep-alive.js', import.meta.url).href;
    const script = `
      import { createRequire } from 'node:module';
      const { createKeepAliveAgent } = await import(${JSON.stringify(moduleUrl)});
      await createKeepAliveAgent().close();
      const cache = createRequire(import.meta.url).cache;
      console.log(JSON.stringify(Object.keys(cache).filter((f) => f.includes('/undici/'))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    const files = JSON.parse(out) as string[];
    expect(files.some((f) => f.endsWith('/undici/lib/dispatcher/agent.js'))).toBe(true);
    expect(files.some((f) => f.endsWith('/undici/lib/api/api-request.js'))).toBe(true);
    expect(files.filter((f) => /\/undici\/index\.js$|\/undici\/lib\/web\//.test(f))).toEqual([]);
  });
});
