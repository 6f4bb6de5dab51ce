/**
 * `wxlogin dev`: the service with an embedded WeChat simulator, SQLite and
 * generated secrets under ./.wxlogin (kept between runs, so tokens survive a
 * restart). For development only: the secrets sit in a plain file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEV_APP, startSimulator } from '@wxlogin/simulator';
import { type Config, ConfigError, resolveConfig } from './config/config.js';

export interface DevOptions {
  env: Record<string, string | undefined>;
  port?: number;
  simulatorPort?: number;
  dataDir?: string;
  serve: (config: Config, onListening?: (address: string) => void) => Promise<() => Promise<void>>;
  /** Where the walk-through goes; @default process.stdout */
  print?: (text: string) => void;
}

interface DevSecrets {
  secret: string;
  adminToken: string;
}

/** Reads the dev secrets of the data folder, generating them (mode 0600) the first time. */
export function loadDevSecrets(dataDir: string): DevSecrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  const secrets: DevSecrets = {
    secret: randomBytes(32).toString('base64'),
    adminToken: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

export async function startDev(options: DevOptions): Promise<{ close: () => Promise<void> }> {
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const { env } = options;
  const dataDir = resolve(options.dataDir ?? env.WXLOGIN_DATA_DIR ?? '.wxlogin');
  const secrets = loadDevSecrets(dataDir);
  const simulatorPort = options.simulatorPort ?? Number(env.SIMULATOR_PORT ?? 4001);
  const simulator = await startSimulator({ host: '127.0.0.1', port: simulatorPort });

  const devEnv: Record<string, string | undefined> = {
    WXLOGIN_SECRET: secrets.secret,
    WXLOGIN_ADMIN_TOKEN: secrets.adminToken,
    DATABASE_URL: `sqlite:${join(dataDir, 'wxlogin.db')}`,
    WECHAT_API_BASE_URL: simulator.url,
    ...(env.WX_APPID === undefined && env.WX_SECRET === undefined
      ? { WX_APPID: DEV_APP.appId, WX_SECRET: DEV_APP.secret }
      : {}),
    ...env,
    ...(options.port !== undefined ? { PORT: String(options.port) } : {}),
  };
  let config: Config;
  try {
    config = resolveConfig({ env: devEnv });
  } catch (error) {
    await simulator.close();
    throw error instanceof ConfigError ? new Error(error.message) : error;
  }

  process.stderr.write(
    `\n  wxlogin dev — DEVELOPMENT MODE: WeChat is simulated at ${simulator.url}; secrets were generated into ${dataDir} (never use this in production; run "wxlogin serve").\n\n`,
  );
  const shutdownService = await options.serve(config, (address) => print(walkthrough(address, simulator.url, config)));
  const close = async (): Promise<void> => {
    await shutdownService();
    await simulator.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void simulator.close());
  return { close };
}

function walkthrough(service: string, simulator: string, config: Config): string {
  const json = (file: string, field: string): string => `node -p 'require("${file}").${field}'`;
  return `
  wxlogin is listening on ${service}  (app ${config.apps[0]?.appId}, database ${config.databaseUrl})
  WeChat simulator on ${simulator}    API reference: ${service}/openapi.json

  Try the whole login flow (copy-paste into a shell):

  # 1. what wx.login() gives the mini program: a one-time code
  CODE=$(curl -s -X POST ${simulator}/__sim/login-code -H 'content-type: application/json' -d '{"user":"alice"}' | node -p 'JSON.parse(require("fs").readFileSync(0,"utf8")).code')

  # 2. log in: the service exchanges the code with (simulated) WeChat and issues tokens
  curl -s -X POST ${service}/v1/auth/login -H 'content-type: application/json' -d "{\\"code\\":\\"$CODE\\"}" > /tmp/wxlogin-login.json && cat /tmp/wxlogin-login.json; echo
  ACCESS=$(${json('/tmp/wxlogin-login.json', 'accessToken')}); REFRESH=$(${json('/tmp/wxlogin-login.json', 'refreshToken')})

  # 3. who am I
  curl -s ${service}/v1/me -H "authorization: Bearer $ACCESS"; echo

  # 4. refresh (the old refresh token is spent; presenting it again revokes the session)
  curl -s -X POST ${service}/v1/auth/refresh -H 'content-type: application/json' -d "{\\"refreshToken\\":\\"$REFRESH\\"}" > /tmp/wxlogin-refresh.json && cat /tmp/wxlogin-refresh.json; echo
  ACCESS=$(${json('/tmp/wxlogin-refresh.json', 'accessToken')})

  # 5. log out, then the token is refused at once (401)
  curl -s -o /dev/null -w '%{http_code}\\n' -X POST ${service}/v1/auth/logout -H "authorization: Bearer $ACCESS"
  curl -s ${service}/v1/me -H "authorization: Bearer $ACCESS"; echo

`;
}
