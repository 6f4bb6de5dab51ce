// Makes a fresh clone runnable: installs dependencies when they are missing,
// then builds every package (incremental, so a second run is quick).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(args) {
  const result = spawnSync(npm, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.log('[wxlogin] installing dependencies (npm ci)…');
  run(['ci']);
}
run(['run', '--silent', 'build']);
