// The two parts of undici the client uses, not the package's index: the index
// loads all of undici (fetch, WebSocket, caches, mocks, proxies), about 3 MiB
// of heap in every process for code that never runs. These paths are internal
// to undici, so its version is pinned exactly (packages/wechat/package.json);
// keep-alive.test.ts fails on an upgrade that moves them.
import type { Dispatcher } from 'undici';
import request from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';

/** Pooled keep-alive connections to WeChat: TLS handshakes are paid once per connection, not per call. */
const AGENT_OPTIONS = {
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  pipelining: 1,
} as const;

/** Most pooled connections to WeChat by default: at ~100 ms per call, 512 carry ~5,000 calls a second. */
export const DEFAULT_MAX_CONNECTIONS = 512;

/** The one call of undici's dispatcher API the client makes. */
export type RequestDispatcher = Pick<Dispatcher, 'request'>;

/** A keep-alive undici Agent holding at most `connections` sockets per origin, and the way to close it. */
export function createKeepAliveAgent(connections: number = DEFAULT_MAX_CONNECTIONS): {
  dispatcher: RequestDispatcher;
  close: () => Promise<void>;
} {
  const agent = new Agent({ ...AGENT_OPTIONS, connections });
  const dispatcher = {
    request: (options: Dispatcher.RequestOptions) => request.call(agent, options),
  } as RequestDispatcher;
  return { dispatcher, close: () => agent.close() };
}
