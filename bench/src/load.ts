/**
 * The load scenarios: autocannon against the real service over loopback, each
 * scenario in turn, rounds repeated so that machine drift cancels out. Every
 * request that needs a single-use input (a login code, a refresh token) gets
 * its own, prepared before the run or fed back from the previous response.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { BENCH_APP, type Child, RssSampler, readCpuMs, readMemory, type Service } from './processes.js';
import { RunWindow } from './window.js';

export type ScenarioId =
  | 'bare'
  | 'upstream-100ms'
  | 'proxy-100ms'
  | 'me'
  | 'login-0ms'
  | 'login-100ms'
  | 'refresh'
  | 'userinfo';

export const SCENARIO_IDS: readonly ScenarioId[] = [
  'bare',
  'me',
  'login-0ms',
  'login-100ms',
  'proxy-100ms',
  'refresh',
  'userinfo',
  'upstream-100ms',
];

/**
 * Scenarios that run after the interleaved rounds, their own rounds back to
 * back, instead of taking a turn in every round: a judged scenario that came
 * right after the simulator had been driven at 200 connections measured up to
 * ~20% less (GET /v1/me: 41–43% of bare after it, 50–60% without it, in
 * short runs), so nothing judged follows it.
 */
export const TRAILING_SCENARIOS: ReadonlySet<ScenarioId> = new Set(['upstream-100ms']);

export interface Stack {
  service: Service;
  simulator: Child;
  bare: Child;
  /** the bare proxy in front of the simulator (the `proxy-100ms` reference) */
  proxy: Child;
}

export interface RunResult {
  scenario: ScenarioId;
  round: number;
  connections: number;
  /** the measured window, seconds */
  durationSeconds: number;
  /** seconds of load before the window (the opening: connections open, the loop settles), not measured */
  openingSeconds: number;
  /** responses completed in the window; the rate and latencies below are the window's */
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 over the whole run, the opening included */
  p99WithOpeningMs: number;
  /** every response of the run over its whole length, the opening included */
  requestsPerSecondWithOpening: number;
  /** socket errors and timeouts, the whole run (opening included) */
  errors: number;
  /** responses that were not 2xx, the whole run (opening included) */
  non2xx: number;
  /** status codes of the whole run (opening included) */
  statusCodes: Record<string, number>;
  /** peak VmRSS of the process under test during the run, bytes */
  peakRssBytes: number;
  /**
   * CPU used during the measured window, in % of one core: the process under test (all its
   * threads), its main thread alone (`targetLoop`: the event loop, and the
   * garbage collector's pauses on it), the simulator, the load generator
   */
  cpu: { target: number; targetLoop: number; simulator: number; client: number };
  /** CPU time of the process under test per request completed in the window, µs */
  targetCpuUsPerRequest: number;
  /** requests that found no fresh single-use input (a code) and reused one: they measure a refusal, not a login */
  inputsShort: number;
  /** harness problems (e.g. not enough prepared codes); empty when none */
  notes: string[];
}

interface Prepared {
  connections: number;
  requests: AutocannonRequest[];
  /** after the run: harness notes */
  finish?: () => Promise<string[]>;
  /** after the run: how many requests found no fresh single-use input */
  inputsShort?: () => number;
}

interface Scenario {
  id: ScenarioId;
  /** the process driven: the bare server, the service, the simulator itself or the bare proxy (the login references) */
  target: 'bare' | 'service' | 'simulator' | 'proxy';
  /** `seconds`: the whole run's, its opening included (single-use inputs are sized for it) */
  prepare(stack: Stack, seconds: number): Promise<Prepared>;
  /** highest rate measured so far, to size single-use inputs of the next run */
  peakRate?: number;
}

// ── HTTP helpers (the harness's own calls, outside measurement) ──────────

const JSON_HEADERS = { 'content-type': 'application/json' };

interface JsonResponse {
  status: number;
  body: unknown;
}

async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

async function expectOk<T>(what: string, pending: Promise<JsonResponse>): Promise<T> {
  const { status, body } = await pending;
  if (status < 200 || status > 299) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body as T;
}

