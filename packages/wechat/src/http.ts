/**
 * One HTTP attempt against WeChat: timeout, body read as text, JSON parse,
 * errcode check and shape check. Every failure leaves as a WechatError; the
 * request URL (which carries the secret or the access token) is never put in
 * an error or an event.
 */
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

/** What every endpoint call needs; built once by the client. */
export interface HttpContext {
  readonly baseUrl: string;
  readonly fetch: typeof globalThis.fetch;
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

  const timeout = AbortSignal.timeout(ctx.requestTimeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const init: RequestInit = { method: request.method, signal, headers: { accept: 'application/json' } };
  if (request.body !== undefined) {
    init.body = JSON.stringify(request.body);
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
  }

  let status: number;
  let text: string;
  try {
    // Raced against the signal as well, so an injected fetch that ignores `signal` still times out.
    [status, text] = await raceAbort(
      signal,
      ctx.fetch(url.href, init).then(async (response) => [response.status, await response.text()] as const),
    );
  } catch (error) {
    if (request.signal?.aborted && !timeout.aborted) throw request.signal.reason;
    if (timeout.aborted) {
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

function raceAbort<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
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
