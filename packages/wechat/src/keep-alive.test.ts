// The default transport on its own, against real local HTTP and HTTPS servers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Deadline, type OutgoingRequest } from './http.js';
import { createKeepAliveTransport, type KeepAliveTransport, TransportClosedError } from './keep-alive.js';

const tls = (name: string): Buffer => readFileSync(new URL(`../test/tls/127.0.0.1-${name}.pem`, import.meta.url));

const servers: Server[] = [];
const transports: KeepAliveTransport[] = [];

afterEach(async () => {
  for (const t of transports.splice(0)) await t.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const echo: Handler = (req, res, body) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`${req.method} ${req.url} ${body}`);
};

async function listen(
  handler: Handler = echo,
  secure = false,
): Promise<{ origin: string; connections: () => number; hosts: string[] }> {
  let connections = 0;
  const hosts: string[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    hosts.push(req.headers.host ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  };
  const server = secure ? createTlsServer({ cert: tls('cert'), key: tls('key') }, onRequest) : createServer(onRequest);
  server.on(secure ? 'secureConnection' : 'connection', () => {
    connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`, connections: () => connections, hosts };
}

function open(options: Parameters<typeof createKeepAliveTransport>[0] = {}): KeepAliveTransport {
  const t = createKeepAliveTransport(options);
  transports.push(t);
  return t;
}

const get = (url: string): OutgoingRequest => ({ url: new URL(url), method: 'GET', headers: {}, body: undefined });

function call(t: KeepAliveTransport, request: OutgoingRequest, timeoutMs = 2000) {
  const deadline = new Deadline(timeoutMs, undefined);
  return t.transport(request, deadline).finally(() => deadline.dispose());
}

describe('createKeepAliveTransport', () => {
  it('sends GET and POST, and reuses its connections: ten calls one after another share one or two', async () => {
    const server = await listen();
    const t = open({ connections: 4 });
    for (let i = 0; i < 5; i++) {
      await expect(call(t, get(`${server.origin}/call?i=${i}`))).resolves.toEqual({
        status: 200,
        text: `GET /call?i=${i} `,
      });
      const post: OutgoingRequest = {
        url: new URL(`${server.origin}/post`),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"n":"${'é'.repeat(i)}"}`,
      };
      await expect(call(t, post)).resolves.toEqual({ status: 200, text: `POST /post {"n":"${'é'.repeat(i)}"}` });
    }
    // a call right after another may open a second connection before the first is back in the pool; never one per call
    expect(server.connections()).toBeLessThanOrEqual(2);
    expect(server.hosts.every((host) => host === new URL(server.origin).host)).toBe(true);
  });

  it('speaks TLS to an https: URL, with the certificates it is given, and keeps its connections too', async () => {
    const server = await listen(echo, true);
    const t = open({ ca: tls('cert') });
    for (let i = 0; i < 5; i++) {
      await expect(call(t, get(`${server.origin}/tls?i=${i}`))).resolves.toEqual({
        status: 200,
        text: `GET /tls?i=${i} `,
      });
    }
    expect(server.connections()).toBeLessThanOrEqual(2);
    // without the certificate, Node's bundled authorities refuse the server
    await expect(call(open(), get(`${server.origin}/tls`))).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('opens at most `connections` sockets; calls beyond them wait for a free one', async () => {
    const server = await listen((req, res, body) => setTimeout(() => echo(req, res, body), 30));
    const t = open({ connections: 3 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => call(t, get(`${server.origin}/${i}`))));
    expect(answers.map((a) => a.text)).toEqual(Array.from({ length: 12 }, (_, i) => `GET /${i} `));
    expect(server.connections()).toBe(3);
    expect(t.sockets()).toBe(3);
  });

  it('close() closes its connections, and later calls reject with TransportClosedError', async () => {
    const server = await listen();
    const t = open();
    await call(t, get(`${server.origin}/`));
    expect(t.sockets()).toBe(1);
    await t.close();
    expect(t.sockets()).toBe(0);
    await expect(call(t, get(`${server.origin}/`))).rejects.toBeInstanceOf(TransportClosedError);
    expect(server.connections()).toBe(1);
  });

  it('a deadline that fires rejects at once with its reason, and that connection is closed, not pooled', async () => {
    const server = await listen(() => {});
    const t = open();
    const caller = new AbortController();
    const deadline = new Deadline(60_000, caller.signal);
    const pending = t.transport(get(`${server.origin}/stall`), deadline);
    await expect.poll(() => t.sockets()).toBe(1);
    const reason = new Error('stop');
    caller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    deadline.dispose();
    await expect.poll(() => t.sockets()).toBe(0);
    // a deadline already over sends nothing
    const over = new Deadline(60_000, AbortSignal.abort(reason));
    await expect(t.transport(get(`${server.origin}/never`), over)).rejects.toBe(reason);
    over.dispose();
    expect(server.connections()).toBe(1);
  });

  it('a call whose deadline fires while it waits for a connection is never sent', async () => {
    const paths: string[] = [];
    const server = await listen((req, res, body) => {
      paths.push(req.url ?? '');
      if (req.url !== '/stall') echo(req, res, body);
    });
    const t = open({ connections: 1 });
    const first = new AbortController();
    const firstDeadline = new Deadline(60_000, first.signal);
    const stalled = t.transport(get(`${server.origin}/stall`), firstDeadline);
    await expect.poll(() => paths).toEqual(['/stall']);
    const queued = new Deadline(50, undefined);
    await expect(t.transport(get(`${server.origin}/queued`), queued)).rejects.toMatchObject({ name: 'TimeoutError' });
    first.abort(new Error('done waiting'));
    await expect(stalled).rejects.toThrow('done waiting');
    firstDeadline.dispose();
    // the connection is free again: a later call goes through, and the queued one never went out
    await expect(call(t, get(`${server.origin}/after`))).resolves.toMatchObject({ status: 200 });
    expect(paths).toEqual(['/stall', '/after']);
  });

  it("loads only undici's agent module, not the package's index", () => {
    // a fresh process imports the built module (`npm run build` comes before the tests) and lists undici's files
    const moduleUrl = new URL('../dist/keep-alive.js', import.meta.url).href;
    const script = `
      import { createRequire } from 'node:module';
      const { createKeepAliveTransport } = await import(${JSON.stringify(moduleUrl)});
      await createKeepAliveTransport().close();
      const cache = createRequire(import.meta.url).cache;
      console.log(JSON.stringify(Object.keys(cache).filter((f) => f.includes('/undici/'))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    const files = JSON.parse(out) as string[];
    expect(files.some((f) => f.endsWith('/undici/lib/dispatcher/agent.js'))).toBe(true);
    expect(files.filter((f) => /\/undici\/index\.js$|\/undici\/lib\/(web|api)\//.test(f))).toEqual([]);
  });
});