/** Runs `task` for every item with at most `concurrency` in flight; results in order. */
async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * What wx.login gives, one code for each user handle: single-use codes minted
 * through the simulator's control API (driven by autocannon: tens of
 * thousands are needed per run, faster than fetch can ask for them).
 */
export async function mintCodes(simulatorUrl: string, users: readonly string[]): Promise<string[]> {
  if (users.length === 0) return [];
  const codes = new Array<string | undefined>(users.length);
  const failures: string[] = [];
  let next = 0;
  const match = /"code":"([^"]+)"/;
  await new Promise<void>((resolve, reject) => {
    autocannon(
      {
        url: simulatorUrl,
        connections: Math.min(32, users.length),
        amount: users.length,
        requests: [
          {
            method: 'POST',
            path: '/__sim/login-code',
            headers: JSON_HEADERS,
            // the per-connection context carries the user's index to the answer (one request at a time per connection)
            setupRequest: (request, context) => {
              const index = next++ % users.length;
              context.index = index;
              return { ...request, body: JSON.stringify({ user: users[index] }) };
            },
            onResponse: (status, body, context) => {
              const code = status === 200 ? match.exec(body)?.[1] : undefined;
              if (code === undefined) failures.push(`${status} ${body.slice(0, 200)}`);
              else codes[context.index as number] = code;
            },
          },
        ],
      },
      (error) => (error ? reject(error) : resolve()),
    );
  });
  const minted = codes.filter((code): code is string => code !== undefined);
  if (minted.length !== users.length) {
    throw new Error(`minted ${minted.length} of ${users.length} login codes; first failure: ${failures[0] ?? 'none'}`);
  }
  return minted;
}

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** Logs each user in once (outside measurement) and returns their tokens. */
export async function loginUsers(stack: Stack, users: readonly string[]): Promise<Tokens[]> {
  const codes = await mintCodes(stack.simulator.url, users);
  return pool(codes, 16, (code) =>
    expectOk<Tokens>('login', send(`${stack.service.url}/v1/auth/login`, 'POST', { code })),
  );
}

async function setUpstreamDelay(stack: Stack, delayMs: number): Promise<void> {
  await expectOk('clear faults', send(`${stack.simulator.url}/__sim/faults`, 'DELETE'));
  if (delayMs > 0) {
    await expectOk(
      'inject delay',
      send(`${stack.simulator.url}/__sim/faults`, 'POST', { endpoint: 'jscode2session', delayMs, times: 'always' }),
    );
  }
}

const range = (n: number, name: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => name(i));

/** Requests that each take the next item of a list; counts how often the list ran out. */
function feed(
  method: string,
  path: string,
  headers: Record<string, string>,
  next: () => string | undefined,
  body: (item: string) => string,
): { request: AutocannonRequest; exhausted: () => number } {
  let exhausted = 0;
  let last = '';
  return {
    request: {
      method,
      path,
      headers,
      setupRequest: (request) => {
        let item = next();
        if (item === undefined) {
          exhausted++;
          item = last;
        }
        last = item;
        return { ...request, body: body(item) };
      },
    },
    exhausted: () => exhausted,
  };
}

// ── scenarios ──────────────────────────────────────────────────────────

/** Codes are minted for at least this rate (req/s) before a measured rate is known. */
const MIN_LOGIN_RATE_GUESS = 4000;

/**
 * Enough fresh codes for one run: the ideal rate when upstream latency bounds
 * it, else twice the highest rate measured so far (a short warm-up runs slower
 * than the rounds after it). One code per user in a run; the same users come
 * back in the next runs (the usual, returning login).
 */
async function codesForRun(
  stack: Stack,
  scenario: Scenario,
  delayMs: number,
  connections: number,
  seconds: number,
): Promise<string[]> {
  const ceiling = delayMs > 0 ? (connections * 1000) / delayMs : Number.POSITIVE_INFINITY;
  const guess = Math.min(ceiling, Math.max(MIN_LOGIN_RATE_GUESS, (scenario.peakRate ?? 0) * 2));
  const count = Math.ceil(guess * seconds * 1.15) + connections * 2;
  return mintCodes(
    stack.simulator.url,
    range(count, (i) => `login-${i}`),
  );
}

