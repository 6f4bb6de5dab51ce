/** A WeChat access token as cached. */
export interface CachedAccessToken {
  token: string;
  /** ms epoch */
  expiresAt: number;
}

/**
 * Where access tokens are kept between calls (and, with a shared store, between
 * processes). Keys look like `wxlogin:wechat-access-token:<appId>:<mode>` and never
 * contain the secret; values are live credentials, so keep the store private.
 */
export interface TokenCache {
  get(key: string): Promise<CachedAccessToken | null>;
  set(key: string, value: CachedAccessToken): Promise<void>;
  delete(key: string): Promise<void>;
  /** optional: run `fn` while holding a cross-process lock for `key` (a shared cache provides it so one process refreshes at a time) */
  withLock?<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** An in-process TokenCache (the default). Without `withLock`: one process refreshes for itself. */
export class MemoryTokenCache implements TokenCache {
  readonly #entries = new Map<string, CachedAccessToken>();

  async get(key: string): Promise<CachedAccessToken | null> {
    const entry = this.#entries.get(key);
    return entry ? { ...entry } : null;
  }

  async set(key: string, value: CachedAccessToken): Promise<void> {
    this.#entries.set(key, { token: value.token, expiresAt: value.expiresAt });
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }
}
