/**
 * Summaries, target verdicts and the markdown report of a benchmark run.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { type RunResult, type ScenarioId, STANDARD_CONNECTIONS } from './load.js';
import type { MicroResult } from './micro.js';
import type { ProfileSummary } from './profile.js';
import { median } from './stats.js';

export interface Machine {
  cores: number;
  memoryBytes: number;
  cpuModel: string;
  node: string;
  kernel: string;
}

export function machineInfo(): Machine {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel,
    node: process.version,
    kernel: release(),
  };
}

/** Medians over the rounds of a scenario's runs. */
export interface ScenarioSummary
  extends Pick<
    RunResult,
    | 'requestsPerSecond'
    | 'p50Ms'
    | 'p99Ms'
    | 'p99WithOpeningMs'
    | 'requestsPerSecondWithOpening'
    | 'errors'
    | 'non2xx'
    | 'statusCodes'
    | 'peakRssBytes'
    | 'cpu'
    | 'targetCpuUsPerRequest'
  > {
  scenario: ScenarioId;
  connections: number;
  rounds: number;
  /**
   * Against the bare server of the same round, median over the rounds (null
   * without a bare run): drift of the machine falls on both sides of a ratio.
   */
  vsBare: { requestsPerSecond: number; p99: number } | null;
  notes: string[];
}

