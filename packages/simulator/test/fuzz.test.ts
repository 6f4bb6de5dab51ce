import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_APP, type Simulator, startSimulator } from '../src/index.js';
import { classicToken, login } from './helpers.js';

let sim: Simulator;
let token: string;
let openid: string;

beforeAll(async () => {
  sim = await startSimulator();
  token = await classicToken(sim);
  ({ openid } = await login(sim));
});

afterAll(async () => {
  await sim.close();
});

const PATHS = [
  '/sns/jscode2session',
  '/cgi-bin/token',
  '/cgi-bin/stable_token',
  '/wxa/checksession',
  '/wxa/resetusersessionkey',
  '/wxa/business/getuserphonenumber',
] as const;

/** Values that reach deep into the handlers as well as junk. */
const value = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      '',
      DEV_APP.appId,
      DEV_APP.secret,
      'authorization_code',
      'client_credential',
      'hmac_sha256',
      'true',
      '%zz',
      '__proto__',
    ),
    fc.constant(null).map(() => token),
    fc.constant(null).map(() => openid),
    fc.constant(null).map(() => sim.mintLoginCode().code),
    fc.constant(null).map(() => sim.phoneCode().code),
  );

const KEYS = [
  'appid',
  'secret',
  'js_code',
  'grant_type',
  'access_token',
  'openid',
  'signature',
  'sig_method',
  'code',
  'force_refresh',
  '__proto__',
  'constructor',
];

const query = fc.oneof(
  fc
    .dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), value(), { maxKeys: 8 })
    .map((d) => new URLSearchParams(d).toString()),
  fc.string().map(encodeURI),
);

const body = fc.oneof(
  fc.constant(''),
  fc.string(),
  fc.json(),
  fc
    .dictionary(
      fc.constantFrom(...KEYS),
      fc.oneof(value(), fc.boolean(), fc.integer(), fc.constant(null), fc.jsonValue()),
      {
        maxKeys: 6,
      },
    )
    .map((d) => JSON.stringify(d)),
);

interface RawReply {
  status: number;
  type: string | undefined;
  text: string;
}

function send(method: string, path: string, payload: string): Promise<RawReply> {
  const { port } = new URL(sim.url);
  const withBody = method !== 'GET' && method !== 'HEAD';
  const headers = withBody
    ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
    : {};
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (withBody) req.end(payload);
    else req.end();
  });
}

function isDocumentedShape(answer: unknown): boolean {
  if (typeof answer !== 'object' || answer === null) return false;
  const a = answer as Record<string, unknown>;
  if ('errcode' in a) return Number.isInteger(a.errcode) && typeof a.errmsg === 'string';
  if ('session_key' in a) return typeof a.session_key === 'string' && typeof a.openid === 'string';
  return typeof a.access_token === 'string' && typeof a.expires_in === 'number';
}

describe('robustness', () => {
  it('answers any request to any endpoint with a documented JSON shape, never a 500 or a hang-up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PATHS, '/', '/cgi-bin', '/wxa/checksession/', '/__sim'),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        query,
        body,
        async (path, method, qs, payload) => {
          const reply = await send(method, qs ? `${path}?${qs}` : path, payload);
          if (path === '/__sim') {
            expect(reply.status).toBe(404);
            return;
          }
          expect(reply.status).toBe(200);
          expect(reply.type).toMatch(/^(text\/plain|application\/json)/);
          expect(isDocumentedShape(JSON.parse(reply.text))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers any control request with JSON or 204, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/__sim/login-code',
          '/__sim/userinfo',
          '/__sim/phone-code',
          '/__sim/faults',
          '/__sim/expire',
          '/__sim/calls',
        ),
        fc.constantFrom('GET', 'POST', 'DELETE'),
        body,
        async (path, method, payload) => {
          const reply = await send(method, path, payload);
          expect([200, 204, 400, 404, 405]).toContain(reply.status);
          if (reply.status !== 204) expect(() => JSON.parse(reply.text)).not.toThrow();
          sim.clearFaults();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers 47001 to an oversized body', async () => {
    const reply = await send('POST', '/cgi-bin/stable_token', `{"x":"${'a'.repeat(1_100_000)}"}`);
    expect(JSON.parse(reply.text).errcode).toBe(47001);
  });
});
