// The default transport (undici's dispatch on a keep-alive Agent) against real local HTTP servers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { failure } from '../test/failure.js';
import { createWechatClient, type WechatClient, type WechatClientOptions } from './client.js';
import { WechatError } from './errors.js';
import { MAX_RESPONSE_BYTES } from './http.js';
import { APP_ID, SECRET } from './testing/fake-fetch.js';

interface TestServer {
  url: string;
  /** connections accepted so far */
  connections: () => number;
  /** connections closed so far (by either side) */
  closed: () => number;
  requests: Array<{
    method: string;
    url: string;
    headers: IncomingMessage['headers'];
    body: string;
    /** true once the connection that carried the request is closed */
    socketClosed: () => boolean;
  }>;
}

const servers: Server[] = [];
const clients: WechatClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server whose handler sees the request body already read. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<TestServer> {
  let connections = 0;
  let closed = 0;
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const { socket } = req;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const socketClosed = (): boolean => socket.destroyed;
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, socketClosed });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    connections++;
    socket.on('close', () => closed++);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, closed: () => closed, requests };
}

function connect(url: string, options: Partial<WechatClientOptions> = {}): WechatClient {
  const client = createWechatClient({
    appId: APP_ID,
    secret: SECRET,
    baseUrl: url,
    maxRetries: 0,
    sleep: async () => {},
    ...options,
  });
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const SESSION = '{"session_key":"tQY+38pdTVnAIWCBNiM1+A==","openid":"o1"}';

function answer(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

describe('default transport: what reaches WeChat', () => {
  it('a GET carries the query and accept, no body and no content-type', async () => {
    const server = await serve((_req, res) => answer(res, 200, 'text/plain', SESSION));
    await connect(server.url).code2Session('0a3Xyz');
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    const url = new URL(request?.url ?? '', server.url);
    expect(url.pathname).toBe('/sns/jscode2session');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: APP_ID,
      secret: SECRET,
      js_code: '0a3Xyz',
      grant_type: 'authorization_code',
    });
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['content-type']).toBeUndefined();
    expect(request?.body).toBe('');
  });

  it('a POST carries a JSON body with its content-type and length, and no query', async () => {
    const server = await serve((_req, res) =>
      answer(res, 200, 'application/json', '{"access_token":"T","expires_in":7200}'),
    );
    await expect(connect(server.url).getAccessToken()).resolves.toBe('T');
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/cgi-bin/stable_token');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(request?.body ?? '')));
    expect(JSON.parse(request?.body ?? '')).toEqual({
      grant_type: 'client_credential',
      appid: APP_ID,
      secret: SECRET,
      force_refresh: false,
    });
  });

  it('keeps a baseUrl path prefix', async () => {
    const server = await serve((_req, res) => answer(res, 200, 'text/plain', SESSION));
    await connect(`${server.url}/prefix/`).code2Session('c');
    expect(server.requests[0]?.url).toMatch(/^\/prefix\/sns\/jscode2session\?/);
  });
});

