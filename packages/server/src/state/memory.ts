/** The in-process SharedState: exact for one instance, nothing to set up. */
import type { CodeClaim, CodeOutcome, SharedState } from './types.js';

type CodeEntry =
  | { state: 'in_flight'; until: number; waiters: Array<(outcome: CodeOutcome) => void> }
  | { state: 'redeemed'; until: number };

export interface MemoryStateOptions {
  now?: () => number;
  /**
   * Most code markers kept; the oldest go first. A dropped marker only means
   * that a replay of that code is answered by WeChat (40163, `code_used`)
   * instead of from memory; duplicates sent together (double taps, retries)
   * come within seconds. 20,000 markers hold several minutes of logins at
   * 50 a second, and cost about 3 MiB. @default 20000
   */
  maxCodes?: number;
}

export function createMemoryState(options: MemoryStateOptions = {}): SharedState {
  const now = options.now ?? Date.now;
  const maxCodes = options.maxCodes ?? 20_000;
  const codes = new Map<string, CodeEntry>();
  const counters = new Map<string, { count: number; resetAt: number }>();
  const listeners = new Set<(sessionId: string) => void>();
  const userListeners = new Set<(userId: string) => void>();

  function liveCode(digest: string): CodeEntry | undefined {
    const entry = codes.get(digest);
    if (entry !== undefined && entry.until <= now()) {
      codes.delete(digest);
      return undefined;
    }
    return entry;
  }

  function remember(digest: string, entry: CodeEntry): void {
    codes.delete(digest);
    codes.set(digest, entry);
    if (codes.size > maxCodes) {
      const oldest = codes.keys().next();
      if (!oldest.done) codes.delete(oldest.value);
    }
  }

  return {
    kind: 'memory',
    async claimCode(digest, inFlightTtlMs): Promise<CodeClaim> {
      const entry = liveCode(digest);
      if (entry?.state === 'redeemed') return 'redeemed';
      if (entry?.state === 'in_flight') return 'in_flight';
      remember(digest, { state: 'in_flight', until: now() + inFlightTtlMs, waiters: [] });
      return 'claimed';
    },
    async settleCode(digest, outcome, redeemedTtlMs) {
      const entry = codes.get(digest);
      if (outcome.ok) remember(digest, { state: 'redeemed', until: now() + redeemedTtlMs });
      else codes.delete(digest);
      if (entry?.state === 'in_flight') for (const wake of entry.waiters) wake(outcome);
    },
    waitForCode(digest, timeoutMs) {
      const entry = liveCode(digest);
      if (entry?.state !== 'in_flight') return Promise.resolve(null);
      return new Promise<CodeOutcome | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), timeoutMs);
        timer.unref?.();
        entry.waiters.push((outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        });
      });
    },
    async hit(key, windowMs) {
      const t = now();
      let counter = counters.get(key);
      if (counter === undefined || counter.resetAt <= t) {
        if (counters.size > 100_000) {
          for (const [k, c] of counters) if (c.resetAt <= t) counters.delete(k);
        }
        counter = { count: 0, resetAt: t + windowMs };
        counters.set(key, counter);
      }
      counter.count += 1;
      return { count: counter.count, resetInMs: counter.resetAt - t };
    },
    async publishRevocation(sessionId) {
      for (const listener of listeners) listener(sessionId);
    },
    onRevocation(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async publishUserChange(userId) {
      for (const listener of userListeners) listener(userId);
    },
    onUserChange(listener) {
      userListeners.add(listener);
      return () => userListeners.delete(listener);
    },
    async ping() {},
    async close() {
      listeners.clear();
      userListeners.clear();
    },
  };
}
