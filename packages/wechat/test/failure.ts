// Shared by the client's tests: this file imports Vitest, so it is not part of the build.
import { expect } from 'vitest';
import { WechatError } from '../src/errors.js';

/** Resolves to the WechatError the promise rejects with; fails when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<WechatError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a WechatError, but the call succeeded');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WechatError);
  return error as WechatError;
}
