/**
 * The users read by authenticated requests (`GET /v1/me` on every screen of the
 * mini program), kept in memory so the hot path does not read the store.
 *
 * Exact across instances: every write of a user record goes through the
 * service, which publishes a user-change signal; every instance (the writer
 * included) drops the entry when it hears it, and drops everything when the
 * signal may have been missed (a resync after a reconnect). A read that raced
 * with a change is not kept (the change's epoch is newer than the read's).
 * Bounded: at most `maxEntries` users, each kept at most `maxAgeMs` (a last
 * line of defence, not the mechanism that keeps entries fresh).
 */
import type { UserRecord } from '../store/types.js';
import type { SharedState } from './types.js';

export interface UserCacheOptions {
  /** Users kept at most; 0 turns the cache off. */
  maxEntries: number;
  /** How long (ms) an entry is served at most. */
  maxAgeMs: number;
  /** ms clock */
  now: () => number;
}

interface Entry {
  user: UserRecord;
  until: number;
}

export class UserCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every change and resync: a read started before it must not be kept. */
  private epoch = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly state: SharedState,
    private readonly options: UserCacheOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.state.onUserChange(
      (userId) => this.drop(userId),
      () => this.clear(),
    );
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The user, from memory when it is there, else from `load` (kept unless a change raced with it). */
  async get(userId: string, load: (userId: string) => Promise<UserRecord | null>): Promise<UserRecord | null> {
    const entry = this.entries.get(userId);
    const now = this.options.now();
    if (entry !== undefined) {
      if (entry.until > now) return entry.user;
      this.entries.delete(userId);
    }
    const epoch = this.epoch;
    const user = await load(userId);
    if (user !== null && epoch === this.epoch && this.options.maxEntries > 0) this.keep(user, now);
    return user;
  }

  /**
   * Records that a user changed (after the store write): drops this instance's
   * entry at once and tells the other instances.
   */
  async changed(userId: string): Promise<void> {
    this.drop(userId);
    await this.state.publishUserChange(userId);
  }

  private drop(userId: string): void {
    this.epoch += 1;
    this.entries.delete(userId);
  }

  private clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }

  private keep(user: UserRecord, now: number): void {
    if (this.entries.size >= this.options.maxEntries) {
      // Maps iterate in insertion order: the first entry is the oldest
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(user.id, { user, until: now + this.options.maxAgeMs });
  }
}
