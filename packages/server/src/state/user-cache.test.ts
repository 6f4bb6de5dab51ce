import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../store/types.js';
import { createMemoryState } from './memory.js';
import type { SharedState } from './types.js';
import { UserCache } from './user-cache.js';

function user(id: string, nickname: string | null = null): UserRecord {
  return {
    id,
    appId: 'wx0123456789abcdef',
    openId: `o-${id}`,
    unionId: null,
    nickname,
    avatarUrl: null,
    phoneNumber: null,
    purePhoneNumber: null,
    countryCode: null,
    createdAt: 1,
    updatedAt: 1,
  };
}

/** A store stand-in: a map of users, counting reads. */
function records(...users: UserRecord[]) {
  const byId = new Map(users.map((u) => [u.id, u]));
  let reads = 0;
  return {
    byId,
    get reads() {
      return reads;
    },
    load: async (id: string) => {
      reads += 1;
      return byId.get(id) ?? null;
    },
  };
}

function make(opts: { maxEntries?: number; maxAgeMs?: number; state?: SharedState; now?: () => number } = {}) {
  const state = opts.state ?? createMemoryState();
  const cache = new UserCache(state, {
    maxEntries: opts.maxEntries ?? 100,
    maxAgeMs: opts.maxAgeMs ?? 60_000,
    now: opts.now ?? Date.now,
  });
  cache.start();
  return { cache, state };
}

describe('UserCache', () => {
  it('reads a user once, then serves it from memory', async () => {
    const db = records(user('u1'));
    const { cache } = make();
    expect(await cache.get('u1', db.load)).toEqual(user('u1'));
    expect(await cache.get('u1', db.load)).toEqual(user('u1'));
    expect(db.reads).toBe(1);
  });

  it('does not keep an unknown user', async () => {
    const db = records();
    const { cache } = make();
    expect(await cache.get('nope', db.load)).toBeNull();
    expect(await cache.get('nope', db.load)).toBeNull();
    expect(db.reads).toBe(2);
  });

  it('drops a changed user, here and on every instance listening to the shared state', async () => {
    const state = createMemoryState();
    const db = records(user('u1'));
    const here = make({ state }).cache;
    const there = make({ state }).cache;
    await here.get('u1', db.load);
    await there.get('u1', db.load);
    db.byId.set('u1', user('u1', 'new name'));
    await here.changed('u1');
    expect((await here.get('u1', db.load))?.nickname).toBe('new name');
    expect((await there.get('u1', db.load))?.nickname).toBe('new name');
  });

  it('does not keep a read that raced with a change', async () => {
    const db = records(user('u1', 'old'));
    const { cache } = make();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = cache.get('u1', async (id) => {
      const read = await db.load(id);
      await gate;
      return read;
    });
    db.byId.set('u1', user('u1', 'new'));
    await cache.changed('u1');
    release();
    expect((await slow)?.nickname).toBe('old');
    expect((await cache.get('u1', db.load))?.nickname).toBe('new');
  });

  it('drops everything when the signal may have been missed (resync)', async () => {
    let resync: () => void = () => {};
    const base = createMemoryState();
    const state: SharedState = {
      ...base,
      onUserChange(listener, onResync) {
        resync = onResync ?? resync;
        return base.onUserChange(listener);
      },
    };
    const db = records(user('u1'), user('u2'));
    const { cache } = make({ state });
    await cache.get('u1', db.load);
    await cache.get('u2', db.load);
    expect(cache.size).toBe(2);
    resync();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxEntries users, dropping the oldest, and none when maxEntries is 0', async () => {
    const db = records(user('u1'), user('u2'), user('u3'));
    const { cache } = make({ maxEntries: 2 });
    for (const id of ['u1', 'u2', 'u3']) await cache.get(id, db.load);
    expect(cache.size).toBe(2);
    await cache.get('u1', db.load);
    expect(db.reads).toBe(4);
    const off = make({ maxEntries: 0 }).cache;
    await off.get('u1', db.load);
    expect(off.size).toBe(0);
  });

  it('serves an entry for maxAgeMs at most', async () => {
    let t = 1_000;
    const db = records(user('u1'));
    const { cache } = make({ maxAgeMs: 100, now: () => t });
    await cache.get('u1', db.load);
    t += 99;
    await cache.get('u1', db.load);
    expect(db.reads).toBe(1);
    t += 1;
    await cache.get('u1', db.load);
    expect(db.reads).toBe(2);
  });

  it('stops listening at stop()', async () => {
    const state = createMemoryState();
    const { cache } = make({ state });
    cache.stop();
    const db = records(user('u1'));
    await cache.get('u1', db.load);
    await state.publishUserChange('u1');
    expect(cache.size).toBe(1);
  });
});
