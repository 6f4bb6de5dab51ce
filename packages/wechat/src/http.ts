/**
 * One HTTP attempt against WeChat: timeout, body read as text, JSON parse,
 * errcode check and shape check. Every failure leaves as a WechatError; the
 * request URL (which carries the secret or the access token) is never put in
 * an error or an event.
 */
import { EventEmitter } from 'node:events';
import { errorFromErrcode, type WechatEndpoint, WechatError, type WechatErrorCode } from './errors.js';

/** A plain JSON object as WeChat sends it. */
export type WireObject = Record<string, unknown>;

/** The per-attempt observer event (see `WechatClientOptions.onCall`). */
export interface CallEvent {
  endpoint: WechatEndpoint;
  durationMs: number;
  outcome: 'ok' | WechatErrorCode;
  errcode: number | null;
}

/**
 * Largest answer read from WeChat, in bytes. Its JSON answers are a few hundred
 * bytes (a phone number, a session); anything near this is not WeChat speaking,
 * and reading it whole would let a broken gateway or a hostile network fill the
 * service's memory.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** An answer body longer than `MAX_RESPONSE_BYTES`: reading stopped there and the connection was closed. */
export class ResponseTooLargeError extends Error {
  constructor(readonly status: number) {
    super(`response body larger than ${MAX_RESPONSE_BYTES} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

const utf8 = new TextDecoder('utf-8');

/** A body's bytes as UTF-8 text, a leading BOM dropped and invalid bytes replaced (as fetch's `text()` does). */
export function decodeBody(chunks: readonly Uint8Array[]): string {
  return utf8.decode(chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks));
}

/**
 * Reads a body to its end as UTF-8 text (see `decodeBody`), or rejects with
 * ResponseTooLargeError as soon as it passes `MAX_RESPONSE_BYTES` (leaving the
 * loop ends the stream, which closes its socket).
 */
export async function readBodyText(status: number, body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > MAX_RESPONSE_BYTES) throw new ResponseTooLargeError(status);
    chunks.push(chunk);
  }
  return decodeBody(chunks);
}

/** What one exchange got back: the HTTP status and the whole body decoded as UTF-8 (a leading BOM dropped). */
export interface RawAnswer {
  status: number;
  text: string;
}

/** One HTTP request as the transport sends it; `url` carries the secret or the access token. */
export interface OutgoingRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** JSON text of a POST, else undefined */
  body: string | undefined;
}

/**
 * Sends one request and reads its whole answer. Rejects on any transport failure,
 * with ResponseTooLargeError past `MAX_RESPONSE_BYTES`, and promptly once
 * `deadline` fires (then with `deadline.reason`, or any error).
 */
export type Transport = (request: OutgoingRequest, deadline: Deadline) => Promise<RawAnswer>;

/** What every endpoint call needs; built once by the client. */
export interface HttpContext {
  readonly baseUrl: string;
  readonly transport: Transport;
  readonly requestTimeoutMs: number;
  readonly now: () => number;
  readonly onCall?: ((event: CallEvent) => void) | undefined;
}

export interface WechatRequest<T> {
  endpoint: WechatEndpoint;
  method: 'GET' | 'POST';
  /** path below the base URL, e.g. `/sns/jscode2session` */
  path: string;
  query: Record<string, string>;
  /** JSON body for POST */
  body?: unknown;
  /** maps a successful wire object to the result; `null` when the shape is wrong */
  parse: (wire: WireObject) => T | null;
  /** the caller's own cancellation; its reason is rethrown as is */
  signal?: AbortSignal | undefined;
}

/**
 * The end of one attempt: fires `abort` when the timeout elapses or the caller's
 * signal aborts, whichever comes first. It is an EventEmitter with `aborted` and
 * `reason`, and costs far less per call than `AbortSignal.timeout` combined with
 * `AbortSignal.any`.
 */
export class Deadline extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  /** true when the timeout fired first */
  timedOut = false;
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort: (() => void) | undefined;

  constructor(timeoutMs: number, caller: AbortSignal | undefined) {
    super();
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#fire(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    // like AbortSignal.timeout: a pending attempt alone does not keep the process alive
    this.#timer.unref();
    this.#caller = caller;
    if (caller === undefined) return;
    if (caller.aborted) {
      this.#fire(caller.reason);
      return;
    }
    this.#onCallerAbort = () => this.#fire(caller.reason);
    caller.addEventListener('abort', this.#onCallerAbort, { once: true });
  }

  #fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  /** Stops the timer and the caller's listener; the attempt is over. */
  dispose(): void {
    clearTimeout(this.#timer);
    if (this.#onCallerAbort) this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }
}

/** A transport over a WHATWG `fetch` (an injected one, for tests or a custom HTTP stack). */
export function fetchTransport(fetchImpl: typeof globalThis.fetch): Transport {
  return (request, deadline) => {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(deadline.reason);
    if (deadline.aborted) onAbort();
    else deadline.once('abort', onAbort);
    const init: RequestInit = { method: request.method, signal: controller.signal, headers: request.headers };
    if (request.body !== undefined) init.body = request.body;
    // Raced against the deadline as well, so an injected fetch that ignores `signal` still times out.
    return raceAbort(
      deadline,
      fetchImpl(request.url.href, init).then(async (response) => ({
        status: response.status,
        text: response.body === null ? '' : await readBodyText(response.status, response.body),
      })),
    ).finally(() => deadline.off('abort', onAbort));
  };
}

/** Performs one attempt. @throws WechatError (or the caller's abort reason when `signal` fired) */
export async function callWechat<T>(ctx: HttpContext, request: WechatRequest<T>): Promise<T> {
  const started = ctx.now();
  try {
    const result = await attempt(ctx, request);
    report(ctx, request.endpoint, started, 'ok', null);
    return result;
  } catch (error) {
    if (error instanceof WechatError) report(ctx, request.endpoint, started, error.code, error.errcode);
    throw error;
  }
}

function report(
  ctx: HttpContext,
  endpoint: WechatEndpoint,
  started: number,
  outcome: CallEvent['outcome'],
  errcode: number | null,
): void {
  if (!ctx.onCall) return;
  try {
    ctx.onCall({ endpoint, durationMs: Math.max(0, ctx.now() - started), outcome, errcode });
  } catch {
    // an observer must not change the outcome of a call
  }
}

async function attempt<T>(ctx: HttpContext, request: WechatRequest<T>): Promise<T> {
  const { endpoint } = request;
  const url = new URL(`${ctx.baseUrl}${request.path}`);
  for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
  const outgoing: OutgoingRequest =
    request.body === undefined
      ? { url, method: request.method, headers: { accept: 'application/json' }, body: undefined }
      : {
          url,
          method: request.method,
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body: JSON.stringify(request.body),
        };

  const deadline = new Deadline(ctx.requestTimeoutMs, request.signal);
  let status: number;
  let text: string;
  try {
    ({ status, text } = await ctx.transport(outgoing, deadline));
  } catch (error) {
    if (request.signal?.aborted && !deadline.timedOut) throw request.signal.reason;
    if (error instanceof ResponseTooLargeError) throw unexpected(endpoint, error.status, error.message, error);
    if (deadline.timedOut) {
      throw new WechatError(`WeChat ${endpoint} failed: timed out after ${ctx.requestTimeoutMs} ms`, {
        code: 'timeout',
        endpoint,
        retryable: true,
        cause: error,
      });
    }
    throw new WechatError(`WeChat ${endpoint} failed: network error`, {
      code: 'network',
      endpoint,
      retryable: true,
      cause: error,
    });
  } finally {
    deadline.dispose();
  }
  const wire = parseObject(text);
  if (wire === null) throw unexpected(endpoint, status, 'body is not a JSON object');
  const errcode = wire.errcode;
  if (errcode !== undefined && errcode !== 0) {
    if (typeof errcode !== 'number' || !Number.isInteger(errcode)) {
      throw unexpected(endpoint, status, 'errcode is not an integer');
    }
    throw errorFromErrcode(endpoint, errcode, wire.errmsg);
  }
  let result: T | null;
  try {
    result = request.parse(wire);
  } catch (error) {
    throw unexpected(endpoint, status, 'response has an unexpected shape', error);
  }
  if (result === null) throw unexpected(endpoint, status, 'response has an unexpected shape');
  return result;
}

function unexpected(endpoint: WechatEndpoint, status: number, what: string, cause?: unknown): WechatError {
  // A 5xx page comes from a gateway in front of WeChat: transient, like a network failure.
  return new WechatError(`WeChat ${endpoint} failed: unexpected response (HTTP ${status}, ${what})`, {
    code: 'unexpected',
    endpoint,
    retryable: status >= 500,
    cause,
  });
}

function parseObject(text: string): WireObject | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as WireObject) : null;
}

function raceAbort<T>(deadline: Deadline, work: Promise<T>): Promise<T> {
  if (deadline.aborted) {
    // the work is abandoned: its late failure must not surface as an unhandled rejection
    work.catch(() => {});
    return Promise.reject(deadline.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(deadline.reason);
    deadline.once('abort', onAbort);
    work.then(
      (value) => {
        deadline.off('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        deadline.off('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Reads a non-empty string field. */
export function wireString(wire: WireObject, key: string): string | null {
  const value = wire[key];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Reads a finite number field. */
export function wireNumber(wire: WireObject, key: string): number | null {
  const value = wire[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Reads a nested object field. */
export function wireObject(wire: WireObject, key: string): WireObject | null {
  const value = wire[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as WireObject) : null;
}
