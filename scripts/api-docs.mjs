// Writes docs/api.md from the service's OpenAPI document (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { renderApiDocs } from '../packages/server/dist/docs/api-docs.js';
import { openApiDocument } from '../packages/server/dist/docs/openapi.js';

const target = new URL('../docs/api.md', import.meta.url);
writeFileSync(target, renderApiDocs(await openApiDocument()));
console.log('wrote docs/api.md');
