#!/usr/bin/env node
/**
 * The `wxlogin` command: `dev` (service + embedded WeChat simulator + SQLite
 * under ./.wxlogin, for development), `serve` (production), `migrate`,
 * `keys rotate`. Only this file calls `listen()` and reads process.env.
 */
import { parseArgs } from 'node:util';
import { type Config, ConfigError, resolveConfig } from './config/config.js';
import { buildApp, createLogger } from './http/app.js';
import { createRuntime } from './runtime.js';
import { createSharedState } from './state/index.js';

const HELP = `wxlogin — the login service for WeChat Mini Programs

Usage:
  wxlogin dev [--port N] [--simulator-port N] [--data-dir DIR]
                         service + embedded WeChat simulator + SQLite (development only)
  wxlogin serve          the production service (configuration from the environment / WXLOGIN_CONFIG)
  wxlogin migrate        apply database migrations and exit
  wxlogin keys rotate    create a new access-token signing key (old keys keep verifying)
  wxlogin help

Configuration: docs/configuration.md`;

function fail(message: string, code = 2): never {
  process.stderr.write(`wxlogin: ${message}\n`);
  process.exit(code);
}

function loadConfig(env: Record<string, string | undefined>): Config {
  try {
    return resolveConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

export async function serve(config: Config, onListening?: (address: string) => void): Promise<() => Promise<void>> {
  const state = await createSharedState(config);
  const app = await buildApp(config, {
    state: state.state,
    ...(state.rateLimitRedis ? { rateLimitRedis: state.rateLimitRedis } : {}),
    ...(state.tokenCache ? { tokenCache: state.tokenCache } : {}),
  });
  app.addHook('onClose', async () => state.close());
  const address = await app.listen({ port: config.port, host: config.host });
  onListening?.(address);
  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      app.log.info('shutting down: finishing in-flight requests');
      const timer = setTimeout(() => {
        app.log.error('shutdown timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      await app.close();
      clearTimeout(timer);
    })();
    return closing;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void shutdown().then(() => process.exit(0));
    });
  }
  return shutdown;
}

async function withRuntime(
  config: Config,
  fn: (runtime: Awaited<ReturnType<typeof createRuntime>>) => Promise<void>,
): Promise<void> {
  const logger = createLogger(config);
  const runtime = await createRuntime(config, {}, logger);
  try {
    await fn(runtime);
  } finally {
    await runtime.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, 'simulator-port': { type: 'string' }, 'data-dir': { type: 'string' } },
      });
      // loaded only here: `serve` never carries the simulator
      const { startDev } = await import('./dev.js');
      await startDev({
        env: process.env,
        ...(values.port ? { port: Number(values.port) } : {}),
        ...(values['simulator-port'] ? { simulatorPort: Number(values['simulator-port']) } : {}),
        ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
        serve,
      });
      return;
    }
    case 'serve': {
      const config = loadConfig(process.env);
      await serve(config);
      return;
    }
    case 'migrate': {
      const config = loadConfig(process.env);
      await withRuntime(config, async () => {
        process.stdout.write('migrations applied\n');
      });
      return;
    }
    case 'keys': {
      if (rest[0] !== 'rotate') fail('usage: wxlogin keys rotate');
      const config = loadConfig(process.env);
      await withRuntime(config, async (runtime) => {
        const kid = await runtime.tokens.rotate();
        process.stdout.write(`new signing key ${kid} is active; running instances pick it up within a minute\n`);
      });
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return;
    default:
      fail(`unknown command "${command}"\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  fail(message, 1);
});
