/**
 * Every failure leaves in the contract's error envelope: our ApiErrors with
 * their code, framework errors mapped by kind, anything else a logged 500 with
 * a generic message. No stack trace or secret ever reaches the client.
 */
import type { ErrorBody, ErrorCode } from '@wxlogin/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, fromStorageFailure } from '../errors.js';

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'the request is malformed',
  payload_too_large: 'the body is larger than this service accepts',
  unsupported_media_type: 'the body must be JSON (Content-Type: application/json)',
  not_found: 'no such route',
  rate_limited: 'too many requests; retry later',
};

function toApiError(error: FastifyError | Error): ApiError {
  if (error instanceof ApiError) return error;
  const unavailable = fromStorageFailure(error);
  if (unavailable !== null) return unavailable;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const first = fastifyError.validation[0];
    const where = first?.instancePath
      ? first.instancePath.slice(1).replaceAll('/', '.')
      : fastifyError.validationContext;
    const message = first?.message ? `${where ? `${where} ` : ''}${first.message}` : 'the request is malformed';
    return new ApiError('invalid_request', message.slice(0, 200), { cause: error });
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'invalid_request';
    return new ApiError(code, MESSAGES[code] ?? 'the request is malformed', { cause: error });
  }
  return new ApiError('internal_error', 'internal error', { cause: error });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.extra.wechatErrcode !== undefined ? { wechatErrcode: error.extra.wechatErrcode } : {}),
    },
    requestId: String(request.id),
  };
  if (error.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.extra.retryAfterSeconds));
  if (error.code === 'unauthorized') reply.header('www-authenticate', 'Bearer error="invalid_token"');
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(body);
}

/** Installs the error handler (and, for a prefixed context, the not-found handler) on a Fastify context. */
export function installErrorHandling(app: FastifyInstance, options: { notFound: boolean }): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) {
      request.log.error(
        { err: apiError.cause ?? apiError, code: apiError.code, detail: apiError.extra.detail },
        'request failed',
      );
    } else if (apiError.extra.detail !== undefined) {
      request.log.info({ code: apiError.code, detail: apiError.extra.detail }, 'request refused');
    }
    return sendError(request, reply, apiError);
  });
  if (options.notFound) {
    app.setNotFoundHandler((request, reply) => sendError(request, reply, new ApiError('not_found', 'no such route')));
  }
}
