/**
 * The sessions revoked recently enough that their access tokens could still
 * be presented. Checked on every authenticated request, so it is an in-memory
 * set: fed by this instance's own revocations, by the shared revocation signal
 * of other instances, and reloaded from the store at start and after a resync.
 */
import type { Store } from '../store/types.js';
import type { SharedState } from './types.js';

export class RevocationList {
  private readonly revoked = new Map<string, number>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly state: SharedState,
    /** How long (ms) an entry matters: the access-token lifetime. */
    private readonly horizonMs: number,
    private readonly now: () => number,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.state.onRevocation(
      (sessionId) => this.add(sessionId),
      () => void this.reload().catch(() => {}),
    );
    await this.reload();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async reload(): Promise<void> {
    const since = Math.floor((this.now() - this.horizonMs) / 1000);
    for (const sessionId of await this.store.listRevokedSessionIds(since)) this.add(sessionId);
  }

  add(sessionId: string): void {
    const t = this.now();
    if (this.revoked.size > 50_000) {
      for (const [id, until] of this.revoked) if (until <= t) this.revoked.delete(id);
    }
    this.revoked.set(sessionId, t + this.horizonMs);
  }

  has(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }
}
