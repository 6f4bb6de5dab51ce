/**
 * The whole service as one encapsulated Fastify plugin, so it can be mounted
 * into an existing app (under a prefix) as well as served alone by `buildApp`.
 * Its error handling, validation, headers and rate limits apply only inside it.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/config.js';
import { ApiError } from '../errors.js';
import { createRuntime, type Runtime, type RuntimeDeps } from '../runtime.js';
import { installErrorHandling } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { meRoutes } from './routes/me.js';
import { serviceRoutes } from './routes/service.js';
import { ErrorResponse } from './schemas.js';

export interface WxloginPluginOptions {
  config: Config;
  deps?: RuntimeDeps;
  /** An already created runtime (then the caller closes it); by default the plugin creates and closes its own. */
  runtime?: Runtime;
  /** Called with the runtime once it exists (for the CLI and tests). */
  onRuntime?: (runtime: Runtime) => void;
  /**
   * Whether the plugin sets `X-Request-Id` and the security headers
   * (`apiSecurityHeaders`) on its own responses. Set false only when the
   * enclosing app already sets them on every response, as `buildApp` does.
   * @default true
   */
  securityHeaders?: boolean;
}

/**
 * Validation: wrong types are refused (no coercion); unknown fields are ignored
 * (stripped before the handler sees them), so newer clients keep working.
 */
function createValidator(): Ajv {
  return new Ajv({ coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false, strict: false });
}

/**
 * The security headers of a JSON API (OWASP's REST Security Cheat Sheet): a CSP
 * that allows nothing and no framing, no framing for old browsers either, HSTS,
 * no MIME sniffing, no referrer, and cross-origin reads of responses refused.
 * Helmet's headers for HTML documents (COOP, Origin-Agent-Cluster, DNS prefetch,
 * IE download and XSS-filter switches, Flash/PDF policies) are turned off: no
 * response of this service is a document, and every byte of header is sent
 * with every request on the hot path. `useDefaults: false`: helmet would merge
 * its whole default CSP for documents into these two directives.
 */
const HELMET_OPTIONS = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'same-site' },
  frameguard: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  dnsPrefetchControl: false,
  ieNoOpen: false,
  permittedCrossDomainPolicies: false,
  xssFilter: false,
} as const;

/** Headers of the HTTP exchange itself, not of helmet's policy. */
const TRANSPORT_HEADERS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);

/**
 * The headers helmet sets with our options. They do not depend on the request,
 * but @fastify/helmet rebuilds helmet's middleware (re-parsing the CSP
 * directives) on every request; so they are taken once from a throwaway
 * instance and then set as a constant.
 */
async function helmetHeaders(): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(helmet, { global: true, ...HELMET_OPTIONS });
    probe.get('/', async () => '');
    const response = await probe.inject({ method: 'GET', url: '/' });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (!TRANSPORT_HEADERS.has(name) && typeof value === 'string') headers[name] = value;
    }
    return headers;
  } finally {
    await probe.close();
  }
}

/** The headers every response of the service carries: `Cache-Control: no-store` and a JSON API's security headers. */
export async function apiSecurityHeaders(): Promise<Readonly<Record<string, string>>> {
  return Object.freeze({ 'cache-control': 'no-store', ...(await helmetHeaders()) });
}

/**
 * Sets `X-Request-Id` and the headers of `apiSecurityHeaders` on every response
 * of `app` (its scope: the whole app at the root, the plugin's routes inside it),
 * with one hook.
 */
export async function stampResponses(app: FastifyInstance): Promise<void> {
  const headers = await apiSecurityHeaders();
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.headers(headers);
    done();
  });
}

export const wxlogin: FastifyPluginAsync<WxloginPluginOptions> = async (app, options) => {
  const runtime = options.runtime ?? (await createRuntime(options.config, options.deps ?? {}, app.log));
  if (options.runtime === undefined) app.addHook('onClose', async () => runtime.close());
  options.onRuntime?.(runtime);
  const { config } = runtime;

  const ajv = createValidator();
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  installErrorHandling(app, { notFound: app.prefix !== '' });
  app.addSchema(ErrorResponse);

  // Every response carries the same security headers: computed once, set with the request id in one hook.
  if (options.securityHeaders !== false) await stampResponses(app);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...config.corsOrigins], methods: ['GET', 'POST', 'PATCH'], maxAge: 600 });
  }
  await app.register(rateLimit, {
    global: false,
    ...(options.deps?.rateLimitRedis ? { redis: options.deps.rateLimitRedis, nameSpace: 'wxlogin:rl:' } : {}),
    errorResponseBuilder: (_request, context) =>
      new ApiError('rate_limited', 'too many requests from this address; retry later', {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });

  await app.register(serviceRoutes, { runtime });
  await app.register(authRoutes, { runtime });
  await app.register(meRoutes, { runtime });
  await app.register(adminRoutes, { runtime });
};
