import { describe, expect, it } from 'vitest';
import { type RunResult, type ScenarioId, STANDARD_CONNECTIONS } from './load.js';
import { ceilingNote, renderReport, summarize, verdicts } from './report.js';

const MIB = 2 ** 20;

function run(scenario: ScenarioId, fields: Partial<RunResult> = {}): RunResult {
  return {
    scenario,
    round: 1,
    connections: STANDARD_CONNECTIONS[scenario],
    durationSeconds: 10,
    requests: 10_000,
    requestsPerSecond: 1000,
    p50Ms: 1,
    p99Ms: 2,
    maxMs: 3,
    openingSeconds: 1,
    p99WithOpeningMs: 2.5,
    requestsPerSecondWithOpening: 990,
    errors: 0,
    non2xx: 0,
    statusCodes: { 200: 10_000 },
    peakRssBytes: 100 * MIB,
    cpu: { target: 100, targetLoop: 70, simulator: 0, client: 50 },
    targetCpuUsPerRequest: 40,
    inputsShort: 0,
    notes: [],
    ...fields,
  };
}

/** A run where every load target is met by a wide margin. */
function passingRuns(connections?: number): RunResult[] {
  const at = (id: ScenarioId) => ({ connections: connections ?? STANDARD_CONNECTIONS[id] });
  return [
    run('bare', { ...at('bare'), requestsPerSecond: 40_000, p99Ms: 3 }),
    run('me', { ...at('me'), requestsPerSecond: 30_000, p99Ms: 4 }),
    run('login-0ms', { ...at('login-0ms'), requestsPerSecond: 4000 }),
    run('login-100ms', { ...at('login-100ms'), requestsPerSecond: 1990, p99Ms: 110 }),
  ];
}

const targetsOf = (runs: RunResult[]) => verdicts(summarize(runs), []).map((v) => [v.target, v.pass] as const);

describe('verdicts', () => {
  it('judges every load target at the standard connections', () => {
    const judged = targetsOf(passingRuns());
    expect(judged).toEqual([
      ['GET /v1/me req/s ≥ 40% of bare', true],
      ['GET /v1/me p99 ≤ 4× bare p99', true],
      ['GET /v1/me zero errors', true],
      ['login, 0 ms upstream: req/s ≥ 5% of bare', true],
      ['login, 0 ms upstream: zero errors', true],
      ['login, 100 ms upstream: req/s ≥ 1,900 (95% of 2,000)', true],
      ['login, 100 ms upstream: p99 ≤ 130 ms', true],
      ['login, 100 ms upstream: zero errors', true],
      ['service peak RSS ≤ 140 MB = 133.5 MiB (every scenario)', true],
    ]);
  });

  it('judges a miss as a miss', () => {
    const runs = passingRuns().map((r) =>
      r.scenario === 'login-100ms' ? { ...r, requestsPerSecond: 1500, p99Ms: 180, peakRssBytes: 150 * MIB } : r,
    );
    const missed = verdicts(summarize(runs), [])
      .filter((v) => !v.pass)
      .map((v) => v.target);
    expect(missed).toEqual([
      'login, 100 ms upstream: req/s ≥ 1,900 (95% of 2,000)',
      'login, 100 ms upstream: p99 ≤ 130 ms',
      'service peak RSS ≤ 140 MB = 133.5 MiB (every scenario)',
    ]);
  });

  it('reads the RSS target as decimal megabytes: 135 MiB (141.6 MB) misses it, 133 MiB passes', () => {
    const rssVerdict = (peakRssBytes: number) =>
      verdicts(
        summarize(passingRuns().map((r) => (r.scenario === 'login-100ms' ? { ...r, peakRssBytes } : r))),
        [],
      ).find((v) => v.target.startsWith('service peak RSS'));
    expect(rssVerdict(135 * MIB)?.pass).toBe(false);
    expect(rssVerdict(135 * MIB)?.measured).toBe('135.0 MiB = 141.6 MB');
    expect(rssVerdict(133 * MIB)?.pass).toBe(true);
  });

  it('judges the lifetime peak (VmHWM) too, which catches a peak between two samples, but not in a what-if run', () => {
    const rss = (runs: RunResult[], hwm: number) =>
      verdicts(summarize(runs), [], hwm).find((v) => v.target.startsWith('service peak RSS'));
    expect(rss(passingRuns(), 120 * MIB)?.pass).toBe(true);
    expect(rss(passingRuns(), 135 * MIB)?.pass).toBe(false);
    const whatIf = passingRuns().map((r) => (r.scenario === 'login-100ms' ? { ...r, connections: 20 } : r));
    expect(rss(whatIf, 135 * MIB)?.pass).toBe(true);
  });

  it('a what-if run at other connections judges only zero errors', () => {
    // at 20 connections login at 100 ms cannot pass 1,900 req/s: it must not be judged, neither way
    const runs = passingRuns(20).map((r) =>
      r.scenario === 'login-100ms' ? { ...r, requestsPerSecond: 190, peakRssBytes: 150 * MIB } : r,
    );
    expect(targetsOf(runs)).toEqual([
      ['GET /v1/me zero errors', true],
      ['login, 0 ms upstream: zero errors', true],
      ['login, 100 ms upstream: zero errors', true],
    ]);
  });

  it('a ratio is not judged against a bare server run at other connections', () => {
    const runs = passingRuns().map((r) => (r.scenario === 'bare' ? { ...r, connections: 10 } : r));
    const judged = targetsOf(runs).map(([target]) => target);
    expect(judged).not.toContain('GET /v1/me req/s ≥ 40% of bare');
    expect(judged).not.toContain('login, 0 ms upstream: req/s ≥ 5% of bare');
    expect(judged).toContain('login, 100 ms upstream: p99 ≤ 130 ms');
  });
});

