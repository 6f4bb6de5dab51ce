/**
 * Keeps the benchmark harness from rotting: every load scenario runs for about
 * a second against the real service (built packages), every micro-benchmark
 * briefly, and the report renders. No timing is asserted here: the numbers
 * only have to exist, and no request may fail.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIO_IDS } from './src/load.js';
import { runMicro } from './src/micro.js';
import { machineInfo, renderReport } from './src/report.js';
import { runLoadSuite } from './src/suite.js';

describe('benchmark harness (smoke)', () => {
  it('runs every load scenario against the real service with zero errors, and renders the report', async () => {
    const { runs, serviceHwmBytes } = await runLoadSuite({
      rounds: 1,
      durationSeconds: 1,
      warmupSeconds: 0,
      openingSeconds: 0.5,
    });
    expect(runs.map((r) => r.scenario)).toEqual(SCENARIO_IDS);
    for (const run of runs) {
      expect({ scenario: run.scenario, notes: run.notes, errors: run.errors, non2xx: run.non2xx }).toEqual({
        scenario: run.scenario,
        notes: [],
        errors: 0,
        non2xx: 0,
      });
      expect(run.requests).toBeGreaterThan(0);
      expect(run.requestsPerSecond).toBeGreaterThan(0);
      expect(run.p50Ms).toBeGreaterThan(0);
      expect(run.p99Ms).toBeGreaterThanOrEqual(run.p50Ms);
      // the opening was loaded but not measured: the window is the second after it
      expect(run.openingSeconds).toBe(0.5);
      expect(run.durationSeconds).toBeGreaterThan(0.8);
      expect(run.durationSeconds).toBeLessThan(1.3);
      expect(run.p99WithOpeningMs).toBeGreaterThan(0);
      // the whole run's rate counts the opening's responses over its 1.5 s or so
      expect(run.requestsPerSecondWithOpening).toBeGreaterThan(0);
      expect(run.requestsPerSecondWithOpening * (run.openingSeconds + run.durationSeconds)).toBeGreaterThan(
        run.requests,
      );
      expect(run.peakRssBytes).toBeGreaterThan(0);
      expect(Object.keys(run.statusCodes)).toEqual(['200']);
    }
    expect(serviceHwmBytes).toBeGreaterThan(0);

    const micro = await runMicro({ timeMs: 20, rounds: 1 });
    expect(micro.length).toBeGreaterThanOrEqual(6);
    for (const m of micro) {
      expect(m.wrapperNs).toBeGreaterThan(0);
      expect(m.rawNs).toBeGreaterThan(0);
    }

    const report = renderReport({
      mode: 'short',
      date: new Date(),
      command: 'vitest',
      machine: machineInfo(),
      settings: {
        rounds: 1,
        durationSeconds: 1,
        warmupSeconds: 0,
        openingSeconds: 0.5,
        microTimeMs: 20,
        microRounds: 1,
      },
      loadAverage: { before: [0, 0, 0], after: [0, 0, 0] },
      runs,
      serviceHwmBytes,
      micro,
    });
    expect(report).toContain('## Verdicts');
    expect(report).toContain('GET /v1/me');
    expect(report).not.toContain('NaN');
  }, 180_000);
});
