/**
 * `buildApp(config, deps)` returns a ready Fastify instance serving the whole
 * contract; only the CLI calls `listen()`.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type Bindings, type DestinationStream, type Logger, levels, pino } from 'pino';
import type { Config } from '../config/config.js';
import type { Runtime, RuntimeDeps } from '../runtime.js';
import { installErrorHandling } from './errors.js';
import { stampResponses, wxlogin } from './plugin.js';

/** Log paths that may hold secrets; pino replaces them before a line is written. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.sessionKey',
  '*.session_key',
  '*.secret',
  '*.appSecret',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.encryptedData',
  '*.code',
];

const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface AppDeps extends RuntimeDeps {
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  logStream?: DestinationStream;
  onRuntime?: (runtime: Runtime) => void;
}

export function createLogger(config: Pick<Config, 'logLevel'>, stream?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'wxlogin' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

/**
 * A request's logger, made into a pino child (request id bound) on first use:
 * at the usual levels most requests log nothing, and building a child (its
 * bindings serialized, redaction wired) costs a few µs on every request.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get logger(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  get level(): string {
    return (this.#child ?? this.parent).level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  private enabled(method: LogMethod): boolean {
    // 'silent' (and any unknown level) has no value: nothing is enabled
    return (levels.values[method] ?? 0) >= (levels.values[this.level] ?? Number.POSITIVE_INFINITY);
  }

  fatal(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('fatal')) this.logger.fatal(obj, msg, ...args);
  }
  error(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('error')) this.logger.error(obj, msg, ...args);
  }
  warn(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('warn')) this.logger.warn(obj, msg, ...args);
  }
  info(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('info')) this.logger.info(obj, msg, ...args);
  }
  debug(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('debug')) this.logger.debug(obj, msg, ...args);
  }
  trace(obj: unknown, msg?: string, ...args: unknown[]): void {
    if (this.enabled('trace')) this.logger.trace(obj, msg, ...args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

/** One log line per request, when it completes (none when it arrives). */
class RequestLog extends LogController {
  constructor(private readonly logger: Logger) {
    super();
  }

  override incomingRequest(): void {}
  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // at warn and above nothing is written: skip building the line
    if (!this.logger.isLevelEnabled('info')) return;
    request.log.info(
      {
        method: request.method,
        url: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = createLogger(config, deps.logStream);
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    logController: new RequestLog(logger),
    // a route or plugin log level or serializers need the child at once
    childLoggerFactory: (parent, bindings, options) =>
      options.level === undefined && options.serializers === undefined
        ? new LazyRequestLogger(parent, bindings, options)
        : parent.child(bindings, options),
    requestIdHeader: false,
    genReqId: (request) => {
      const presented = request.headers['x-request-id'];
      return typeof presented === 'string' && SANE_REQUEST_ID.test(presented) ? presented : randomUUID();
    },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
  });
  app.removeContentTypeParser('text/plain');

  // every response, the root's 404 and /openapi.json included, carries the request id and the security headers
  await stampResponses(app);
  // graceful shutdown: requests in flight finish, and their keep-alive connections close after them
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  await app.register(swagger, {
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'wxlogin',
        version: '1',
        description:
          'The login service for WeChat Mini Programs. Binding contract: every error is the envelope { error: { code, message }, requestId }.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          admin: { type: 'http', scheme: 'bearer', description: 'WXLOGIN_ADMIN_TOKEN' },
        },
      },
    },
  });
  await app.register(wxlogin, {
    config,
    deps,
    securityHeaders: false,
    ...(deps.onRuntime ? { onRuntime: deps.onRuntime } : {}),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  installErrorHandling(app, { notFound: true });
  return app;
}