/**
 * `POST /v1/auth/login` with a fresh code per request, WeChat answering after
 * `delayMs`: against the service, or against the bare proxy (`proxy-100ms`,
 * the least any service in front of WeChat does, the same requests).
 */
function loginScenario(
  id: 'login-0ms' | 'login-100ms' | 'proxy-100ms',
  delayMs: number,
  connections: number,
  target: 'service' | 'proxy' = 'service',
): Scenario {
  const scenario: Scenario = {
    id,
    target,
    async prepare(stack, seconds) {
      await setUpstreamDelay(stack, delayMs);
      const codes = await codesForRun(stack, scenario, delayMs, connections, seconds);
      let index = 0;
      const fed = feed(
        'POST',
        '/v1/auth/login',
        JSON_HEADERS,
        () => codes[index++],
        (code) => JSON.stringify({ code }),
      );
      return {
        connections,
        requests: [fed.request],
        inputsShort: fed.exhausted,
        async finish() {
          await setUpstreamDelay(stack, 0);
          const short = fed.exhausted();
          return short > 0 ? [`${short} requests reused a code: the prepared codes ran out`] : [];
        },
      };
    },
  };
  return scenario;
}

/**
 * The upstream alone: the simulator's jscode2session at 100 ms, driven directly
 * with the same connections and the same kind of codes as \`login-100ms\`. No
 * service can answer faster or more often than what it stands in front of, so
 * this is the ceiling of \`login-100ms\` on the machine, measured in the same run.
 */
function upstreamScenario(delayMs: number, connections: number): Scenario {
  const scenario: Scenario = {
    id: 'upstream-100ms',
    target: 'simulator',
    async prepare(stack, seconds) {
      await setUpstreamDelay(stack, delayMs);
      const codes = await codesForRun(stack, scenario, delayMs, connections, seconds);
      let index = 0;
      let exhausted = 0;
      let refused = 0;
      const query = `appid=${BENCH_APP.appId}&secret=${BENCH_APP.secret}&grant_type=authorization_code`;
      return {
        connections,
        requests: [
          {
            method: 'GET',
            path: '/sns/jscode2session',
            setupRequest: (request) => {
              const code = codes[index++];
              if (code === undefined) exhausted++;
              return { ...request, path: `/sns/jscode2session?${query}&js_code=${code ?? 'exhausted'}` };
            },
            // WeChat answers a refused code with HTTP 200 and an errcode: the reference must measure real exchanges
            onResponse: (_status, body) => {
              if (!body.includes('"session_key"')) refused++;
            },
          },
        ],
        inputsShort: () => exhausted,
        async finish() {
          await setUpstreamDelay(stack, 0);
          const notes: string[] = [];
          if (exhausted > 0) notes.push(`${exhausted} requests had no code: the prepared codes ran out`);
          if (refused > 0) notes.push(`${refused} answers were not a session (errcode)`);
          return notes;
        },
      };
    },
  };
  return scenario;
}

function meScenario(connections: number): Scenario {
  let tokens: string[] | null = null;
  return {
    id: 'me',
    target: 'service',
    async prepare(stack) {
      tokens ??= (
        await loginUsers(
          stack,
          range(100, (i) => `me-${i}`),
        )
      ).map((t) => t.accessToken);
      return {
        connections,
        requests: tokens.map((token) => ({
          method: 'GET',
          path: '/v1/me',
          headers: { authorization: `Bearer ${token}` },
        })),
      };
    },
  };
}

function refreshScenario(connections: number): Scenario {
  const queue: string[] = [];
  let seeded = 0;
  return {
    id: 'refresh',
    target: 'service',
    async prepare(stack) {
      // Each refresh spends its token; the response's new token goes back into the queue.
      // Tokens in flight when a run stops are lost: top the queue up with fresh logins.
      const missing = connections * 3 - queue.length;
      if (missing > 0) {
        const fresh = await loginUsers(
          stack,
          range(missing, (i) => `refresh-${seeded + i}`),
        );
        seeded += missing;
        queue.push(...fresh.map((t) => t.refreshToken));
      }
      const fed = feed(
        'POST',
        '/v1/auth/refresh',
        JSON_HEADERS,
        () => queue.shift(),
        (refreshToken) => JSON.stringify({ refreshToken }),
      );
      const match = /"refreshToken":"([^"]+)"/;
      return {
        connections,
        requests: [
          {
            ...fed.request,
            onResponse: (status, body) => {
              const token = status === 200 ? match.exec(body)?.[1] : undefined;
              if (token !== undefined) queue.push(token);
            },
          },
        ],
        async finish() {
          const short = fed.exhausted();
          return short > 0 ? [`${short} requests found no unspent refresh token`] : [];
        },
      };
    },
  };
}