export function summarize(runs: readonly RunResult[]): Map<ScenarioId, ScenarioSummary> {
  const byScenario = new Map<ScenarioId, RunResult[]>();
  for (const run of runs) byScenario.set(run.scenario, [...(byScenario.get(run.scenario) ?? []), run]);
  const bareOfRound = new Map(runs.filter((r) => r.scenario === 'bare').map((r) => [r.round, r] as const));
  const vsBare = (list: readonly RunResult[]): ScenarioSummary['vsBare'] => {
    const pairs = list.flatMap((run) => {
      const bare = bareOfRound.get(run.round);
      return bare && bare.requestsPerSecond > 0 && bare.p99Ms > 0 ? [{ run, bare }] : [];
    });
    if (pairs.length === 0) return null;
    return {
      requestsPerSecond: median(pairs.map(({ run, bare }) => run.requestsPerSecond / bare.requestsPerSecond)),
      p99: median(pairs.map(({ run, bare }) => run.p99Ms / bare.p99Ms)),
    };
  };
  const summaries = new Map<ScenarioId, ScenarioSummary>();
  for (const [scenario, list] of byScenario) {
    const statusCodes: Record<string, number> = {};
    for (const run of list) {
      for (const [code, count] of Object.entries(run.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
    }
    summaries.set(scenario, {
      scenario,
      connections: list[0]?.connections ?? 0,
      rounds: list.length,
      requestsPerSecond: median(list.map((r) => r.requestsPerSecond)),
      p50Ms: median(list.map((r) => r.p50Ms)),
      p99Ms: median(list.map((r) => r.p99Ms)),
      p99WithOpeningMs: median(list.map((r) => r.p99WithOpeningMs)),
      requestsPerSecondWithOpening: median(list.map((r) => r.requestsPerSecondWithOpening)),
      errors: list.reduce((sum, r) => sum + r.errors, 0),
      non2xx: list.reduce((sum, r) => sum + r.non2xx, 0),
      statusCodes,
      peakRssBytes: Math.max(...list.map((r) => r.peakRssBytes)),
      cpu: {
        target: median(list.map((r) => r.cpu.target)),
        targetLoop: median(list.map((r) => r.cpu.targetLoop)),
        simulator: median(list.map((r) => r.cpu.simulator)),
        client: median(list.map((r) => r.cpu.client)),
      },
      targetCpuUsPerRequest: median(list.map((r) => r.targetCpuUsPerRequest)),
      vsBare: vsBare(list),
      notes: [...new Set(list.flatMap((r) => r.notes))],
    });
  }
  return summaries;
}

export interface Verdict {
  target: string;
  measured: string;
  pass: boolean;
  /** how far from the target, e.g. "+23% above the floor" */
  margin: string;
}

const MIB = 2 ** 20;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A floor: measured must be ≥ target. */
function atLeast(target: string, measured: number, floor: number, show: (x: number) => string): Verdict {
  const pass = measured >= floor;
  const off = floor === 0 ? 0 : measured / floor - 1;
  return {
    target,
    measured: show(measured),
    pass,
    margin: pass ? `${pct(off)} above the floor` : `${pct(-off)} short of the floor`,
  };
}

/** A ceiling: measured must be ≤ target. */
function atMost(target: string, measured: number, ceiling: number, show: (x: number) => string): Verdict {
  const pass = measured <= ceiling;
  const off = ceiling === 0 ? 0 : measured / ceiling - 1;
  return {
    target,
    measured: show(measured),
    pass,
    margin: pass ? `${pct(-off)} under the ceiling` : `${pct(off)} over the ceiling`,
  };
}

function zeroErrors(target: string, summary: ScenarioSummary): Verdict {
  const failures = summary.errors + summary.non2xx;
  return {
    target,
    measured: `${summary.errors} errors, ${summary.non2xx} non-2xx`,
    pass: failures === 0 && summary.notes.length === 0,
    margin: failures === 0 ? '—' : `${failures} failed requests`,
  };
}

export const TARGETS = {
  meRatio: 0.4,
  meP99Factor: 4,
  login0Ratio: 0.05,
  login100IdealRps: 2000,
  login100Share: 0.95,
  login100P99Ms: 130,
  /** The issue's "140 MB", read as decimal megabytes: 133.5 MiB (the stricter of the two readings). */
  peakRssBytes: 140_000_000,
  microRatio: 1.15,
} as const;

/** Whether a scenario ran at the connections its targets are set at (not so in a `--connections` what-if run). */
export function atStandardConnections(summary: ScenarioSummary): boolean {
  return summary.connections === STANDARD_CONNECTIONS[summary.scenario];
}

/**
 * The targets a run can judge. A scenario's load targets (rates, ratios, p99,
 * memory) are judged only at its standard connections, ratios only against a
 * bare server at its own; zero errors is judged at any load.
 */
export function verdicts(
  summaries: Map<ScenarioId, ScenarioSummary>,
  micro: readonly MicroResult[],
  /** the service's lifetime peak (VmHWM) at the end of the run: it catches a peak between two samples */
  serviceHwmBytes = 0,
): Verdict[] {
  const out: Verdict[] = [];
  const standard = (id: ScenarioId): ScenarioSummary | undefined => {
    const summary = summaries.get(id);
    return summary && atStandardConnections(summary) ? summary : undefined;
  };
  const bareStandard = summaries.get('bare') === undefined || standard('bare') !== undefined;
  const ratioOf = (summary: ScenarioSummary | undefined) => (bareStandard ? summary?.vsBare : null);
  const me = summaries.get('me');
  const login0 = summaries.get('login-0ms');
  const login100 = summaries.get('login-100ms');
  const meRatio = ratioOf(standard('me'));
  const login0Ratio = ratioOf(standard('login-0ms'));
  const login100Judged = standard('login-100ms');
  const x = (v: number): string => `${v.toFixed(2)}×`;
  if (meRatio) {
    out.push(atLeast('GET /v1/me req/s ≥ 40% of bare', meRatio.requestsPerSecond, TARGETS.meRatio, pct));
    out.push(atMost('GET /v1/me p99 ≤ 4× bare p99', meRatio.p99, TARGETS.meP99Factor, x));
  }
  if (me) out.push(zeroErrors('GET /v1/me zero errors', me));
  if (login0Ratio) {
    out.push(
      atLeast('login, 0 ms upstream: req/s ≥ 5% of bare', login0Ratio.requestsPerSecond, TARGETS.login0Ratio, pct),
    );
  }
  if (login0) out.push(zeroErrors('login, 0 ms upstream: zero errors', login0));
  if (login100Judged) {
    const floor = TARGETS.login100IdealRps * TARGETS.login100Share;
    out.push(
      atLeast('login, 100 ms upstream: req/s ≥ 1,900 (95% of 2,000)', login100Judged.requestsPerSecond, floor, (v) =>
        v.toFixed(0),
      ),
    );
    out.push(
      atMost(
        'login, 100 ms upstream: p99 ≤ 130 ms',
        login100Judged.p99Ms,
        TARGETS.login100P99Ms,
        (v) => `${v.toFixed(1)} ms`,
      ),
    );
  }
  if (login100) out.push(zeroErrors('login, 100 ms upstream: zero errors', login100));
  for (const id of ['refresh', 'userinfo'] as const) {
    const summary = summaries.get(id);
    if (summary) out.push(zeroErrors(`${id}: zero errors`, summary));
  }
  const serviceRuns = [...summaries.values()].filter((s) => !REFERENCES.has(s.scenario));
  const service = serviceRuns.filter(atStandardConnections);
  if (service.length > 0) {
    // the lifetime peak counts only when every scenario the service ran was at its standard connections
    const lifetime = service.length === serviceRuns.length ? serviceHwmBytes : 0;
    const peak = Math.max(lifetime, ...service.map((s) => s.peakRssBytes));
    out.push(
      atMost(
        'service peak RSS ≤ 140 MB = 133.5 MiB (every scenario)',
        peak,
        TARGETS.peakRssBytes,
        (v) => `${(v / MIB).toFixed(1)} MiB = ${(v / 1e6).toFixed(1)} MB`,
      ),
    );
  }
  for (const m of micro.filter((r) => r.judged)) {
    out.push(atMost(`micro: ${m.name} within 15% of raw`, m.ratio, TARGETS.microRatio, x));
  }
  return out;
}

// ── markdown ───────────────────────────────────────────────────────────

/** Scenarios that drive something other than the service: references, not judged. */
const REFERENCES: ReadonlySet<ScenarioId> = new Set(['bare', 'upstream-100ms', 'proxy-100ms']);

const TITLES: Record<ScenarioId, string> = {
  bare: 'bare node:http (reference)',
  'upstream-100ms': 'WeChat simulator alone, 100 ms (reference: the ceiling of login at 100 ms)',
  'proxy-100ms': 'bare proxy in front of the simulator, 100 ms (reference: the least a service does)',
  me: 'GET /v1/me',
  'login-0ms': 'POST /v1/auth/login, 0 ms upstream',
  'login-100ms': 'POST /v1/auth/login, 100 ms upstream',
  refresh: 'POST /v1/auth/refresh',
  userinfo: 'POST /v1/me/userinfo',
};

const fixed = (v: number, digits = 0): string =>
  v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Where the service's CPU went during the load suite: by category, then the functions with the most self time. */
export function profileSection(summary: ProfileSummary, flameGraphFile: string | null): string[] {
  const ms = (v: number): string => `${fixed(v)} ms`;
  return [
    '## CPU profile of the service',
    '',
    `The service ran with \`--cpu-prof\` through the whole load suite (warm-ups included): ${ms(summary.totalMs)} sampled on its main thread, ${ms(summary.busyMs)} of them busy (${pct(summary.totalMs > 0 ? summary.busyMs / summary.totalMs : 0)}). A sample counts for the first frame, from the leaf up, that belongs to a category (native and \`node:\` internals count for the code that called them).${flameGraphFile ? ` Flame graph: [\`${flameGraphFile}\`](${flameGraphFile}).` : ''}`,
    '',
    '| category | time | share of busy |',
    '|---|---:|---:|',
    ...summary.categories.map((c) => `| ${c.name} | ${ms(c.ms)} | ${pct(c.shareOfBusy)} |`),
    '',
    '| function (most self time) | location | self | share of busy |',
    '|---|---|---:|---:|',
    ...summary.top.map(
      (f) =>
        `| \`${f.functionName || '(anonymous)'}\` | ${f.location || '—'} | ${ms(f.selfMs)} | ${pct(f.shareOfBusy)} |`,
    ),
    '',
  ];
}

/**
 * How login at 100 ms compares with its two references, when they ran: the
 * upstream alone (`upstream-100ms`, the ceiling) and the bare proxy in front of
 * it (`proxy-100ms`, what a service doing nothing else reaches on the machine).
 */
export function ceilingNote(summaries: Map<ScenarioId, ScenarioSummary>): string[] {
  const login = summaries.get('login-100ms');
  const upstream = summaries.get('upstream-100ms');
  const proxy = summaries.get('proxy-100ms');
  if (login === undefined) return [];
  const against = (reference: ScenarioSummary, name: string): string =>
    `${pct(login.requestsPerSecond / reference.requestsPerSecond)} of ${name} rate, with p99 ${fixed(Math.abs(login.p99Ms - reference.p99Ms), 1)} ms ${login.p99Ms >= reference.p99Ms ? 'above' : 'below'} it`;
  const sentences: string[] = [];
  const comparisons: string[] = [];
  if (upstream !== undefined && upstream.requestsPerSecond > 0) {
    sentences.push(
      `Ceiling of login at 100 ms on this machine: the simulator alone, driven the same way (${upstream.connections} connections, a fresh code per request, 100 ms added), answered ${fixed(upstream.requestsPerSecond)} req/s with p99 ${fixed(upstream.p99Ms, 1)} ms.`,
    );
    comparisons.push(against(upstream, "the simulator's"));
  }
  if (proxy !== undefined && proxy.requestsPerSecond > 0) {
    sentences.push(
      `A bare proxy in front of it (Node's HTTP server and client: reads the code, exchanges it over keep-alive connections, answers a fixed JSON; no store, no tokens), driven like login, answered ${fixed(proxy.requestsPerSecond)} req/s with p99 ${fixed(proxy.p99Ms, 1)} ms: what a service doing nothing else reaches here.`,
    );
    comparisons.push(against(proxy, "the proxy's"));
  }
  if (comparisons.length === 0) return [];
  const opening = [login, proxy, upstream].flatMap((x) =>
    x === undefined
      ? []
      : [
          `${x === login ? 'login' : x === proxy ? 'the proxy' : 'the simulator'} ${fixed(x.requestsPerSecondWithOpening)} req/s with p99 ${fixed(x.p99WithOpeningMs, 1)} ms`,
        ],
  );
  return [
    `${sentences.join(' ')} Login through the service reached ${comparisons.join('; and ')}. Over whole runs, the opening included (every connection's first request, sent together): ${opening.join('; ')}.`,
    '',
  ];
}

export function loadTable(summaries: Map<ScenarioId, ScenarioSummary>): string {
  const rows = [
    '| scenario | conns | req/s | vs bare | p50 ms | p99 ms | p99 vs bare | errors | non-2xx | peak RSS | CPU µs/req | CPU: target (its event loop) / simulator / load generator |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of summaries.values()) {
    const isBare = REFERENCES.has(s.scenario);
    const vs = s.vsBare && !isBare ? pct(s.vsBare.requestsPerSecond) : '—';
    const p99vs = s.vsBare && !isBare ? `${s.vsBare.p99.toFixed(2)}×` : '—';
    rows.push(
      `| ${TITLES[s.scenario]} | ${s.connections} | ${fixed(s.requestsPerSecond)} | ${vs} | ${fixed(s.p50Ms, 2)} | ${fixed(s.p99Ms, 2)} | ${p99vs} | ${s.errors} | ${s.non2xx} | ${(s.peakRssBytes / MIB).toFixed(1)} MiB | ${fixed(s.targetCpuUsPerRequest)} | ${fixed(s.cpu.target)}% (${fixed(s.cpu.targetLoop)}%) / ${fixed(s.cpu.simulator)}% / ${fixed(s.cpu.client)}% |`,
    );
  }
  return rows.join('\n');
}

export function microTable(micro: readonly MicroResult[]): string {
  const rows = ['| operation | wrapper | raw primitive | ratio | raw baseline does |', '|---|---:|---:|---:|---|'];
  for (const m of micro) {
    const ns = (v: number): string => (v >= 10_000 ? `${fixed(v / 1000, 1)} µs` : `${fixed(v)} ns`);
    rows.push(`| ${m.name} | ${ns(m.wrapperNs)} | ${ns(m.rawNs)} | ${m.ratio.toFixed(2)}× | ${m.raw} |`);
  }
  return rows.join('\n');
}

export function verdictTable(list: readonly Verdict[]): string {
  const rows = ['| target | measured | verdict | margin |', '|---|---:|---|---|'];
  for (const v of list) rows.push(`| ${v.target} | ${v.measured} | ${v.pass ? 'PASS' : '**MISS**'} | ${v.margin} |`);
  return rows.join('\n');
}

function roundsTable(runs: readonly RunResult[]): string {
  const rows = [
    '| round | scenario | req/s | vs bare | p50 ms | p99 ms | max ms | opening included: req/s, p99 ms | requests | errors | non-2xx | status codes | peak RSS |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  const bareOfRound = new Map(runs.filter((r) => r.scenario === 'bare').map((r) => [r.round, r] as const));
  for (const r of runs) {
    const bare = bareOfRound.get(r.round);
    const vs = bare && !REFERENCES.has(r.scenario) ? pct(r.requestsPerSecond / bare.requestsPerSecond) : '—';
    const codes = Object.entries(r.statusCodes)
      .map(([code, count]) => `${code}: ${count}`)
      .join(', ');
    rows.push(
      `| ${r.round} | ${r.scenario} | ${fixed(r.requestsPerSecond)} | ${vs} | ${fixed(r.p50Ms, 2)} | ${fixed(r.p99Ms, 2)} | ${fixed(r.maxMs, 1)} | ${fixed(r.requestsPerSecondWithOpening)}, ${fixed(r.p99WithOpeningMs, 2)} | ${r.requests} | ${r.errors} | ${r.non2xx} | ${codes} | ${(r.peakRssBytes / MIB).toFixed(1)} MiB |`,
    );
  }
  return rows.join('\n');
}

export interface ReportInput {
  mode: 'short' | 'full';
  date: Date;
  command: string;
  machine: Machine;
  settings: {
    rounds: number;
    durationSeconds: number;
    warmupSeconds: number;
    /** seconds at the start of every measured run that are not measured */
    openingSeconds: number;
    microTimeMs: number;
    microRounds: number;
    /** node flags given to the service's command in WXLOGIN_NODE_FLAGS (none: as shipped) */
    serviceFlags?: readonly string[];
    /** the service CLI script when not this checkout's */
    serviceCli?: string;
    /** extra environment of the service (`--service-env`) */
    serviceEnv?: Readonly<Record<string, string>>;
  };
  /** os.loadavg() before and after the run: other work on the machine shows here */
  loadAverage: { before: number[]; after: number[] };
  runs: readonly RunResult[];
  serviceHwmBytes: number;
  micro: readonly MicroResult[];
  /** the service's CPU profile over the load suite (`--profile`), summarised */
  profile?: { summary: ProfileSummary; flameGraphFile: string | null };
  /** free text appended at the end (analysis, known causes) */
  notes?: string;
}

export function renderReport(input: ReportInput): string {
  const summaries = summarize(input.runs);
  const list = verdicts(summaries, input.micro, input.serviceHwmBytes);
  const misses = list.filter((v) => !v.pass);
  const m = input.machine;
  const s = input.settings;
  const flags =
    s.serviceFlags && s.serviceFlags.length > 0
      ? `with \`WXLOGIN_NODE_FLAGS="${s.serviceFlags.join(' ')}"\``
      : 'with the node flags it ships with (`--max-semi-space-size=4 --max-old-space-size=128`)';
  const build = s.serviceCli
    ? `\`${s.serviceCli} serve\` (through the \`wxlogin\` command beside it)`
    : '`wxlogin serve` (the `packages/server/bin/wxlogin.js` command, running `packages/server/dist`)';
  const env = Object.entries(s.serviceEnv ?? {}).map(([name, value]) => `\`${name}=${value}\``);
  const offStandard = [...summaries.values()].filter((x) => !atStandardConnections(x));
  const parts = [
    `# wxlogin benchmark — ${input.date.toISOString().slice(0, 10)} (${input.mode})`,
    '',
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, Linux ${m.kernel}`,
    `- Node ${m.node}`,
    `- Load average (1, 5, 15 min) before the run: ${input.loadAverage.before.map((x) => x.toFixed(2)).join(', ')}; after: ${input.loadAverage.after.map((x) => x.toFixed(2)).join(', ')} (well above 0 before the run means other work competed for the cores)`,
    `- Command: \`${input.command}\``,
    `- Load: ${s.rounds} round(s) × ${s.durationSeconds} s per scenario, after ${s.warmupSeconds} s of warm-up each; every run opens its connections and loads them for ${s.openingSeconds} s before the ${s.durationSeconds} s measured on the same connections (the opening: the load generator opens every connection at once, so their first requests arrive together; the rate, p50, p99, max and CPU are the measured window's; errors, non-2xx answers, status codes and peak RSS are the whole run's, the opening included; the every-run table gives each run's rate and p99 with its opening); scenarios interleaved (every scenario in turn, then again; the upstream reference runs after them, its rounds back to back, so that no judged scenario follows it); medians over the rounds; "vs bare" is the median of each round's ratio to the bare server of the same round.`,
    `- Service: ${build} in its own process, ${flags}${env.length > 0 ? `, with ${env.join(' ')} in its environment` : ''}; SQLite in a temporary folder; \`LOG_LEVEL=warn\` (at \`info\` the service writes one log line per request); \`RATE_LIMIT_*=0\` (all load comes from one address). WeChat is the simulator, in its own process on the same machine. The load generator (autocannon) runs in the benchmark process, so the service, the simulator and the load generator share the same cores.`,
    `- References, each in its own process and measured in the same run: a bare \`node:http\` server answering a fixed small JSON; for login at 100 ms, the simulator alone (\`upstream-100ms\`) and a bare \`node:http\` proxy in front of it (\`proxy-100ms\`).`,
    '',
    '## Verdicts',
    '',
    misses.length === 0 ? 'Every target is met.' : `${misses.length} of ${list.length} targets missed.`,
    ...(offStandard.length > 0
      ? [
          '',
          `Not judged (a what-if run, its load targets are set at other connections): ${offStandard.map((x) => `${x.scenario} at ${x.connections} connections (standard: ${STANDARD_CONNECTIONS[x.scenario]})`).join(', ')}; only zero errors and the micro-benchmarks are judged at any load.`,
        ]
      : []),
    '',
    verdictTable(list),
    '',
    ...ceilingNote(summaries),
    '## Load (medians over rounds)',
    '',
    loadTable(summaries),
    '',
    `Service lifetime peak RSS (VmHWM) at the end of the run: ${(input.serviceHwmBytes / MIB).toFixed(1)} MiB (judged with the sampled peaks when every scenario ran at its standard connections). CPU is in % of one core, measured from /proc during the run; in brackets, the target's main thread alone: its event loop, with the garbage collector's pauses. The rest of the target's CPU is on its other threads: V8's helpers (concurrent and parallel garbage collection, compilation) and libuv's thread pool (the service signs tokens there).`,
    '',
  ];
  const notes = [...summaries.values()].flatMap((x) => x.notes.map((n) => `- ${x.scenario}: ${n}`));
  if (notes.length > 0) parts.push('Harness notes:', '', ...notes, '');
  if (input.micro.length > 0) {
    parts.push(
      '## Micro-benchmarks (median time per call, median of rounds)',
      '',
      `tinybench, ${s.microRounds} round(s) of ${s.microTimeMs} ms per task, wrapper and raw in turn; the ratio is the median of the per-round ratios (wrapper and raw measured back to back).`,
      '',
      microTable(input.micro),
      '',
    );
  }
  if (input.profile) parts.push(...profileSection(input.profile.summary, input.profile.flameGraphFile));
  parts.push('## Every run', '', roundsTable(input.runs), '');
  if (input.notes) parts.push(input.notes.trim(), '');
  return parts.join('\n');
}
