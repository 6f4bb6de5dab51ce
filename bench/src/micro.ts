/**
 * Micro-benchmarks (tinybench): each wrapper of the service beside the raw
 * node:crypto primitive it wraps, doing the same job on the same input. The
 * modules are loaded from the built packages (`packages/<name>/dist`), the
 * code the service runs.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type JsonWebKey,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { Bench } from 'tinybench';
import type * as SealModule from '../../packages/server/src/crypto/seal.js';
import type * as TokensModule from '../../packages/server/src/crypto/tokens.js';
import type * as StoreModule from '../../packages/server/src/store/index.js';
import type * as AccessTokensModule from '../../packages/server/src/tokens/access-tokens.js';
import type * as WechatModule from '../../packages/wechat/src/index.js';
import { median } from './stats.js';

async function loadBuilt<T>(path: string): Promise<T> {
  return (await import(new URL(`../../packages/${path}`, import.meta.url).href)) as T;
}

export interface MicroResult {
  name: string;
  /** what the raw baseline does */
  raw: string;
  wrapperNs: number;
  rawNs: number;
  /** wrapper time / raw time; ≤ 1.15 meets the target */
  ratio: number;
  /** false for rows shown for information (e.g. a cache hit, which should be far below the raw primitive) */
  judged: boolean;
}

interface Pair {
  name: string;
  raw: string;
  judged: boolean;
  wrapper: () => unknown;
  baseline: () => unknown;
}

const APP_ID = 'wx0123456789abcdef';

