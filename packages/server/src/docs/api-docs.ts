/**
 * Renders the HTTP API reference (docs/api.md) from the service's OpenAPI
 * document, so the page is generated from the route schemas themselves.
 */
import { ERROR_STATUS } from '@wxlogin/protocol';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  $ref?: string;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

function typeOf(schema: Schema | undefined): string {
  if (schema === undefined) return 'any';
  if (schema.$ref) return schema.$ref.replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' \\| ');
  if (schema.type === 'array') return `${typeOf(schema.items)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join(' \\| ');
  return schema.type ?? 'any';
}

function constraints(schema: Schema): string {
  const parts: string[] = [];
  if (schema.minLength !== undefined) parts.push(`min ${schema.minLength}`);
  if (schema.maxLength !== undefined) parts.push(`max ${schema.maxLength}`);
  if (schema.pattern !== undefined) parts.push(`pattern \`${schema.pattern}\``);
  if (schema.description) parts.push(schema.description);
  return parts.join('; ');
}

function fields(schema: Schema | undefined, prefix = ''): string[] {
  if (schema?.properties === undefined) return [];
  const rows: string[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const required = schema.required?.includes(name) ? 'yes' : 'no';
    rows.push(`| \`${prefix}${name}\` | ${typeOf(property)} | ${required} | ${constraints(property)} |`);
    if (property.properties) rows.push(...fields(property, `${prefix}${name}.`));
  }
  return rows;
}

function table(schema: Schema | undefined): string {
  const rows = fields(schema);
  if (rows.length === 0) return '';
  return ['| field | type | required | notes |', '|---|---|---|---|', ...rows].join('\n');
}

export function renderApiDocs(doc: OpenApiDocument): string {
  const out: string[] = [
    '# HTTP API reference',
    '',
    '<!-- Generated from the route schemas by `npm run docs:api`; do not edit by hand. -->',
    '',
    `${doc.info.description ?? ''}`,
    '',
    "The binding contract is `shared/API.md`; this page is generated from the running service's OpenAPI document (`GET /openapi.json`).",
    '',
  ];
  const entries = Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b));
  for (const [path, methods] of entries) {
    for (const [method, op] of Object.entries(methods)) {
      out.push(`## \`${method.toUpperCase()} ${path}\``, '');
      if (op.summary) out.push(`${op.summary}.`, '');
      if (op.description) out.push(op.description, '');
      if (op.security?.length)
        out.push(
          `Auth: ${op.security.map((s) => Object.keys(s).join(', ')).join(' or ')} token (\`Authorization: Bearer …\`).`,
          '',
        );
      const query = (op.parameters ?? []).filter((p) => p.in === 'query' || p.in === 'path');
      if (query.length > 0) {
        out.push('| parameter | in | type | required |', '|---|---|---|---|');
        for (const p of query)
          out.push(`| \`${p.name}\` | ${p.in} | ${typeOf(p.schema)} | ${p.required ? 'yes' : 'no'} |`);
        out.push('');
      }
      const body = op.requestBody?.content?.['application/json']?.schema;
      if (body) out.push('Request body:', '', table(body) || `\`${typeOf(body)}\``, '');
      out.push('| status | body |', '|---|---|');
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const schema = response.content?.['application/json']?.schema;
        out.push(
          `| ${status} | ${schema ? (typeOf(schema) === 'object' ? 'see below' : typeOf(schema)) : (response.description ?? '')} |`,
        );
      }
      out.push('');
      const ok = op.responses?.['200']?.content?.['application/json']?.schema;
      const okTable = table(ok);
      if (okTable) out.push('`200` body:', '', okTable, '');
    }
  }
  out.push('## Errors', '', 'Every error is `{ "error": { "code", "message", "wechatErrcode"? }, "requestId" }`.', '');
  out.push('| status | code |', '|---|---|');
  for (const [code, status] of Object.entries(ERROR_STATUS)) out.push(`| ${status} | \`${code}\` |`);
  out.push('');
  return out.join('\n');
}