function userInfoScenario(connections: number): Scenario {
  let requests: AutocannonRequest[] | null = null;
  return {
    id: 'userinfo',
    target: 'service',
    async prepare(stack) {
      if (requests === null) {
        const users = range(50, (i) => `userinfo-${i}`);
        const tokens = await loginUsers(stack, users);
        // signed and encrypted under each user's current session key, as wx.getUserProfile gives it
        const infos = await pool(users, 16, (user) =>
          expectOk<{ rawData: string; signature: string; encryptedData: string; iv: string }>(
            'simulator userinfo',
            send(`${stack.simulator.url}/__sim/userinfo`, 'POST', { user }),
          ),
        );
        requests = infos.map(({ rawData, signature, encryptedData, iv }, i) => ({
          method: 'POST',
          path: '/v1/me/userinfo',
          headers: { ...JSON_HEADERS, authorization: `Bearer ${tokens[i]?.accessToken}` },
          body: JSON.stringify({ rawData, signature, encryptedData, iv }),
        }));
      }
      return { connections, requests };
    },
  };
}

function bareScenario(connections: number): Scenario {
  return {
    id: 'bare',
    target: 'bare',
    async prepare() {
      return { connections, requests: [{ method: 'GET', path: '/' }] };
    },
  };
}

/** The connections of each scenario: the targets are set at these. */
export const STANDARD_CONNECTIONS: Readonly<Record<ScenarioId, number>> = {
  bare: 50,
  me: 50,
  'login-0ms': 50,
  'login-100ms': 200,
  'proxy-100ms': 200,
  refresh: 50,
  userinfo: 50,
  'upstream-100ms': 200,
};

/** The scenarios, each at its standard connections, or all at `connections` when given (a what-if run). */
export function createScenarios(connections?: number): Map<ScenarioId, Scenario> {
  const c = (id: ScenarioId): number => connections ?? STANDARD_CONNECTIONS[id];
  const list = [
    bareScenario(c('bare')),
    meScenario(c('me')),
    loginScenario('login-0ms', 0, c('login-0ms')),
    loginScenario('login-100ms', 100, c('login-100ms')),
    loginScenario('proxy-100ms', 100, c('proxy-100ms'), 'proxy'),
    refreshScenario(c('refresh')),
    userInfoScenario(c('userinfo')),
    upstreamScenario(100, c('upstream-100ms')),
  ];
  return new Map(list.map((s) => [s.id, s]));
}

// ── one run ────────────────────────────────────────────────────────────

function cpuPercent(before: number | null, after: number | null, elapsedMs: number): number {
  return before === null || after === null || elapsedMs <= 0 ? 0 : ((after - before) / elapsedMs) * 100;
}

/** Wraps the requests so that the first failed responses are kept (their bodies explain the failure). */
function keepFailures(requests: AutocannonRequest[], failures: string[]): AutocannonRequest[] {
  return requests.map((request) => ({
    ...request,
    onResponse: (status, body, context) => {
      if ((status < 200 || status > 299) && failures.length < 3) failures.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      request.onResponse?.(status, body, context);
    },
  }));
}

/**
 * One autocannon run of `seconds` (it stops at its first sample tick after
 * them: ticks are 100 ms apart here, against its default 1 s). Every response
 * is recorded in `window`; errors, non-2xx answers and status codes are
 * autocannon's own counts over the whole run, its opening included. Resolves
 * with the time the run stopped.
 */
function runAutocannon(
  url: string,
  prepared: Prepared,
  seconds: number,
  window: RunWindow,
): Promise<{ result: AutocannonResult; endedMs: number }> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: prepared.connections,
        duration: seconds,
        sampleInt: 100,
        pipelining: 1,
        timeout: 10,
        requests: prepared.requests,
      },
      (error, result) => (error ? reject(error) : resolve({ result, endedMs: performance.now() })),
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
      window.record(performance.now(), responseTimeMs);
    });
  });
}

