/** Builds the service with a throwaway configuration and returns its OpenAPI document. */
import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../config/config.js';
import { buildApp } from '../http/app.js';
import type { OpenApiDocument } from './api-docs.js';

export async function openApiDocument(): Promise<OpenApiDocument> {
  const config = resolveConfig({
    env: {},
    overrides: {
      apps: [{ appId: 'wx0123456789abcdef', secret: 'documentation' }],
      secret: randomBytes(32).toString('base64'),
      databaseUrl: 'sqlite::memory:',
      logLevel: 'silent',
    },
  });
  const app = await buildApp(config);
  try {
    await app.ready();
    return app.swagger() as unknown as OpenApiDocument;
  } finally {
    await app.close();
  }
}
