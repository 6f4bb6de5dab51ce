/**
 * Short-lived state shared by every instance of the service: login-code
 * markers (so a code is exchanged with WeChat once), rate-limit counters and
 * the revocation signal. In-process by default; Redis when several instances
 * run (`REDIS_URL`). Losing this state never loses a user or a session: at
 * worst a replayed code is sent to WeChat, which refuses it (40163).
 */
import type { ErrorCode } from '@wxlogin/protocol';

/** What exchanging one login code produced, shared with concurrent requests carrying the same code. */
export type CodeOutcome =
  | { ok: true; userId: string; created: boolean }
  | { ok: false; error: { code: ErrorCode; message: string; wechatErrcode?: number } };

/**
 * - `claimed`: the caller owns the code: it calls WeChat, then `settleCode`.
 * - `in_flight`: another request owns it: `waitForCode` gives its outcome.
 * - `redeemed`: the code was already exchanged: answer `code_used`.
 */
export type CodeClaim = 'claimed' | 'in_flight' | 'redeemed';

export interface SharedState {
  readonly kind: 'memory' | 'redis';

  /**
   * Claims a login code by its digest.
   * Race: of any number of concurrent claims of one digest (on any instance),
   * exactly one answers `claimed`; the others answer `in_flight` until it settles.
   * An unsettled claim lapses after `inFlightTtlMs` (its owner died).
   */
  claimCode(digest: string, inFlightTtlMs: number): Promise<CodeClaim>;

  /**
   * Publishes the owner's outcome to waiters. A success leaves a `redeemed`
   * marker for `redeemedTtlMs`; a failure releases the code.
   */
  settleCode(digest: string, outcome: CodeOutcome, redeemedTtlMs: number): Promise<void>;

  /** Waits for the outcome of an in-flight code; null when none arrives within `timeoutMs`. */
  waitForCode(digest: string, timeoutMs: number): Promise<CodeOutcome | null>;

  /**
   * Counts one hit on `key` in the current fixed window of `windowMs`.
   * Race: concurrent hits are all counted (atomic increment).
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;

  /** Tells every instance (this one included) that a session was revoked. */
  publishRevocation(sessionId: string): Promise<void>;

  /**
   * Listens for revocations from any instance. `onResync` is called when
   * messages may have been missed (a reconnect): listeners reload from the store.
   */
  onRevocation(listener: (sessionId: string) => void, onResync?: () => void): () => void;

  /** Tells every instance (this one included) that a user's record changed (profile caches drop it). */
  publishUserChange(userId: string): Promise<void>;

  /**
   * Listens for user changes from any instance. `onResync` is called when
   * messages may have been missed (a reconnect): caches drop everything.
   */
  onUserChange(listener: (userId: string) => void, onResync?: () => void): () => void;

  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown when the shared state backend is unreachable; maps to 503 `service_unavailable`. */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