describe('default transport: answers', () => {
  it('reads a body with a UTF-8 BOM, as fetch does', async () => {
    const server = await serve((_req, res) =>
      answer(res, 200, 'text/plain', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SESSION)])),
    );
    await expect(connect(server.url).code2Session('c')).resolves.toMatchObject({ openId: 'o1' });
  });

  it('reads a chunked body that arrives in pieces within the timeout', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(SESSION.slice(0, 10));
      setTimeout(() => res.end(SESSION.slice(10)), 30);
    });
    await expect(connect(server.url, { requestTimeoutMs: 2000 }).code2Session('c')).resolves.toMatchObject({
      openId: 'o1',
    });
  });

  it('does not follow a redirect: the 3xx answer is unexpected and the target is never asked', async () => {
    const server = await serve((req, res) => {
      if (req.url?.startsWith('/elsewhere')) return answer(res, 200, 'text/plain', SESSION);
      res.writeHead(302, { location: '/elsewhere', 'content-length': 0 });
      res.end();
    });
    const error = await failure(connect(server.url).code2Session('c'));
    expect(error).toMatchObject({ code: 'unexpected', retryable: false, endpoint: 'jscode2session' });
    expect(error.message).toBe(
      'WeChat jscode2session failed: unexpected response (HTTP 302, body is not a JSON object)',
    );
    expect(server.requests).toHaveLength(1);
  });

  it('every kind of answer leaves the socket reusable: sequential calls share one or two connections', async () => {
    const replies: Array<(res: ServerResponse) => void> = [
      (res) => answer(res, 200, 'text/plain', SESSION),
      (res) => answer(res, 200, 'application/json', '{"errcode":40029,"errmsg":"invalid code"}'),
      (res) => answer(res, 502, 'text/html', '<html><body>502 Bad Gateway</body></html>'),
      (res) => answer(res, 200, 'text/plain', 'x'.repeat(200_000)),
      (res) => answer(res, 200, 'text/plain', ''),
      (res) => answer(res, 404, 'application/json', '[1,2]'),
    ];
    let n = 0;
    const server = await serve((_req, res) => replies[n++ % replies.length]?.(res));
    const client = connect(server.url);
    for (let i = 0; i < replies.length * 4; i++) await client.code2Session(`code-${i}`).catch(() => {});
    expect(server.requests).toHaveLength(replies.length * 4);
    expect(server.connections()).toBeLessThanOrEqual(2);
    expect(server.closed()).toBe(0);
  });
});

describe('default transport: failures', () => {
  it('headers on time but a body that stalls → timeout, quickly, and the socket is closed', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('{"session_key":');
    });
    const started = Date.now();
    const error = await failure(connect(server.url, { requestTimeoutMs: 80 }).code2Session('c'));
    expect(error).toMatchObject({ code: 'timeout', retryable: true, errcode: null });
    expect(error.message).toBe('WeChat jscode2session failed: timed out after 80 ms');
    expect(Date.now() - started).toBeLessThan(1500);
    await until(() => server.requests[0]?.socketClosed() === true);
  });

  it('no answer at all → timeout, and the socket is closed', async () => {
    const server = await serve(() => {});
    const error = await failure(connect(server.url, { requestTimeoutMs: 50 }).code2Session('c'));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    await until(() => server.requests[0]?.socketClosed() === true);
  });

  it('a connection dropped in the middle of the body → network', async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 });
      res.write('{"session_key":', () => req.socket.destroy());
    });
    const error = await failure(connect(server.url).code2Session('c'));
    expect(error).toMatchObject({ code: 'network', retryable: true, errcode: null });
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('a refused connection → network, with no secret, code or URL in the error or its causes', async () => {
    const error = await failure(connect(await refusingUrl()).code2Session('the-login-code'));
    expect(error).toMatchObject({ code: 'network', retryable: true });
    const text = describeDeep(error);
    expect(text).toContain('ECONNREFUSED');
    for (const secret of [SECRET, 'the-login-code', 'js_code', 'jscode2session?']) expect(text).not.toContain(secret);
  });

  it('an answer longer than MAX_RESPONSE_BYTES → unexpected; reading stops there and the socket is closed', async () => {
    // streamed without a length, so the limit is found while reading, not from a header
    let written = 0;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const more = (): void => {
        while (written < 16 * MAX_RESPONSE_BYTES && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const error = await failure(connect(server.url, { requestTimeoutMs: 5000 }).code2Session('c'));
    expect(error).toMatchObject({ code: 'unexpected', retryable: false, endpoint: 'jscode2session' });
    expect(error.message).toBe(
      `WeChat jscode2session failed: unexpected response (HTTP 200, response body larger than ${MAX_RESPONSE_BYTES} bytes)`,
    );
    await until(() => server.requests[0]?.socketClosed() === true);
    // the server did not get to send it all: the client hung up
    expect(written).toBeLessThan(16 * MAX_RESPONSE_BYTES);
  });

  it('an answer of exactly MAX_RESPONSE_BYTES is read whole (and a 5xx that long stays retryable)', async () => {
    const padded = (status: number): string => {
      const head = `{"session_key":"tQY+38pdTVnAIWCBNiM1+A==","openid":"o1","status":${status},"pad":"`;
      return `${head}${'x'.repeat(MAX_RESPONSE_BYTES - head.length - 2)}"}`;
    };
    const server = await serve((req, res) => {
      if (req.url?.includes('js_code=big5xx')) return answer(res, 503, 'text/html', `${padded(503)} `);
      answer(res, 200, 'text/plain', padded(200));
    });
    expect(Buffer.byteLength(padded(200))).toBe(MAX_RESPONSE_BYTES);
    await expect(connect(server.url).code2Session('c')).resolves.toMatchObject({ openId: 'o1' });
    const error = await failure(connect(server.url).code2Session('big5xx'));
    expect(error).toMatchObject({ code: 'unexpected', retryable: true });
    expect(error.message).toContain(`HTTP 503, response body larger than ${MAX_RESPONSE_BYTES} bytes`);
  });

  it("the caller's abort during the call rejects with its reason and closes the socket", async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    const pending = connect(server.url).code2Session('c', { signal: controller.signal });
    await until(() => server.requests.length === 1);
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await until(() => server.requests[0]?.socketClosed() === true);
  });

  it('an already aborted signal rejects with its reason and sends nothing', async () => {
    const server = await serve((_req, res) => answer(res, 200, 'text/plain', SESSION));
    const reason = new Error('gone before we started');
    const pending = connect(server.url).code2Session('c', { signal: AbortSignal.abort(reason) });
    await expect(pending).rejects.toBe(reason);
    expect(server.requests).toHaveLength(0);
    expect(server.connections()).toBe(0);
  });
});

