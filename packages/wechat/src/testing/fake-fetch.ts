/** A scripted stand-in for WeChat's HTTP API, injected as `fetch` in unit tests. */

export interface FakeRequest {
  method: string;
  url: URL;
  path: string;
  /** parsed JSON body of a POST, else undefined */
  body: unknown;
}

/** What a route answers: a body (JSON value or raw text), a hang (never answers) or a network failure. */
export type FakeReply =
  | { json: unknown; status?: number }
  | { text: string; status?: number; contentType?: string }
  | { hang: true }
  | { network: true };

export type FakeRoute = (request: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeWechat {
  fetch: typeof globalThis.fetch;
  requests: FakeRequest[];
  /** requests received for a path such as '/cgi-bin/stable_token' */
  count(path: string): number;
}

export const TOKEN_PATHS = ['/cgi-bin/stable_token', '/cgi-bin/token'] as const;

export function fakeWechat(routes: Record<string, FakeRoute>): FakeWechat {
  const requests: FakeRequest[] = [];
  const fetch = async (input: unknown, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const request: FakeRequest = { method: init?.method ?? 'GET', url, path: url.pathname, body };
    requests.push(request);
    const route = routes[url.pathname];
    const reply: FakeReply = route ? await route(request) : { json: { errcode: 40066, errmsg: 'invalid url' } };
    if ('hang' in reply) return new Promise<Response>(() => {});
    if ('network' in reply) throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
    if ('json' in reply) {
      return new Response(JSON.stringify(reply.json), {
        status: reply.status ?? 200,
        headers: { 'content-type': 'application/json' },
      });
    }
    return new Response(reply.text, {
      status: reply.status ?? 200,
      headers: { 'content-type': reply.contentType ?? 'text/plain' },
    });
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
  };
}

/** A token route that issues `ACCESS-1`, `ACCESS-2`, … (or always the same token with `fixed`). */
export function issuingTokens(options: { expiresIn?: number; fixed?: string; delayMs?: number } = {}): FakeRoute {
  let issued = 0;
  return async () => {
    issued++;
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    return { json: { access_token: options.fixed ?? `ACCESS-${issued}`, expires_in: options.expiresIn ?? 7200 } };
  };
}

export const APP_ID = 'wx0123456789abcdef';
export const SECRET = '0123456789abcdef0123456789abcdef';
