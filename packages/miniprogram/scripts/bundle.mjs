// Bundles src/index.ts into miniprogram_dist/index.js: one CommonJS file with no
// imports at all, for the WeChat devtools' "build npm" (the `miniprogram` field).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['src/index.ts'],
  outfile: 'miniprogram_dist/index.js',
  bundle: true,
  format: 'cjs',
  platform: 'neutral',
  target: 'es2017',
  mainFields: ['module', 'main'],
  legalComments: 'none',
  logLevel: 'warning',
});

// The package is "type": "module"; this keeps Node's `require` of the bundle working too.
mkdirSync(new URL('../miniprogram_dist/', import.meta.url), { recursive: true });
writeFileSync(new URL('../miniprogram_dist/package.json', import.meta.url), '{ "type": "commonjs" }\n');
