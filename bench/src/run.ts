/**
 * `npm run bench` / `npm run bench:short`: the load suite and the
 * micro-benchmarks, written to bench/results/<date>-<full|short>.md and
 * bench/results/latest.md. Run `npm run build` at the repository root first.
 *
 * Options: --short, --rounds N, --duration S, --warmup S,
 * --scenarios me,login-0ms,…, --no-micro, --no-load, --micro-time MS,
 * --profile (writes the service's CPU profile to bench/.tmp/profiles),
 * --service-flags="<node flags>" (e.g. heap limits for the service process; note the =),
 * --service-cli PATH (another build's packages/server/dist/cli.js, to compare),
 * --no-write (print only).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type RunResult, SCENARIO_IDS, type ScenarioId } from './load.js';
import { type MicroResult, runMicro } from './micro.js';
import { REPO_ROOT } from './processes.js';
import { machineInfo, renderReport } from './report.js';
import { runLoadSuite } from './suite.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    scenarios: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    'no-load': { type: 'boolean', default: false },
    'micro-time': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'service-flags': { type: 'string' },
    'service-cli': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const mode = values.short ? 'short' : 'full';
const number = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`not a number: ${text}`);
  return value;
};
const settings = {
  rounds: number(values.rounds, mode === 'short' ? 2 : 3),
  durationSeconds: number(values.duration, mode === 'short' ? 3 : 10),
  warmupSeconds: number(values.warmup, mode === 'short' ? 1 : 3),
  microTimeMs: number(values['micro-time'], mode === 'short' ? 40 : 100),
  microRounds: mode === 'short' ? 7 : 15,
};
const scenarios = (values.scenarios?.split(',') ?? SCENARIO_IDS).map((id) => {
  if (!SCENARIO_IDS.includes(id as ScenarioId))
    throw new TypeError(`unknown scenario ${id} (${SCENARIO_IDS.join(', ')})`);
  return id as ScenarioId;
});
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const argv = process.argv.slice(2);
const lifecycle = process.env.npm_lifecycle_event;
const extra = lifecycle === 'bench:short' ? argv.filter((a) => a !== '--short') : argv;
const command =
  lifecycle === 'bench' || lifecycle === 'bench:short'
    ? `npm run ${lifecycle}${extra.length > 0 ? ` -- ${extra.join(' ')}` : ''}`
    : `node bench/dist/run.js${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;

const serviceFlags = values['service-flags']?.split(' ').filter((flag) => flag !== '') ?? [];
const loadBefore = loadavg();
let runs: RunResult[] = [];
let serviceHwmBytes = 0;
if (!values['no-load']) {
  const profileDir = join(REPO_ROOT, 'bench/.tmp/profiles');
  if (values.profile) mkdirSync(profileDir, { recursive: true });
  const load = await runLoadSuite({
    ...settings,
    scenarios,
    serviceNodeFlags: [...serviceFlags, ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    ...(values['service-cli'] ? { serviceCli: resolve(values['service-cli']) } : {}),
    log,
  });
  runs = load.runs;
  serviceHwmBytes = load.serviceHwmBytes;
  if (values.profile) log(`service CPU profile written to ${profileDir}`);
}
let micro: MicroResult[] = [];
if (!values['no-micro']) {
  micro = await runMicro({ timeMs: settings.microTimeMs, rounds: settings.microRounds, log });
}

const date = new Date();
const report = renderReport({
  mode,
  date,
  command,
  machine: machineInfo(),
  settings: {
    ...settings,
    serviceFlags,
    ...(values['service-cli'] ? { serviceCli: resolve(values['service-cli']) } : {}),
  },
  loadAverage: { before: loadBefore, after: loadavg() },
  runs,
  serviceHwmBytes,
  micro,
});
if (values['no-write']) {
  log(report);
} else {
  const dir = join(REPO_ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date.toISOString().slice(0, 10)}-${mode}.md`);
  writeFileSync(file, report);
  writeFileSync(join(dir, 'latest.md'), report);
  log(report);
  log(`written: ${file} and ${join(dir, 'latest.md')}`);
}
