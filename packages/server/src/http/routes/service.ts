import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';

export const serviceRoutes: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (app, { runtime }) => {
  const jwk = Type.Object({}, { additionalProperties: true });

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        summary: 'Public keys of access tokens',
        tags: ['service'],
        response: { 200: Type.Object({ keys: Type.Array(jwk) }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return runtime.tokens.jwks();
    },
  );

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is alive',
        tags: ['service'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'The stores are reachable',
        tags: ['service'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), 503: { $ref: 'ErrorResponse#' } },
      },
    },
    async () => {
      const timeout = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error('readiness check timed out')), 2000).unref();
      });
      try {
        await Promise.race([Promise.all([runtime.store.ping(), runtime.state.ping()]), timeout]);
      } catch (cause) {
        throw new ApiError('service_unavailable', 'a store is unreachable', { retryAfterSeconds: 1, cause });
      }
      return { status: 'ready' as const };
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(runtime.metrics.registry.contentType);
    return runtime.metrics.registry.metrics();
  });
};
