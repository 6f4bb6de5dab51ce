import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorBody, isErrorCode, statusOf } from './errors.js';

describe('error catalog', () => {
  it('maps the contract rows to their statuses', () => {
    expect(statusOf('invalid_request')).toBe(400);
    expect(statusOf('code_used')).toBe(400);
    expect(statusOf('unauthorized')).toBe(401);
    expect(statusOf('wechat_session_expired')).toBe(401);
    expect(statusOf('user_blocked')).toBe(403);
    expect(statusOf('payload_too_large')).toBe(413);
    expect(statusOf('rate_limited')).toBe(429);
    expect(statusOf('wechat_error')).toBe(502);
    expect(statusOf('wechat_unavailable')).toBe(503);
  });

  it('recognises only its own codes', () => {
    for (const code of ERROR_CODES) expect(isErrorCode(code)).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('nope')).toBe(false);
    expect(isErrorCode(400)).toBe(false);
  });

  it('checks the envelope shape', () => {
    expect(isErrorBody({ error: { code: 'not_found', message: 'x' }, requestId: 'r' })).toBe(true);
    expect(isErrorBody({ error: { code: 'bogus', message: 'x' }, requestId: 'r' })).toBe(false);
    expect(isErrorBody({ error: { code: 'not_found' }, requestId: 'r' })).toBe(false);
    expect(isErrorBody(null)).toBe(false);
  });
});
