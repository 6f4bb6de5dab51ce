import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import {
  errorResponses,
  PhoneBody,
  PhoneResponse,
  ProfileResponse,
  ProfileUpdateBody,
  UserInfoBody,
} from '../schemas.js';

export const meRoutes: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (app, { runtime }) => {
  const { service } = runtime;
  const security = [{ bearer: [] }];

  app.get(
    '/v1/me',
    {
      schema: {
        summary: "The caller's profile",
        tags: ['user data'],
        security,
        response: { 200: ProfileResponse, ...errorResponses },
      },
    },
    async (request) => service.profile(await service.authenticate(request.headers.authorization)),
  );

  // PUT is the same partial update: the mini program's wx.request cannot send PATCH
  for (const method of ['PATCH', 'PUT'] as const) {
    app.route({
      method,
      url: '/v1/me',
      schema: {
        summary:
          method === 'PATCH'
            ? 'Fill in nickname and avatar (the avatar/nickname fill-in components)'
            : 'Same as PATCH /v1/me (wx.request has no PATCH method)',
        tags: ['user data'],
        security,
        body: ProfileUpdateBody,
        response: { 200: ProfileResponse, ...errorResponses },
      },
      handler: async (request) =>
        service.updateProfile(await service.authenticate(request.headers.authorization), request.body),
    });
  }

  app.post(
    '/v1/me/userinfo',
    {
      schema: {
        summary: 'Verify and store user info from wx.getUserProfile / wx.getUserInfo',
        description:
          "Checks signature == sha1(rawData + session_key); decrypts encryptedData when given and checks the watermark's appid.",
        tags: ['user data'],
        security,
        body: UserInfoBody,
        response: { 200: ProfileResponse, ...errorResponses },
      },
    },
    async (request) => service.submitUserInfo(await service.authenticate(request.headers.authorization), request.body),
  );

  app.post(
    '/v1/me/phone',
    {
      schema: {
        summary: "Bind the user's phone number",
        description: 'Body { code } from the phone button (current API), or { encryptedData, iv } from older clients.',
        tags: ['user data'],
        security,
        body: PhoneBody,
        response: { 200: PhoneResponse, ...errorResponses },
      },
    },
    async (request) => {
      const caller = await service.authenticate(request.headers.authorization);
      const { code, encryptedData, iv } = request.body;
      if (code !== undefined && encryptedData === undefined && iv === undefined)
        return service.bindPhone(caller, { code });
      if (code === undefined && encryptedData !== undefined && iv !== undefined) {
        return service.bindPhone(caller, { encryptedData, iv });
      }
      throw new ApiError('invalid_request', 'send either { code } or { encryptedData, iv }');
    },
  );
};
