#!/bin/sh
":" //; case " $NODE_OPTIONS $WXLOGIN_NODE_FLAGS" in *-space-size*) exec node ${WXLOGIN_NODE_FLAGS-} "$0" "$@";; esac
":" //; exec node --max-semi-space-size=4 --max-old-space-size=128 ${WXLOGIN_NODE_FLAGS-} "$0" "$@"
// The `wxlogin` command. A committed file, so npm links it at install time;
// it runs the built CLI (`npm run build` at the repository root makes dist/).
//
// It is both a shell script and an ES module. Run as a command, the two lines
// above (comments to JavaScript) start Node with a bounded heap: a 4 MiB
// young-generation semi-space and a 128 MiB old generation, so that the
// service stays near its live memory (see docs/deployment.md). Heap flags
// already in NODE_OPTIONS or WXLOGIN_NODE_FLAGS replace these defaults;
// WXLOGIN_NODE_FLAGS adds other node flags. Run as `node bin/wxlogin.js`, it
// takes Node's defaults.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('wxlogin: not built yet; run `npm run build` at the repository root\n');
  process.exit(1);
}
await import(cli.href);
