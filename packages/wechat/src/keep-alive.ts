import { Agent, fetch as undiciFetch } from 'undici';

/** Pooled keep-alive connections to WeChat: TLS handshakes are paid once per connection, not per call. */
const AGENT_OPTIONS = {
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  pipelining: 1,
} as const;

/** Most pooled connections to WeChat by default: at ~100 ms per call, 512 carry ~5,000 calls a second. */
export const DEFAULT_MAX_CONNECTIONS = 512;

/** A fetch bound to its own keep-alive undici Agent, and the way to close that agent. */
export function createKeepAliveFetch(connections: number = DEFAULT_MAX_CONNECTIONS): {
  fetch: typeof globalThis.fetch;
  close: () => Promise<void>;
} {
  const agent = new Agent({ ...AGENT_OPTIONS, connections });
  const fetch = ((input: string, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { fetch, close: () => agent.close() };
}