interface CpuReading {
  target: number | null;
  targetLoop: number | null;
  simulator: number | null;
  client: NodeJS.CpuUsage;
  atMs: number;
}

function readCpu(stack: Stack, target: Child): CpuReading {
  return {
    target: readCpuMs(target.pid),
    targetLoop: readCpuMs(target.pid, target.pid),
    simulator: readCpuMs(stack.simulator.pid),
    client: process.cpuUsage(),
    atMs: performance.now(),
  };
}

/**
 * Runs one scenario once and measures it: `openingSeconds` of load that are
 * not measured (the connections open together and the closed loop settles,
 * see `RunWindow`), then `durationSeconds` measured, in one autocannon run on
 * the same connections. CPU is read over the measured window; peak RSS, errors
 * and non-2xx answers cover the whole run.
 */
export async function runScenario(
  scenario: Scenario,
  stack: Stack,
  options: { durationSeconds: number; openingSeconds: number; round: number },
): Promise<RunResult> {
  const seconds = options.openingSeconds + options.durationSeconds;
  const prepared = await scenario.prepare(stack, seconds);
  const failures: string[] = [];
  prepared.requests = keepFailures(prepared.requests, failures);
  const target = stack[scenario.target];
  const sampler = new RssSampler(target.pid, 100);
  const started = performance.now();
  const window = new RunWindow(started + options.openingSeconds * 1000);
  let cpuBefore: CpuReading | undefined;
  const cpuTimer = setTimeout(
    () => {
      cpuBefore = readCpu(stack, target);
    },
    Math.max(0, window.startMs - performance.now()),
  );
  sampler.start();
  let ran: { result: AutocannonResult; endedMs: number };
  try {
    ran = await runAutocannon(target.url, prepared, seconds, window);
  } finally {
    clearTimeout(cpuTimer);
  }
  const { result, endedMs } = ran;
  const peakRssBytes = sampler.stop();
  const cpuAfter = readCpu(stack, target);
  // a run shorter than its opening (it failed early) has no window: CPU over the whole run then
  const before = cpuBefore ?? { ...cpuAfter, atMs: started };
  const elapsedMs = cpuAfter.atMs - before.atMs;
  const clientCpu = process.cpuUsage(before.client);
  const notes = [...((await prepared.finish?.()) ?? []), ...failures.map((f) => `first failures: ${f}`)];
  const measured = window.summary(endedMs);
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const run: RunResult = {
    scenario: scenario.id,
    round: options.round,
    connections: prepared.connections,
    durationSeconds: measured.seconds,
    openingSeconds: options.openingSeconds,
    requests: measured.requests,
    requestsPerSecond: measured.requestsPerSecond,
    p50Ms: measured.p50Ms,
    p99Ms: measured.p99Ms,
    maxMs: measured.maxMs,
    p99WithOpeningMs: measured.p99WithOpeningMs,
    requestsPerSecondWithOpening:
      endedMs > started ? ((measured.requests + measured.openingRequests) * 1000) / (endedMs - started) : 0,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
    peakRssBytes: peakRssBytes || (readMemory(target.pid)?.rss ?? 0),
    cpu: {
      target: cpuPercent(before.target, cpuAfter.target, elapsedMs),
      targetLoop: cpuPercent(before.targetLoop, cpuAfter.targetLoop, elapsedMs),
      simulator: cpuPercent(before.simulator, cpuAfter.simulator, elapsedMs),
      client: elapsedMs > 0 ? ((clientCpu.user + clientCpu.system) / 1000 / elapsedMs) * 100 : 0,
    },
    targetCpuUsPerRequest:
      before.target === null || cpuAfter.target === null || measured.requests === 0
        ? 0
        : ((cpuAfter.target - before.target) * 1000) / measured.requests,
    inputsShort: prepared.inputsShort?.() ?? 0,
    notes,
  };
  scenario.peakRate = Math.max(scenario.peakRate ?? 0, run.requestsPerSecond);
  return run;
}