/** The URL of a port nothing listens on. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Every message, cause and own property of an error chain, as one text. */
function describeDeep(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    parts.push(String(current));
    if (typeof current === 'object') {
      for (const key of Object.getOwnPropertyNames(current)) {
        const value = (current as Record<string, unknown>)[key];
        if (typeof value === 'string' || typeof value === 'number') parts.push(`${key}=${value}`);
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Parity with fetch: for any status, content type and body, the default transport and an
// injected fetch (Node's own) give the same result or the same error.
// ---------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  contentType: string;
  body: Buffer;
}

function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => ({ ok: value }),
    (error: unknown) =>
      error instanceof WechatError
        ? {
            code: error.code,
            errcode: error.errcode,
            errmsg: error.errmsg,
            retryable: error.retryable,
            message: error.message,
          }
        : { thrown: String(error) },
  );
}

const jsonBody = fc.oneof(
  fc.record(
    {
      openid: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      session_key: fc.oneof(fc.string(), fc.constant('tQY+38pdTVnAIWCBNiM1+A==')),
      unionid: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
      errcode: fc.oneof(fc.constantFrom(0, -1, 40029, 40163, 45011, 99999), fc.string(), fc.double()),
      errmsg: fc.string(),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

const reply: fc.Arbitrary<Reply> = fc.record({
  status: fc.constantFrom(200, 201, 400, 404, 500, 502, 503),
  contentType: fc.constantFrom(
    'text/plain',
    'application/json',
    'application/json; encoding=utf-8',
    'text/html',
    'application/octet-stream',
  ),
  body: fc.oneof(
    jsonBody.map((value) => Buffer.from(JSON.stringify(value) ?? '')),
    jsonBody.map((value) => Buffer.from(`\ufeff${JSON.stringify(value) ?? ''}`)),
    fc.string({ unit: 'grapheme' }).map((text) => Buffer.from(text)),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    // valid JSON around invalid UTF-8 inside a string value
    fc
      .uint8Array({ minLength: 1, maxLength: 8 })
      .map((bytes) =>
        Buffer.concat([
          Buffer.from('{"openid":"'),
          Buffer.from(bytes.map((b) => b | 0x80)),
          Buffer.from('","session_key":"k"}'),
        ]),
      ),
  ),
});

describe('parity with fetch', () => {
  it('any status, content type and body: same result or same error as an injected fetch', async () => {
    let current: Reply = { status: 200, contentType: 'text/plain', body: Buffer.from(SESSION) };
    const server = await serve((_req, res) => answer(res, current.status, current.contentType, current.body));
    const viaDefault = connect(server.url);
    const viaFetch = connect(server.url, { fetch });
    await fc.assert(
      fc.asyncProperty(reply, async (next) => {
        current = next;
        const expected = await outcome(viaFetch.code2Session('c'));
        const actual = await outcome(viaDefault.code2Session('c'));
        expect(actual).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
