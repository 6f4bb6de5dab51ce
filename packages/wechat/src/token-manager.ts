import type { IssuedAccessToken } from './endpoints/access-token.js';
import type { CachedAccessToken, TokenCache } from './token-cache.js';

export type AccessTokenMode = 'stable' | 'classic';

export interface TokenManagerOptions {
  appId: string;
  mode: AccessTokenMode;
  cache: TokenCache;
  /** refresh this long before expiry */
  refreshMarginSeconds: number;
  now: () => number;
  /** asks WeChat for a token (retries already applied); `force` only matters in stable mode */
  issue: (force: boolean) => Promise<IssuedAccessToken>;
}

interface Refresh {
  promise: Promise<string>;
  /** the token WeChat rejected, when this refresh answers a rejection */
  rejected: string | undefined;
}

/** The cache key of an app's access token: appId and mode, never the secret. */
export function accessTokenCacheKey(appId: string, mode: AccessTokenMode): string {
  return `wxlogin:wechat-access-token:${appId}:${mode}`;
}

/**
 * Keeps one app's WeChat access token: served from the cache while it is more than
 * `refreshMarginSeconds` from expiry, refreshed otherwise. Concurrent callers share one
 * in-flight refresh; with `cache.withLock` the refresh runs under the cross-process lock
 * and re-reads the cache first, so a token another process just stored is used as is.
 */
export class AccessTokenManager {
  readonly key: string;
  readonly #options: TokenManagerOptions;
  #inflight: Refresh | null = null;
  /** when this process itself stored a token: the clamped moment to refresh it */
  #lastIssued: { token: string; refreshAt: number } | null = null;

  constructor(options: TokenManagerOptions) {
    this.#options = options;
    this.key = accessTokenCacheKey(options.appId, options.mode);
  }

  /** A usable token. `forceRefresh` skips the cache (in stable mode WeChat is still asked without force_refresh). */
  async get(options?: { forceRefresh?: boolean }): Promise<string> {
    if (options?.forceRefresh !== true) {
      const cached = await this.#options.cache.get(this.key);
      if (cached && this.#isFresh(cached)) return cached.token;
    }
    return this.#refresh({ rejected: undefined, skipCache: options?.forceRefresh === true });
  }

  /**
   * A token other than `rejected`, which WeChat refused (40001/42001/40014). The cached entry is
   * dropped if it still holds `rejected`; stable mode asks with `force_refresh:true` only when the
   * normal refresh hands back the very token that was rejected. Callers retry their call once.
   */
  renew(rejected: string): Promise<string> {
    return this.#refresh({ rejected, skipCache: false });
  }

  #refresh(request: { rejected: string | undefined; skipCache: boolean }): Promise<string> {
    const current = this.#inflight;
    if (current && (request.rejected === undefined || current.rejected === request.rejected)) return current.promise;
    // A refresh that does not know about this rejection is awaited first; ours then re-reads the cache.
    const start = current ? current.promise.then(noop, noop) : Promise.resolve();
    const promise = start
      .then(() => this.#locked(request))
      .finally(() => {
        if (this.#inflight?.promise === promise) this.#inflight = null;
      });
    this.#inflight = { promise, rejected: request.rejected };
    return promise;
  }

  #locked(request: { rejected: string | undefined; skipCache: boolean }): Promise<string> {
    const { cache } = this.#options;
    const run = (): Promise<string> => this.#fetch(request);
    return cache.withLock ? cache.withLock(this.key, run) : run();
  }

  async #fetch(request: { rejected: string | undefined; skipCache: boolean }): Promise<string> {
    const { cache, mode, issue, now } = this.#options;
    if (!request.skipCache) {
      const cached = await cache.get(this.key);
      if (cached && request.rejected !== undefined && cached.token === request.rejected) {
        await cache.delete(this.key);
      } else if (cached && this.#isFresh(cached)) {
        return cached.token;
      }
    }
    let issued = await issue(false);
    if (request.rejected !== undefined && issued.token === request.rejected && mode === 'stable') {
      issued = await issue(true);
    }
    const issuedAt = now();
    const lifetimeMs = issued.expiresInSeconds * 1000;
    await cache.set(this.key, { token: issued.token, expiresAt: issuedAt + lifetimeMs });
    // A token issued with less life than the margin is still used for half its life, not refetched per call.
    const marginMs = Math.min(this.#options.refreshMarginSeconds * 1000, lifetimeMs / 2);
    this.#lastIssued = { token: issued.token, refreshAt: issuedAt + lifetimeMs - marginMs };
    return issued.token;
  }

  #isFresh(entry: CachedAccessToken): boolean {
    const now = this.#options.now();
    if (now >= entry.expiresAt) return false;
    if (this.#lastIssued?.token === entry.token) return now < this.#lastIssued.refreshAt;
    return now < entry.expiresAt - this.#options.refreshMarginSeconds * 1000;
  }
}

function noop(): void {}
