#!/usr/bin/env node
// The `wxlogin` command. A committed file, so npm links it at install time;
// it runs the built CLI (`npm run build` at the repository root makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('wxlogin: not built yet; run `npm run build` at the repository root\n');
  process.exit(1);
}
await import(cli.href);
