import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderApiDocs } from './api-docs.js';
import { openApiDocument } from './openapi.js';

describe('docs/api.md', () => {
  it('is generated from the current route schemas (run `npm run docs:api` after changing a route)', async () => {
    const rendered = renderApiDocs(await openApiDocument());
    const committed = readFileSync(fileURLToPath(new URL('../../../../docs/api.md', import.meta.url)), 'utf8');
    expect(committed).toBe(rendered);
  });

  it('documents every route of the contract', async () => {
    const rendered = renderApiDocs(await openApiDocument());
    for (const route of [
      'POST /v1/auth/login',
      'POST /v1/auth/refresh',
      'POST /v1/auth/logout',
      'GET /v1/auth/session',
      'GET /v1/me',
      'PATCH /v1/me',
      'POST /v1/me/userinfo',
      'POST /v1/me/phone',
      'POST /v1/auth/decrypt',
      'GET /.well-known/jwks.json',
      'GET /healthz',
      'GET /readyz',
    ]) {
      expect(rendered).toContain(`## \`${route}\``);
    }
  });
});
