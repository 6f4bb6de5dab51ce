import { WechatError } from './errors.js';

export interface RetryPolicy {
  /** extra attempts after the first */
  readonly maxRetries: number;
  /** [0,1) */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** First backoff ceiling; doubles per retry up to {@link BACKOFF_CAP_MS}. */
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 2000;

/** Full jitter: a uniformly random wait in [0, min(cap, base·2^retry)). */
export function backoffDelayMs(retry: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
  const r = random();
  return Math.floor((Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0) * ceiling);
}

/**
 * Runs `call` and retries it while it fails with a retryable WechatError
 * (-1 system busy, timeout, network, a 5xx gateway page), at most `maxRetries` times.
 *
 * Only for SAFE calls: the token endpoints and checksession, which change nothing on
 * WeChat's side. code2Session and getPhoneNumber are never passed here: their code is
 * single-use and may already be consumed by an attempt whose answer was lost, so a
 * retry would turn a transient failure into a misleading 40163/40029.
 */
export async function withRetries<T>(policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof WechatError) || !error.retryable || retry >= policy.maxRetries) throw error;
      await policy.sleep(backoffDelayMs(retry, policy.random));
    }
  }
}
