/**
 * fast-check fuzzing of every endpoint's body and headers: whatever arrives,
 * the answer is never a 5xx and every failure is the contract's envelope.
 */
import { isErrorBody } from '@wxlogin/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.js';

const ROUTES: Array<[method: string, path: string, auth: boolean]> = [
  ['POST', '/v1/auth/login', false],
  ['POST', '/v1/auth/refresh', false],
  ['POST', '/v1/auth/logout', true],
  ['GET', '/v1/auth/session', true],
  ['GET', '/v1/me', true],
  ['PATCH', '/v1/me', true],
  ['POST', '/v1/me/userinfo', true],
  ['POST', '/v1/me/phone', true],
  ['POST', '/v1/auth/decrypt', true],
];

const fieldNames = fc.constantFrom(
  'code',
  'appId',
  'refreshToken',
  'rawData',
  'signature',
  'encryptedData',
  'iv',
  'nickname',
  'avatarUrl',
  '__proto__',
  'constructor',
);
const leaf = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.base64String(),
  fc.constant('tiihtNczf5v6AKRyjwEUhQ=='),
);
const jsonBody = fc.oneof(
  fc.dictionary(fieldNames, fc.oneof(leaf, fc.array(leaf), fc.dictionary(fc.string(), leaf)), { maxKeys: 5 }),
  fc.json().map((text) => JSON.parse(text) as unknown),
  fc.array(leaf),
);

describe('fuzzing every endpoint', () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack({ overrides: { logLevel: 'warn' } });
    token = (await stack.login('fuzz')).accessToken;
  });
  afterAll(async () => {
    await stack.close();
  });

  function check(result: { status: number; body: unknown; text: string }): void {
    expect(result.status, result.text).toBeLessThan(500);
    if (result.status >= 400) expect(isErrorBody(result.body), result.text).toBe(true);
    expect(result.text).not.toMatch(/\bat .+:\d+:\d+/);
  }

  it.each(ROUTES.filter(([method]) => method !== 'GET'))('%s %s: arbitrary JSON bodies', async (method, path, auth) => {
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const result = await stack.request(method, path, { body: body ?? {}, ...(auth ? { token } : {}) });
        check(result);
      }),
      { numRuns: 60 },
    );
  });

  it.each(ROUTES.filter(([method]) => method === 'GET'))('%s %s: arbitrary query strings', async (method, path) => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('check', 'x', '__proto__', 'check[]'), fc.string()),
        async (query) => {
          const result = await stack.request(method, `${path}?${new URLSearchParams(query).toString()}`, { token });
          check(result);
        },
      ),
      { numRuns: 40 },
    );
  });

  it.each(ROUTES)('%s %s: arbitrary raw bodies, content types and tokens', async (method, path) => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          '',
        ),
        fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }), fc.constant(token.slice(0, -3))),
        async (rawBody, contentType, bearer) => {
          const headers: Record<string, string> = {};
          if (contentType) headers['content-type'] = contentType;
          if (bearer !== undefined && /^[\x20-\x7e]*$/.test(bearer)) headers.authorization = `Bearer ${bearer}`;
          const result = await stack.request(method, path, { ...(method === 'GET' ? {} : { rawBody }), headers });
          check(result);
        },
      ),
      { numRuns: 40 },
    );
  });
});