describe('renderReport', () => {
  const render = (runs: RunResult[], serviceEnv?: Record<string, string>) =>
    renderReport({
      mode: 'short',
      date: new Date('2026-01-02T00:00:00Z'),
      command: 'test',
      machine: { cores: 2, cpuModel: 'cpu', memoryBytes: 2 ** 30, kernel: 'k', node: 'v20' },
      settings: {
        rounds: 1,
        durationSeconds: 10,
        warmupSeconds: 0,
        openingSeconds: 1,
        microTimeMs: 10,
        microRounds: 1,
        ...(serviceEnv ? { serviceEnv } : {}),
      },
      loadAverage: { before: [0, 0, 0], after: [0, 0, 0] },
      runs,
      serviceHwmBytes: 100 * MIB,
      micro: [],
    });

  it('names the scenarios of a what-if run that were not judged, and their standard connections', () => {
    const report = render(passingRuns(20));
    expect(report).toContain('bare at 20 connections (standard: 50), me at 20 connections (standard: 50)');
    expect(report).toContain('login-100ms at 20 connections (standard: 200)');
    expect(render(passingRuns())).not.toContain('Not judged');
  });

  it("shows the target's CPU with its event loop's share, medians over the rounds", () => {
    const cpu = (target: number, targetLoop: number) => ({ cpu: { target, targetLoop, simulator: 10, client: 40 } });
    const report = render([
      ...passingRuns(),
      run('login-100ms', { round: 2, requestsPerSecond: 1990, p99Ms: 110, ...cpu(90, 62) }),
      run('login-100ms', { round: 3, requestsPerSecond: 1990, p99Ms: 110, ...cpu(80, 55) }),
    ]);
    expect(report).toContain('CPU: target (its event loop) / simulator / load generator');
    // rounds: 100 (70), 90 (62), 80 (55): each median on its own
    const row = report.split('\n').find((line) => line.startsWith('| POST /v1/auth/login, 100 ms upstream'));
    expect(row).toMatch(/\| 90% \(62%\) \/ 10% \/ 40% \|$/);
  });

  it("says how long each run's opening was, and shows each run's rate and p99 with its opening", () => {
    const report = render([
      run('login-100ms', { p99Ms: 120, p99WithOpeningMs: 187.5, maxMs: 210, requestsPerSecondWithOpening: 1874.4 }),
    ]);
    expect(report).toContain('loads them for 1 s before the 10 s measured on the same connections');
    const row = report.split('\n').find((line) => line.startsWith('| 1 | login-100ms'));
    expect(row).toContain('| 120.00 | 210.0 | 1,874, 187.50 |');
  });

  it('records the extra environment the service ran with', () => {
    expect(render(passingRuns(), { MALLOC_MMAP_THRESHOLD_: '65536' })).toContain(
      'with `MALLOC_MMAP_THRESHOLD_=65536` in its environment',
    );
    expect(render(passingRuns())).not.toContain('in its environment');
  });
});

describe('ceilingNote', () => {
  const login = run('login-100ms', { connections: 200, requestsPerSecond: 1800, p99Ms: 140 });
  const upstream = run('upstream-100ms', { connections: 200, requestsPerSecond: 2000, p99Ms: 120 });
  const proxy = run('proxy-100ms', { connections: 200, requestsPerSecond: 1875, p99Ms: 145 });

  it('compares login at 100 ms with both references, each when it ran', () => {
    const [both] = ceilingNote(summarize([login, upstream, proxy]));
    expect(both).toContain('the simulator alone, driven the same way (200 connections');
    expect(both).toContain('answered 2,000 req/s with p99 120.0 ms');
    expect(both).toContain('answered 1,875 req/s with p99 145.0 ms: what a service doing nothing else reaches here');
    expect(both).toContain(
      "reached 90.0% of the simulator's rate, with p99 20.0 ms above it; and 96.0% of the proxy's rate, with p99 5.0 ms below it.",
    );
    const [onlyProxy] = ceilingNote(summarize([login, proxy]));
    expect(onlyProxy).not.toContain('simulator alone');
    expect(onlyProxy).toContain("reached 96.0% of the proxy's rate");
    const [onlyUpstream] = ceilingNote(summarize([login, upstream]));
    expect(onlyUpstream).not.toContain('bare proxy');
    expect(onlyUpstream).toContain("reached 90.0% of the simulator's rate, with p99 20.0 ms above it.");
  });

  it('gives the p99 of whole runs, the opening included, beside the measured one', () => {
    const [note] = ceilingNote(
      summarize([
        { ...login, p99WithOpeningMs: 190, requestsPerSecondWithOpening: 1780 },
        { ...upstream, p99WithOpeningMs: 118, requestsPerSecondWithOpening: 1990 },
        { ...proxy, p99WithOpeningMs: 160, requestsPerSecondWithOpening: 1860 },
      ]),
    );
    expect(note).toContain('the opening included');
    expect(note).toContain(
      'login 1,780 req/s with p99 190.0 ms; the proxy 1,860 req/s with p99 160.0 ms; the simulator 1,990 req/s with p99 118.0 ms.',
    );
  });

  it('says nothing without login at 100 ms or without a reference', () => {
    expect(ceilingNote(summarize([upstream, proxy]))).toEqual([]);
    expect(ceilingNote(summarize([login]))).toEqual([]);
  });

  it('keeps the references out of the verdicts: a proxy over the RSS target is not the service', () => {
    const heavyProxy = { ...proxy, peakRssBytes: 500 * MIB, requestsPerSecond: 1 };
    expect(targetsOf([...passingRuns(), heavyProxy])).toEqual(targetsOf(passingRuns()));
  });
});
