import { Agent, fetch as undiciFetch } from 'undici';

/** Pooled keep-alive connections to WeChat: TLS handshakes are paid once per connection, not per call. */
const AGENT_OPTIONS = {
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
  connections: 128,
  pipelining: 1,
} as const;

/** A fetch bound to its own keep-alive undici Agent, and the way to close that agent. */
export function createKeepAliveFetch(): { fetch: typeof globalThis.fetch; close: () => Promise<void> } {
  const agent = new Agent(AGENT_OPTIONS);
  const fetch = ((input: string, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof globalThis.fetch;
  return { fetch, close: () => agent.close() };
}
