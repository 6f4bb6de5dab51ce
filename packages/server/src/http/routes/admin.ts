import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import { toProfile } from '../../services/auth-service.js';
import { ProfileResponse } from '../schemas.js';

function tokenMatches(header: string | undefined, expected: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '', 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  return presented.length === wanted.length && timingSafeEqual(presented, wanted);
}

/** `/v1/admin/*`: operator actions behind `WXLOGIN_ADMIN_TOKEN` (disabled when it is not set). */
export const adminRoutes: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (app, { runtime }) => {
  const { adminToken } = runtime.config;
  app.addHook('onRequest', async (request) => {
    if (adminToken === null || !tokenMatches(request.headers.authorization, adminToken)) {
      throw new ApiError('forbidden', 'the admin API needs the admin token');
    }
  });
  const security = [{ admin: [] }];
  const error = { 403: { $ref: 'ErrorResponse#' }, 404: { $ref: 'ErrorResponse#' } };

  app.get(
    '/v1/admin/users/:userId',
    {
      schema: {
        summary: 'Read a user',
        tags: ['admin'],
        security,
        params: Type.Object({ userId: Type.String({ maxLength: 64 }) }),
        response: { 200: ProfileResponse, ...error },
      },
    },
    async (request) => {
      const user = await runtime.store.getUser(request.params.userId);
      if (user === null) throw new ApiError('not_found', 'no such user');
      return toProfile(user);
    },
  );

  app.post(
    '/v1/admin/sessions/:sessionId/revoke',
    {
      schema: {
        summary: 'Revoke a session',
        tags: ['admin'],
        security,
        params: Type.Object({ sessionId: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), ...error },
      },
    },
    async (request, reply) => {
      if (!(await runtime.service.revoke(request.params.sessionId))) throw new ApiError('not_found', 'no such session');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/admin/keys/rotate',
    {
      schema: {
        summary: 'Rotate the access-token signing key',
        tags: ['admin'],
        security,
        response: { 200: Type.Object({ kid: Type.String() }), ...error },
      },
    },
    async () => ({ kid: await runtime.tokens.rotate() }),
  );
};
