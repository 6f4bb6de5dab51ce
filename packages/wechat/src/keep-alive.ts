// The default transport: undici's Agent holding keep-alive connections to
// WeChat, driven through its lowest-level call, `dispatch`, with a handler that
// collects the answer's bytes: no body stream, no async iterator, no promise
// per chunk. Of the clients measured in front of a 100 ms WeChat
// (bench/README.md), this one took the least CPU per call and answered about
// as soon as Node's own http client, which took 20–60% more CPU.
//
// Only undici's agent module is loaded, not the package's index: the index
// loads all of undici (fetch, WebSocket, caches, mocks, proxies), about 3 MiB
// of heap in every process for code that never runs. That path is internal to
// undici, so its version is pinned exactly (packages/wechat/package.json);
// keep-alive.test.ts fails on an upgrade that moves it.
import type { Dispatcher } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';
import {
  type Deadline,
  decodeBody,
  MAX_RESPONSE_BYTES,
  type RawAnswer,
  ResponseTooLargeError,
  type Transport,
} from './http.js';

/** Most pooled connections to WeChat by default: at ~100 ms per call, 512 carry ~5,000 calls a second. */
export const DEFAULT_MAX_CONNECTIONS = 512;

/**
 * How long an idle pooled connection is kept, in ms. A server that announces a
 * shorter `Keep-Alive: timeout=` is believed (undici closes the connection a
 * second before it), so a call is not sent on a connection the server is closing.
 */
const IDLE_TIMEOUT_MS = 30_000;

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
  /** Lets calls in flight finish, then closes every connection (once; again is a no-op); later calls reject with TransportClosedError. */
  close(): Promise<void>;
  /** Open connections, for tests and diagnostics. */
  sockets(): number;
}

export function createKeepAliveTransport(options: KeepAliveOptions = {}): KeepAliveTransport {
  const agent = new Agent({
    connections: options.connections ?? DEFAULT_MAX_CONNECTIONS,
    pipelining: 1,
    keepAliveTimeout: IDLE_TIMEOUT_MS,
    keepAliveMaxTimeout: 600_000,
    ...(options.ca === undefined ? {} : { connect: { ca: options.ca } }),
  });
  let closed = false;

  const transport: Transport = (request, deadline) =>
    new Promise<RawAnswer>((resolve, reject) => {
      if (closed) throw new TransportClosedError();
      if (deadline.aborted) throw deadline.reason;
      const { url } = request;
      agent.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
        },
        new AnswerCollector(deadline, resolve, reject),
      );
    });

  return {
    transport,
    async close() {
      if (closed) return;
      closed = true;
      await agent.close();
    },
    sockets: () =>
      Object.values(agent.stats).reduce(
        (n, { connected }) => n + (typeof connected === 'number' ? connected : +connected),
        0,
      ),
  };
}

/**
 * Collects one answer from undici's handler calls and settles once: with the
 * status and the whole body, or with the first failure. A failure part-way
 * (the deadline, a body past `MAX_RESPONSE_BYTES`) aborts the request, and
 * undici closes that connection rather than pool it.
 */
class AnswerCollector implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | null = null;
  #status = 0;
  #bytes = 0;
  readonly #chunks: Buffer[] = [];
  #settled = false;
  readonly #onAbort = (): void => this.#fail(this.deadline.reason);

  constructor(
    private readonly deadline: Deadline,
    private readonly resolve: (answer: RawAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    deadline.once('abort', this.#onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // the deadline fired while the call waited for a connection
    if (this.#settled) controller.abort(asError(this.deadline.reason));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.byteLength;
    if (this.#bytes > MAX_RESPONSE_BYTES) this.#fail(new ResponseTooLargeError(this.#status));
    else this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.deadline.off('abort', this.#onAbort);
    this.resolve({ status: this.#status, text: decodeBody(this.#chunks) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.deadline.off('abort', this.#onAbort);
    this.reject(error);
    if (this.#controller !== null && !this.#controller.aborted) this.#controller.abort(asError(error));
  }
}

/** undici aborts with an Error; the reason the caller sees is the original one, whatever it is. */
const asError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error('aborted'));