async function buildPairs(): Promise<{ pairs: Pair[]; close: () => Promise<void> }> {
  const { createSealer } = await loadBuilt<typeof SealModule>('server/dist/crypto/seal.js');
  const { hashSecret, issueRefreshToken, secretMatches } =
    await loadBuilt<typeof TokensModule>('server/dist/crypto/tokens.js');
  const { openStore } = await loadBuilt<typeof StoreModule>('server/dist/store/index.js');
  const { AccessTokens } = await loadBuilt<typeof AccessTokensModule>('server/dist/tokens/access-tokens.js');
  const { decryptOpenData, encryptOpenData } = await loadBuilt<typeof WechatModule>('wechat/dist/index.js');

  // ── access tokens ──
  const secret = randomBytes(32);
  // randomBytes, as the raw baseline draws its IV: the seal row then shows the wrapper's own cost
  // (the service's default source is a pool, which makes sealing cheaper still)
  const sealer = createSealer([secret.toString('base64')], randomBytes);
  const store = openStore('sqlite::memory:');
  await store.migrate();
  const options = { issuer: 'wxlogin', audience: 'wxlogin', ttlSeconds: 3600, alg: 'EdDSA' as const, now: Date.now };
  const cached = new AccessTokens(store, sealer, options);
  await cached.init();
  // cache of one entry, two tokens taken in turn: every verification is a fresh one
  const uncached = new AccessTokens(store, sealer, { ...options, cacheSize: 1 });
  await uncached.init();
  const subject = (n: number) => ({ userId: `user-${n}`, sessionId: `session-${n}`, appId: APP_ID, openId: `o-${n}` });
  const tokenA = await cached.sign(subject(1));
  const tokenB = await cached.sign(subject(2));
  if ((await cached.verify(tokenA)) === null || (await uncached.verify(tokenB)) === null) {
    throw new Error('micro: access token does not verify');
  }
  const jwk = cached.jwks().keys[0];
  if (jwk === undefined) throw new Error('micro: no signing key');
  const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const [header, payload, signature] = tokenA.split('.') as [string, string, string];
  const signingInput = Buffer.from(`${header}.${payload}`);
  const signatureBytes = Buffer.from(signature, 'base64url');
  let turn = 0;

  // ── refresh tokens ──
  const refresh = issueRefreshToken();
  const refreshSecret = refresh.token.split('.')[1] as string;
  const storedHash = Buffer.from(refresh.secretHash, 'hex');

  // ── sealing ──
  const sessionKey = randomBytes(16).toString('base64');
  const context = 'session-key:user-1';
  const sealed = sealer.seal(sessionKey, context);
  const [, , ivText, ctText, tagText] = sealed.split('.') as [string, string, string, string, string];

  // ── open data ──
  const openData = encryptOpenData({
    data: {
      nickName: 'bench',
      avatarUrl: 'https://example.com/a.png',
      gender: 0,
      language: 'zh_CN',
      watermark: { appid: APP_ID, timestamp: Math.floor(Date.now() / 1000) },
    },
    sessionKey,
  });
  const openKey = Buffer.from(sessionKey, 'base64');

  const pairs: Pair[] = [
    {
      name: 'access token verify, cache hit (AccessTokens.verify)',
      raw: 'crypto.verify Ed25519 over header.payload (signature decoded beforehand)',
      judged: false,
      wrapper: () => cached.verify(tokenA),
      baseline: () => cryptoVerify(null, signingInput, publicKey, signatureBytes),
    },
    {
      name: 'access token verify, uncached (AccessTokens.verify)',
      raw: 'crypto.verify Ed25519 over header.payload (signature decoded beforehand)',
      judged: true,
      wrapper: () => uncached.verify(turn++ % 2 === 0 ? tokenA : tokenB),
      baseline: () => cryptoVerify(null, signingInput, publicKey, signatureBytes),
    },
    {
      name: 'refresh token hash (hashSecret)',
      raw: "createHash('sha256').update(secret).digest('hex')",
      judged: true,
      wrapper: () => hashSecret(refreshSecret),
      baseline: () => createHash('sha256').update(refreshSecret, 'utf8').digest('hex'),
    },
    {
      name: 'refresh token check (secretMatches)',
      raw: "createHash('sha256') digest + timingSafeEqual against the stored hash",
      judged: true,
      wrapper: () => secretMatches(refreshSecret, refresh.secretHash),
      baseline: () => timingSafeEqual(createHash('sha256').update(refreshSecret, 'utf8').digest(), storedHash),
    },
    {
      name: 'session key seal (Sealer.seal)',
      raw: 'randomBytes(12) + aes-256-gcm with AAD (the context), update/final/getAuthTag',
      judged: true,
      wrapper: () => sealer.seal(sessionKey, context),
      baseline: () => {
        const cipher = createCipheriv('aes-256-gcm', secret, randomBytes(12));
        cipher.setAAD(Buffer.from(context, 'utf8'));
        const out = Buffer.concat([cipher.update(sessionKey, 'utf8'), cipher.final()]);
        return [out, cipher.getAuthTag()];
      },
    },
    {
      name: 'session key open (Sealer.open)',
      raw: 'base64url decode of iv, tag and ciphertext + aes-256-gcm decipher with AAD (the context) and tag',
      judged: true,
      wrapper: () => sealer.open(sealed, context),
      baseline: () => {
        const decipher = createDecipheriv('aes-256-gcm', secret, Buffer.from(ivText, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tagText, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
      },
    },
    {
      name: 'open data decrypt (decryptOpenData)',
      raw: "base64 decode + createDecipheriv('aes-128-cbc') + JSON.parse",
      judged: true,
      wrapper: () =>
        decryptOpenData({ encryptedData: openData.encryptedData, iv: openData.iv, sessionKey, appId: APP_ID }),
      baseline: () => {
        const decipher = createDecipheriv('aes-128-cbc', openKey, Buffer.from(openData.iv, 'base64'));
        const plain = Buffer.concat([decipher.update(Buffer.from(openData.encryptedData, 'base64')), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as unknown;
      },
    },
  ];
  return { pairs, close: () => store.close() };
}

/** Median time of one call, in ns. */
async function measure(fn: () => unknown, timeMs: number): Promise<number> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(20, timeMs), warmupIterations: 16 });
  bench.add('task', fn);
  await bench.run();
  const result = bench.tasks[0]?.result;
  if (result === undefined || result.error !== undefined) {
    throw new Error(`micro: task failed: ${result?.error?.message ?? 'no result'}`);
  }
  // the median call: robust to the collector's pauses and to other work on the machine
  return (result.latency.p50 ?? result.latency.mean) * 1e6;
}

/**
 * Runs every pair `rounds` times in short slices, wrapper and raw in turn
 * (A B A B…), so that whatever else the machine does falls on both alike, and
 * reports the median time of each and the median of the per-round ratios.
 */
export async function runMicro(options: {
  timeMs: number;
  rounds: number;
  log?: (line: string) => void;
}): Promise<MicroResult[]> {
  const { pairs, close } = await buildPairs();
  try {
    const results: MicroResult[] = [];
    for (const pair of pairs) {
      const wrapperTimes: number[] = [];
      const rawTimes: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        wrapperTimes.push(await measure(pair.wrapper, options.timeMs));
        rawTimes.push(await measure(pair.baseline, options.timeMs));
      }
      const wrapperNs = median(wrapperTimes);
      const rawNs = median(rawTimes);
      // the ratio within each round (wrapper and raw measured back to back), then its median:
      // drift of the machine between rounds cancels, as in the load runs
      const ratio = median(wrapperTimes.map((time, round) => time / (rawTimes[round] as number)));
      const result = { name: pair.name, raw: pair.raw, wrapperNs, rawNs, ratio, judged: pair.judged };
      options.log?.(
        `micro  ${pair.name}: ${wrapperNs.toFixed(0)} ns vs raw ${rawNs.toFixed(0)} ns (×${result.ratio.toFixed(2)})`,
      );
      results.push(result);
    }
    return results;
  } finally {
    await close();
  }
}
