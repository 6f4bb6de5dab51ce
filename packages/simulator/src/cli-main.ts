/**
 * `wxlogin-simulator`: runs the WeChat API simulator as a standalone server.
 */
import { parseArgs } from 'node:util';
import { DEV_APP, type Simulator, startSimulator } from './simulator.js';

const USAGE = `Usage: wxlogin-simulator [--port <n>] [--host <address>] [--log]

A fake of api.weixin.qq.com for development and tests.

  --port <n>         port to listen on (default 9010; 0 = any free port)
  --host <address>   address to bind (default 127.0.0.1)
  --log              print one line per request
  -h, --help         show this help
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Parses the arguments and starts the simulator; resolves with it, or with null
 * after printing help or a usage error (then `exitCode` says which).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
): Promise<{ simulator: Simulator | null; exitCode: number }> {
  let values: { port?: string; host?: string; log?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        log: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.err(`wxlogin-simulator: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return { simulator: null, exitCode: 2 };
  }
  if (values.help) {
    io.out(USAGE);
    return { simulator: null, exitCode: 0 };
  }
  const port = values.port === undefined ? 9010 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    io.err(`wxlogin-simulator: --port must be an integer from 0 to 65535\n\n${USAGE}`);
    return { simulator: null, exitCode: 2 };
  }
  const simulator = await startSimulator({
    port,
    host: values.host ?? '127.0.0.1',
    ...(values.log ? { logger: io.out } : {}),
  });
  io.out(`WeChat API simulator listening on ${simulator.url}`);
  io.out(`dev app id: ${DEV_APP.appId}`);
  io.out(`try: curl -X POST ${simulator.url}/__sim/login-code`);
  return { simulator, exitCode: 0 };
}
