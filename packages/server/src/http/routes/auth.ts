import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Runtime } from '../../runtime.js';
import {
  DecryptResponse,
  EncryptedBody,
  errorResponses,
  LoginBody,
  RefreshBody,
  SessionQuery,
  SessionResponse,
  TokenResponse,
} from '../schemas.js';

export const authRoutes: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (app, { runtime }) => {
  const { service, config } = runtime;
  const perIp = (max: number): { rateLimit: RateLimitOptions | false } => ({
    rateLimit: max > 0 ? { max, timeWindow: 60_000 } : false,
  });

  app.post(
    '/v1/auth/login',
    {
      config: perIp(config.rateLimitLoginPerMinute),
      schema: {
        summary: 'Exchange a wx.login code for wxlogin tokens',
        description:
          'Calls WeChat code2Session once per code (concurrent requests with the same code share the outcome), creates or finds the user, stores the session key sealed, and issues tokens. A redeemed code answers 400 code_used.',
        tags: ['auth'],
        body: LoginBody,
        response: { 200: TokenResponse, ...errorResponses, 403: { $ref: 'ErrorResponse#' } },
      },
    },
    async (request) => service.login(request.body),
  );

  app.post(
    '/v1/auth/refresh',
    {
      config: perIp(config.rateLimitRefreshPerMinute),
      schema: {
        summary: 'Exchange a refresh token for a new token pair',
        description: 'The presented refresh token is spent. Presenting a spent one again revokes the whole session.',
        tags: ['auth'],
        body: RefreshBody,
        response: { 200: TokenResponse, ...errorResponses },
      },
    },
    async (request) => service.refresh(request.body.refreshToken),
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: {
        summary: 'Revoke the session of the presented access token',
        tags: ['auth'],
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), 401: { $ref: 'ErrorResponse#' } },
      },
    },
    async (request, reply) => {
      await service.logout(await service.authenticate(request.headers.authorization));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/auth/session',
    {
      schema: {
        summary: 'Describe the current session',
        description: 'With ?check=wechat, asks WeChat (checkSessionKey) whether the stored session key is still valid.',
        tags: ['auth'],
        security: [{ bearer: [] }],
        querystring: SessionQuery,
        response: { 200: SessionResponse, ...errorResponses },
      },
    },
    async (request) => {
      const caller = await service.authenticate(request.headers.authorization);
      return service.session(caller, request.query.check === 'wechat');
    },
  );

  app.post(
    '/v1/auth/decrypt',
    {
      schema: {
        summary: 'Decrypt open data (share info, WeRun…) under the session key',
        tags: ['user data'],
        security: [{ bearer: [] }],
        body: EncryptedBody,
        response: { 200: DecryptResponse, ...errorResponses },
      },
    },
    async (request) => {
      const caller = await service.authenticate(request.headers.authorization);
      return { data: await service.decryptForCaller(caller, request.body) };
    },
  );
};
