/**
 * An existing app (a small shop) that mounts the whole wxlogin service under
 * `/auth` and protects its own routes with wxlogin access tokens, checked
 * locally against the service's JWKS.
 */
import {
  type AccessTokenVerifier,
  type Config,
  createAccessTokenVerifier,
  type RuntimeDeps,
  wxlogin,
} from '@wxlogin/server';
import Fastify, { type FastifyInstance } from 'fastify';

export interface ShopOptions {
  config: Config;
  deps?: RuntimeDeps;
  /** Where this app's own JWKS is reachable (known once it listens). */
  jwksUrl: () => string;
}

export async function buildShop(options: ShopOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(wxlogin, {
    prefix: '/auth',
    config: options.config,
    ...(options.deps ? { deps: options.deps } : {}),
  });

  let verify: AccessTokenVerifier | null = null;
  app.get('/orders', async (request, reply) => {
    verify ??= createAccessTokenVerifier({ jwksUrl: options.jwksUrl() });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) return reply.code(401).send({ error: 'login first' });
    try {
      const user = await verify(token);
      return { userId: user.userId, orders: [] };
    } catch {
      return reply.code(401).send({ error: 'login again' });
    }
  });
  return app;
}
