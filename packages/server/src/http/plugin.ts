/**
 * The whole service as one encapsulated Fastify plugin, so it can be mounted
 * into an existing app (under a prefix) as well as served alone by `buildApp`.
 * Its error handling, validation, headers and rate limits apply only inside it.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import Fastify, { type FastifyPluginAsync } from 'fastify';
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
}

/**
 * Validation: wrong types are refused (no coercion); unknown fields are ignored
 * (stripped before the handler sees them), so newer clients keep working.
 */
function createValidator(): Ajv {
  return new Ajv({ coerceTypes: false, removeAdditional: true, useDefaults: true, allErrors: false, strict: false });
}

const HELMET_OPTIONS = {
  contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'same-site' },
} as const;

/** Headers of the HTTP exchange itself, not of helmet's policy. */
const TRANSPORT_HEADERS = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);

/**
 * The headers helmet sets with our options. They do not depend on the request,
 * but @fastify/helmet rebuilds helmet's middleware (re-parsing the CSP
 * directives) on every request; so they are taken once from a throwaway
 * instance and then set as a constant.
 */
async function securityHeaders(): Promise<Record<string, string>> {
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

export const wxlogin: FastifyPluginAsync<WxloginPluginOptions> = async (app, options) => {
  const runtime = options.runtime ?? (await createRuntime(options.config, options.deps ?? {}, app.log));
  if (options.runtime === undefined) app.addHook('onClose', async () => runtime.close());
  options.onRuntime?.(runtime);
  const { config } = runtime;

  const ajv = createValidator();
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  installErrorHandling(app, { notFound: app.prefix !== '' });
  app.addSchema(ErrorResponse);

  // Every response carries the same security headers: computed once here, set with the request id in one hook.
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...(await securityHeaders()) };
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.headers(headers);
    done();
  });
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
