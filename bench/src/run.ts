/**
 * `npm run bench` / `npm run bench:short`: the load suite and the
 * micro-benchmarks, written to bench/results/<date>-<full|short>.md and
 * bench/results/latest.md. Run `npm run build` at the repository root first.
 *
 * Options: --short, --rounds N, --duration S, --warmup S, --opening S,
 * --scenarios me,login-0ms,…, --no-micro, --no-load, --micro-time MS,
 * --profile (the service runs with --cpu-prof, its profile left in bench/.tmp/profiles;
 *   the report, named <date>-<mode>-profile.md, gets a CPU profile section and a flame
 *   graph beside it, and latest.md is left alone: profiling slows the service),
 * --service-flags="<node flags>" (e.g. heap limits for the service process; note the =),
 * --service-cli PATH (another build's packages/server/dist/cli.js, to compare),
 * --service-env NAME=VALUE (repeatable; extra environment of the service, e.g. allocator settings),
 * --connections N (every scenario at N connections: a what-if run, its load targets not judged),
 * --no-write (print only).
 * A report never replaces an earlier one of the same day and mode: the name gets -2, -3, ….
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type RunResult, SCENARIO_IDS, type ScenarioId } from './load.js';
import { type MicroResult, runMicro } from './micro.js';
import { parseServiceEnv, REPO_ROOT } from './processes.js';
import { flameGraphSvg, loadCpuProfile, type ProfileSummary, summarizeProfile } from './profile.js';
import { machineInfo, renderReport } from './report.js';
import { runLoadSuite } from './suite.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    opening: { type: 'string' },
    scenarios: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    'no-load': { type: 'boolean', default: false },
    'micro-time': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'service-flags': { type: 'string' },
    'service-cli': { type: 'string' },
    'service-env': { type: 'string', multiple: true },
    connections: { type: 'string' },
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
  openingSeconds: number(values.opening, mode === 'short' ? 1 : 2),
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

const serviceEnv = parseServiceEnv(values['service-env'] ?? []);
const connections = values.connections === undefined ? undefined : number(values.connections, 0);
if (connections !== undefined && !(Number.isInteger(connections) && connections >= 1)) {
  throw new TypeError(`--connections wants a whole number ≥ 1, got ${values.connections}`);
}
const serviceFlags = values['service-flags']?.split(' ').filter((flag) => flag !== '') ?? [];
const loadBefore = loadavg();
const date = new Date();
const resultsDir = join(REPO_ROOT, 'bench/results');
/** `<date>-<mode>[-profile]`, then `-2`, `-3`, … when a report of that name exists: a run never replaces another's. */
const reportName = ((base: string): string => {
  let name = base;
  for (let n = 2; existsSync(join(resultsDir, `${name}.md`)); n++) name = `${base}-${n}`;
  return name;
})(`${date.toISOString().slice(0, 10)}-${mode}${values.profile ? '-profile' : ''}`);
const profileDir = join(REPO_ROOT, 'bench/.tmp/profiles');
const cpuProfiles = (): string[] =>
  readdirSync(profileDir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(profileDir, name));
let runs: RunResult[] = [];
let serviceHwmBytes = 0;
let profile: { summary: ProfileSummary; flameGraphFile: string | null } | undefined;
if (!values['no-load']) {
  if (values.profile) {
    mkdirSync(profileDir, { recursive: true });
    // this run's profile only
    for (const file of cpuProfiles()) rmSync(file);
  }
  const load = await runLoadSuite({
    ...settings,
    scenarios,
    serviceNodeFlags: [...serviceFlags, ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    ...(values['service-cli'] ? { serviceCli: resolve(values['service-cli']) } : {}),
    ...(Object.keys(serviceEnv).length > 0 ? { serviceEnv } : {}),
    ...(connections !== undefined ? { connections } : {}),
    log,
  });
  runs = load.runs;
  serviceHwmBytes = load.serviceHwmBytes;
  if (values.profile) {
    const newest = cpuProfiles().sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (newest === undefined) throw new Error(`--profile: the service left no CPU profile in ${profileDir}`);
    const cpu = loadCpuProfile(newest);
    const svg = flameGraphSvg(cpu, {
      title: `wxlogin service, ${scenarios.join(', ')} (${date.toISOString().slice(0, 10)})`,
    });
    // beside the report it belongs to (a file name relative to it), or beside the profile with --no-write
    const svgName = `${reportName}-flame.svg`;
    const svgPath = values['no-write'] ? join(profileDir, 'flame.svg') : join(resultsDir, svgName);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(svgPath, svg);
    profile = { summary: summarizeProfile(cpu), flameGraphFile: values['no-write'] ? svgPath : svgName };
    log(`service CPU profile: ${newest}; flame graph: ${svgPath}`);
  }
}
let micro: MicroResult[] = [];
if (!values['no-micro']) {
  micro = await runMicro({ timeMs: settings.microTimeMs, rounds: settings.microRounds, log });
}

const report = renderReport({
  mode,
  date,
  command,
  machine: machineInfo(),
  settings: {
    ...settings,
    serviceFlags,
    ...(values['service-cli'] ? { serviceCli: resolve(values['service-cli']) } : {}),
    ...(Object.keys(serviceEnv).length > 0 ? { serviceEnv } : {}),
  },
  loadAverage: { before: loadBefore, after: loadavg() },
  runs,
  serviceHwmBytes,
  micro,
  ...(profile ? { profile } : {}),
});
if (values['no-write']) {
  log(report);
} else {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${reportName}.md`);
  writeFileSync(file, report);
  // a profiled run is slower than the service is: it does not become the latest result
  if (!values.profile) writeFileSync(join(resultsDir, 'latest.md'), report);
  log(report);
  log(`written: ${file}${values.profile ? '' : ` and ${join(resultsDir, 'latest.md')}`}`);
}
