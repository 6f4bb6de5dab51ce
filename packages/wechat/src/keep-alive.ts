/**
 * The default transport: Node's own `http`/`https` clients on keep-alive
 * Agents, so a connection (and its TLS handshake) to WeChat serves call after
 * call. Of the clients measured for a login in front of a 100 ms WeChat
 * (bench/README.md), this one answered soonest: undici's dispatcher added
 * 1–2 ms to the median and ~9 MiB to the resident memory.
 */

import { once } from 'node:events';
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import {
  type Deadline,
  decodeBody,
  MAX_RESPONSE_BYTES,
  type OutgoingRequest,
  type RawAnswer,
  ResponseTooLargeError,
  type Transport,
} from './http.js';

/** Most pooled connections to WeChat by default: at ~100 ms per call, 512 carry ~5,000 calls a second. */
export const DEFAULT_MAX_CONNECTIONS = 512;

/**
 * How long an idle pooled connection is kept, in ms. A server that announces a
 * shorter `Keep-Alive: timeout=` is believed (Node's Agent closes the socket
 * a second before it), so a call is not sent on a connection the server is
 * closing.
 */
export const IDLE_TIMEOUT_MS = 30_000;

/** A call after `close()`: the pooled connections are gone. */
export class TransportClosedError extends Error {
  constructor() {
    super('the WeChat client is closed');
    this.name = 'TransportClosedError';
  }
}

export interface KeepAliveOptions {
  /** most connections per origin; calls beyond them wait for a free one. @default DEFAULT_MAX_CONNECTIONS */
  connections?: number | undefined;
  /** trusted certificates for `https:` instead of Node's bundled ones (a private gateway; tests). */
  ca?: string | Buffer | undefined;
}

/** A keep-alive transport and the way to close its connections. */
export interface KeepAliveTransport {
  transport: Transport;
  /** Destroys every pooled connection; calls made afterwards reject with TransportClosedError. */
  close(): Promise<void>;
  /** Open connections (pooled and in use), for tests and diagnostics. */
  sockets(): number;
}

export function createKeepAliveTransport(options: KeepAliveOptions = {}): KeepAliveTransport {
  const connections = options.connections ?? DEFAULT_MAX_CONNECTIONS;
  const agentOptions = {
    keepAlive: true,
    maxSockets: connections,
    maxFreeSockets: connections,
    // the most recently used connection first, so that connections a burst opened go idle and time out
    scheduling: 'lifo',
    timeout: IDLE_TIMEOUT_MS,
  } as const;
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent({ ...agentOptions, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  let closed = false;

  const transport: Transport = (request, deadline) =>
    new Promise<RawAnswer>((resolve, reject) => {
      if (closed) throw new TransportClosedError();
      if (deadline.aborted) throw deadline.reason;
      exchange(request, deadline, request.url.protocol === 'https:' ? https : http, resolve, reject);
    });

  return {
    transport,
    async close() {
      closed = true;
      const open = [...socketsOf(http), ...socketsOf(https)];
      const gone = open.map((socket) => (socket.closed ? null : once(socket, 'close'))).filter((p) => p !== null);
      http.destroy();
      https.destroy();
      await Promise.all(gone);
    },
    sockets: () => socketsOf(http).length + socketsOf(https).length,
  };
}

/** The agent's connections, in use and pooled. */
function socketsOf(agent: HttpAgent): Socket[] {
  return [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)].flatMap((list) => list ?? []);
}

/** Sends one request on `agent` and settles once: with the whole answer, or with the first failure. */
function exchange(
  request: OutgoingRequest,
  deadline: Deadline,
  agent: HttpAgent,
  resolve: (answer: RawAnswer) => void,
  reject: (error: unknown) => void,
): void {
  const { url } = request;
  const headers =
    request.body === undefined
      ? request.headers
      : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const outgoing: ClientRequest = send({
    agent,
    // an IPv6 literal is bracketed in a URL, not in a host name
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    method: request.method,
    headers,
  });

  let settled = false;
  const fail = (error: unknown): void => {
    if (settled) return;
    settled = true;
    deadline.off('abort', onAbort);
    reject(error);
    // the connection is not reusable once a call failed part-way: close it rather than pool it
    outgoing.destroy();
  };
  const onAbort = (): void => fail(deadline.reason);
  deadline.once('abort', onAbort);
  outgoing.on('error', fail);
  outgoing.on('response', (response: IncomingMessage) => {
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on('data', (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > MAX_RESPONSE_BYTES) fail(new ResponseTooLargeError(status));
      else chunks.push(chunk);
    });
    // a connection dropped mid-body: Node's answer emits 'error' (ECONNRESET, "aborted"), never 'end'
    response.on('error', fail);
    response.on('end', () => {
      if (settled) return;
      settled = true;
      deadline.off('abort', onAbort);
      resolve({ status, text: decodeBody(chunks) });
    });
  });
  outgoing.end(request.body);
}
