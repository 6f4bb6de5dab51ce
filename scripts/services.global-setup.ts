// Finds out whether PostgreSQL and Redis are reachable for the service-backed
// tests. Under CI (CI=true) or WXLOGIN_REQUIRE_SERVICES=1 they are required;
// elsewhere the tests that need them are skipped with a loud notice.
import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
    redisUrl: string | null;
  }
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export default async function setup(project: TestProject): Promise<void> {
  const postgresUrl = process.env.WXLOGIN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.WXLOGIN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const required = process.env.CI === 'true' || process.env.WXLOGIN_REQUIRE_SERVICES === '1';
  const pg = await reachable(postgresUrl, 5432);
  const redis = await reachable(redisUrl, 6379);
  const missing = [pg ? null : `PostgreSQL (${postgresUrl})`, redis ? null : `Redis (${redisUrl})`].filter(Boolean);
  if (missing.length > 0) {
    if (required) throw new Error(`service-backed tests are required here but cannot reach: ${missing.join(', ')}`);
    const line = '!'.repeat(78);
    console.warn(
      `\n${line}\n!! SKIPPING service-backed tests: cannot reach ${missing.join(', ')}\n!! Start them (see README) or set WXLOGIN_TEST_POSTGRES_URL / WXLOGIN_TEST_REDIS_URL.\n${line}\n`,
    );
  }
  project.provide('postgresUrl', pg ? postgresUrl : null);
  project.provide('redisUrl', redis ? redisUrl : null);
}
