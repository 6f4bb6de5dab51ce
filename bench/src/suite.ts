/**
 * The load suite: starts the simulator, the bare reference and the service as
 * child processes, warms every scenario up, then runs the rounds (every
 * scenario in turn, A B C … A B C …), then the trailing references
 * (`TRAILING_SCENARIOS`), and stops everything.
 */
import {
  createScenarios,
  type RunResult,
  runScenario,
  SCENARIO_IDS,
  type ScenarioId,
  type Stack,
  TRAILING_SCENARIOS,
} from './load.js';
import { assertBuilt, readMemory, startBare, startProxy, startService, startSimulator } from './processes.js';

export interface LoadSuiteOptions {
  rounds: number;
  /** seconds per measured run */
  durationSeconds: number;
  /** seconds of unrecorded warm-up per scenario, once before its first round (0: none) */
  warmupSeconds: number;
  /**
   * seconds at the start of every measured run that are not measured: its
   * connections open together and the closed loop settles (see `RunWindow`)
   */
  openingSeconds: number;
  scenarios?: readonly ScenarioId[];
  /** extra node flags of the service (e.g. --cpu-prof) */
  serviceNodeFlags?: string[];
  /** another build's service CLI script (default: this checkout's) */
  serviceCli?: string;
  /** extra environment of the service (e.g. allocator settings) */
  serviceEnv?: Record<string, string>;
  /** every scenario at these connections instead of its standard ones (a what-if run: not judged) */
  connections?: number;
  log?: (line: string) => void;
}

export interface LoadSuiteResult {
  runs: RunResult[];
  /** VmHWM (lifetime peak RSS) of the service process at the end, bytes */
  serviceHwmBytes: number;
}

/** A run is measured again at most this many times when its single-use inputs ran out. */
export const INPUT_RETRIES = 2;

/**
 * Runs `measure` until its single-use inputs (login codes) sufficed, at most
 * `INPUT_RETRIES` more times. Codes are minted before a run for a guessed
 * rate; a machine faster than the guess runs out, and the requests past that
 * point measure a refused code, not a login. Each run raises the scenario's
 * peak rate, so the next one is sized by the rate actually reached. A run that
 * still ran short is returned as it is: its notes say so and fail the verdict.
 */
export async function measureWithEnoughInputs(
  measure: () => Promise<RunResult>,
  onRetry: (inputsShort: number) => void,
): Promise<RunResult> {
  let run = await measure();
  for (let retry = 0; run.inputsShort > 0 && retry < INPUT_RETRIES; retry++) {
    onRetry(run.inputsShort);
    run = await measure();
  }
  return run;
}

export async function runLoadSuite(options: LoadSuiteOptions): Promise<LoadSuiteResult> {
  assertBuilt();
  const log = options.log ?? (() => {});
  const ids = options.scenarios ?? SCENARIO_IDS;
  const scenarios = createScenarios(options.connections);
  const simulator = await startSimulator();
  const started: Array<{ stop(): Promise<void> }> = [simulator];
  try {
    const bare = await startBare();
    started.push(bare);
    const service = await startService({
      simulatorUrl: simulator.url,
      ...(options.serviceNodeFlags ? { nodeFlags: options.serviceNodeFlags } : {}),
      ...(options.serviceCli ? { cli: options.serviceCli } : {}),
      ...(options.serviceEnv ? { env: options.serviceEnv } : {}),
    });
    started.push(service);
    const proxy = await startProxy(simulator.url);
    started.push(proxy);
    const stack: Stack = { service, simulator, bare, proxy };
    log(`service pid ${service.pid} at ${service.url}; simulator at ${simulator.url}; bare server at ${bare.url}`);

    const runs: RunResult[] = [];
    const runRounds = async (group: readonly ScenarioId[]): Promise<void> => {
      for (let round = options.warmupSeconds > 0 ? 0 : 1; round <= options.rounds; round++) {
        const durationSeconds = round === 0 ? options.warmupSeconds : options.durationSeconds;
        for (const id of group) {
          const scenario = scenarios.get(id);
          if (scenario === undefined) throw new Error(`unknown scenario ${id}`);
          const run = await measureWithEnoughInputs(
            () =>
              runScenario(scenario, stack, {
                durationSeconds,
                openingSeconds: round === 0 ? 0 : options.openingSeconds,
                round,
              }),
            (short) => log(`${id}: ${short} requests found no fresh code; run again with codes for the rate reached`),
          );
          log(
            `${round === 0 ? 'warm-up' : `round ${round}`}  ${id.padEnd(11)} ${run.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(2)} ms  errors ${run.errors}  non-2xx ${run.non2xx}  peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(1)} MiB${run.notes.length > 0 ? `  NOTE ${run.notes.join('; ')}` : ''}`,
          );
          if (round > 0) runs.push(run);
        }
      }
    };
    // interleaved rounds (A B C … A B C …), then the trailing references, each its rounds back to back
    await runRounds(ids.filter((id) => !TRAILING_SCENARIOS.has(id)));
    const serviceHwmBytes = readMemory(service.pid)?.hwm ?? 0;
    for (const id of ids.filter((id) => TRAILING_SCENARIOS.has(id))) await runRounds([id]);
    return { runs, serviceHwmBytes };
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}
