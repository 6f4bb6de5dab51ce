import { ERROR_CODES } from '@wxlogin/protocol';
import { describe, expect, it } from 'vitest';
import { isServiceErrorCode, isWxloginError, SERVICE_ERROR_CODES, WxloginError } from './errors.js';

describe('WxloginError', () => {
  it('knows exactly the service codes of the protocol package', () => {
    expect([...SERVICE_ERROR_CODES].sort()).toEqual([...ERROR_CODES].sort());
    expect(isServiceErrorCode('code_used')).toBe(true);
    expect(isServiceErrorCode('toString')).toBe(false);
  });

  it('carries code, status, request id and cause', () => {
    const cause = { errMsg: 'request:fail' };
    const error = new WxloginError('network_error', 'no answer', { cause, errMsg: 'request:fail' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'WxloginError', code: 'network_error', status: null, requestId: null });
    expect((error as { cause?: unknown }).cause).toBe(cause);
    expect(isWxloginError(error)).toBe(true);
    expect(isWxloginError(error, 'network_error')).toBe(true);
    expect(isWxloginError(error, 'login_failed')).toBe(false);
    expect(isWxloginError(new Error('x'))).toBe(false);
  });
});
