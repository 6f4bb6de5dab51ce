import { describe, expect, it } from 'vitest';
import type { RunResult } from './load.js';
import { INPUT_RETRIES, measureWithEnoughInputs } from './suite.js';

/** Runs that report the given shortfalls in turn (only the fields the retry reads). */
function runsShort(shortfalls: number[]): { measure: () => Promise<RunResult>; calls: () => number } {
  let calls = 0;
  return {
    measure: async () => {
      const inputsShort = shortfalls[calls] ?? 0;
      calls++;
      return { round: calls, inputsShort } as RunResult;
    },
    calls: () => calls,
  };
}

describe('measureWithEnoughInputs', () => {
  it('keeps a run whose inputs sufficed, without measuring again', async () => {
    const runs = runsShort([0]);
    const retried: number[] = [];
    const run = await measureWithEnoughInputs(runs.measure, (n) => retried.push(n));
    expect({ calls: runs.calls(), retried, kept: run.round }).toEqual({ calls: 1, retried: [], kept: 1 });
  });

  it('measures again when the inputs ran out, and keeps the first run that had enough', async () => {
    const runs = runsShort([101, 0, 0]);
    const retried: number[] = [];
    const run = await measureWithEnoughInputs(runs.measure, (n) => retried.push(n));
    expect({ calls: runs.calls(), retried, kept: run.round, short: run.inputsShort }).toEqual({
      calls: 2,
      retried: [101],
      kept: 2,
      short: 0,
    });
  });

  it(`gives up after ${INPUT_RETRIES} more runs and returns the last one, still short`, async () => {
    const runs = runsShort(Array.from({ length: INPUT_RETRIES + 3 }, (_, i) => 10 + i));
    const retried: number[] = [];
    const run = await measureWithEnoughInputs(runs.measure, (n) => retried.push(n));
    expect(runs.calls()).toBe(INPUT_RETRIES + 1);
    expect(retried).toEqual(Array.from({ length: INPUT_RETRIES }, (_, i) => 10 + i));
    expect(run.inputsShort).toBe(10 + INPUT_RETRIES);
  });
});
