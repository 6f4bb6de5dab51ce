/**
 * Reading, summarising and drawing the V8 CPU profile (`node --cpu-prof`) the
 * service leaves behind when the benchmark runs with `--profile`: time by
 * category (a sample counts for the first frame, from the leaf up, that
 * belongs to a specific category; `node:` internals and native frames count
 * for the code that called them), the functions with the most self time,
 * Brendan Gregg's folded stacks, and a self-contained SVG flame graph.
 */
import { readFileSync } from 'node:fs';

/** A V8 call frame, only the fields used here. */
export interface CpuCallFrame {
  functionName: string;
  url: string;
  /** 0-based */
  lineNumber: number;
  /** 0-based */
  columnNumber: number;
}

/** A node of the V8 call tree. */
export interface CpuProfileNode {
  id: number;
  callFrame: CpuCallFrame;
  children?: number[];
}

/** The minimal shape of a V8 `.cpuprofile` file. */
export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** node id of each sample's leaf */
  samples: number[];
  /** µs before each sample, used as that sample's weight */
  timeDeltas: number[];
  /** µs */
  startTime: number;
  /** µs */
  endTime: number;
}

/** Every category a sample can count for, in display order of the legend. */
export const CATEGORY_NAMES = [
  'HTTP server (node:http, Fastify)',
  'service logic',
  'SQLite store',
  'crypto',
  'WeChat client (undici)',
  'metrics',
  'logging',
  'garbage collection',
  'node runtime',
  'other',
  'idle',
] as const;

/** Where a sample's time went. */
export type CategoryName = (typeof CATEGORY_NAMES)[number];

/** Fill colour of a flame graph frame by the category of the frame itself (generic frames: `node runtime`, grey). */
export const CATEGORY_COLOURS: Readonly<Record<CategoryName, string>> = {
  'HTTP server (node:http, Fastify)': '#f28e2b',
  'service logic': '#edc948',
  'SQLite store': '#59a14f',
  crypto: '#e15759',
  'WeChat client (undici)': '#4e79a7',
  metrics: '#b07aa1',
  logging: '#9c755f',
  'garbage collection': '#ff9da7',
  'node runtime': '#bab0ac',
  other: '#76b7b2',
  idle: '#eeeeee',
};

/** A category decided by a frame's url alone (`other`: an unknown non-empty url). */
export type UrlCategory = Exclude<CategoryName, 'idle' | 'garbage collection' | 'node runtime'>;

interface UrlRule {
  readonly category: UrlCategory;
  readonly prefixes: readonly string[];
  readonly substrings: readonly string[];
}

/** Checked in this order: the first rule that matches wins (`wechat/dist/crypto` is crypto, not the client). */
const URL_RULES: readonly UrlRule[] = [
  {
    category: 'crypto',
    prefixes: ['node:internal/crypto'],
    substrings: ['fast-jwt', '/crypto/', 'wechat/dist/crypto'],
  },
  { category: 'SQLite store', prefixes: [], substrings: ['better-sqlite3', '/store/'] },
  {
    category: 'HTTP server (node:http, Fastify)',
    prefixes: ['node:_http_'],
    substrings: [
      '/fastify/',
      'find-my-way',
      '@fastify/',
      'avvio',
      'secure-json-parse',
      'fast-json-stringify',
      'fast-querystring',
      '/server/dist/http/',
    ],
  },
  { category: 'WeChat client (undici)', prefixes: [], substrings: ['undici', '/wechat/dist/'] },
  { category: 'metrics', prefixes: [], substrings: ['prom-client'] },
  { category: 'logging', prefixes: [], substrings: ['pino'] },
  { category: 'service logic', prefixes: [], substrings: ['/server/dist/'] },
];

/** Leaves that V8 synthesises, categorised by name rather than by url. */
const SPECIAL_LEAVES: ReadonlyMap<string, CategoryName> = new Map<string, CategoryName>([
  ['(idle)', 'idle'],
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'other'],
]);

const matchesRule = (rule: UrlRule, url: string): boolean =>
  rule.prefixes.some((prefix) => url.startsWith(prefix)) || rule.substrings.some((part) => url.includes(part));

/**
 * The category of a frame by its url: a specific category, or `generic` for
 * `node:` internals, WebAssembly and native frames (empty url), which count for their caller.
 */
export function categorizeUrl(url: string): UrlCategory | 'generic' {
  const rule = URL_RULES.find((candidate) => matchesRule(candidate, url));
  if (rule !== undefined) return rule.category;
  // wasm:// frames are libraries' compiled parsers (undici's llhttp): they count for their caller
  return url === '' || url.startsWith('node:') || url.startsWith('wasm://') ? 'generic' : 'other';
}

/** The category of one frame by itself (flame graph colour): V8's special frames by name, generic frames as `node runtime`. */
export function frameCategory(frame: CpuCallFrame): CategoryName {
  const special = SPECIAL_LEAVES.get(frame.functionName);
  if (special !== undefined) return special;
  const category = categorizeUrl(frame.url);
  return category === 'generic' ? 'node runtime' : category;
}

/**
 * A url made short: up to the last `node_modules/` dropped, else up to the
 * first `/packages/` of the monorepo, and `file://` dropped.
 */
export function shortenUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const packages = url.indexOf('/packages/');
  if (packages >= 0) return url.slice(packages + '/packages/'.length);
  return url.startsWith('file://') ? url.slice('file://'.length) : url;
}

/** `shortened-url:line` (1-based line), or `''` for a native frame (empty url). */
export function frameLocation(frame: CpuCallFrame): string {
  return frame.url === '' ? '' : `${shortenUrl(frame.url)}:${frame.lineNumber + 1}`;
}

/** `functionName (location)`, `(anonymous)` for an empty name. */
export function frameLabel(frame: CpuCallFrame): string {
  return `${frame.functionName || '(anonymous)'} (${frameLocation(frame)})`;
}

// ---------------------------------------------------------------------------
// loading

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const isIntegerArray = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((item) => Number.isInteger(item));

/** One node's shape, or why it is not one. */
function parseNode(value: unknown, at: number): CpuProfileNode | string {
  if (!isRecord(value)) return `nodes[${at}] is not an object`;
  const { id, callFrame, children } = value;
  if (!Number.isInteger(id)) return `nodes[${at}].id is not an integer`;
  if (!isRecord(callFrame)) return `nodes[${at}].callFrame is not an object`;
  const { functionName, url, lineNumber, columnNumber } = callFrame;
  if (typeof functionName !== 'string' || typeof url !== 'string') {
    return `nodes[${at}].callFrame lacks a string functionName and url`;
  }
  if (!isFiniteNumber(lineNumber) || !isFiniteNumber(columnNumber)) {
    return `nodes[${at}].callFrame lacks a numeric lineNumber and columnNumber`;
  }
  if (children !== undefined && !isIntegerArray(children)) return `nodes[${at}].children is not an array of ids`;
  const node: CpuProfileNode = { id: id as number, callFrame: { functionName, url, lineNumber, columnNumber } };
  if (children !== undefined) node.children = [...children];
  return node;
}

/** Why the nodes do not form a forest (unknown or shared children, cycles), or null. */
function treeProblem(nodes: readonly CpuProfileNode[]): string | null {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  if (byId.size !== nodes.length) return 'node ids are not unique';
  const parentOf = new Map<number, number>();
  for (const node of nodes) {
    for (const child of node.children ?? []) {
      if (!byId.has(child)) return `node ${node.id} has an unknown child ${child}`;
      if (parentOf.has(child)) return `node ${child} has more than one parent`;
      parentOf.set(child, node.id);
    }
  }
  const pending = nodes.filter((node) => !parentOf.has(node.id));
  let reached = 0;
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    reached += 1;
    for (const child of node.children ?? []) pending.push(byId.get(child) as CpuProfileNode);
  }
  return reached === nodes.length ? null : 'the call tree has a cycle';
}

/** Why `value` is not a CpuProfile, or the profile (a copy with only the fields used here). */
function parseProfile(value: unknown): CpuProfile | string {
  if (!isRecord(value)) return 'not a JSON object';
  const { nodes, samples, timeDeltas, startTime, endTime } = value;
  if (!Array.isArray(nodes) || nodes.length === 0) return 'no nodes[]';
  if (!isIntegerArray(samples)) return 'samples[] is not an array of node ids';
  if (!Array.isArray(timeDeltas) || !timeDeltas.every(isFiniteNumber)) return 'timeDeltas[] is not an array of numbers';
  if (timeDeltas.length !== samples.length) return 'samples[] and timeDeltas[] differ in length';
  if (!isFiniteNumber(startTime) || !isFiniteNumber(endTime)) return 'no numeric startTime and endTime';
  const parsed: CpuProfileNode[] = [];
  for (const [at, raw] of nodes.entries()) {
    const node = parseNode(raw, at);
    if (typeof node === 'string') return node;
    parsed.push(node);
  }
  const problem = treeProblem(parsed);
  if (problem !== null) return problem;
  const ids = new Set(parsed.map((node) => node.id));
  const unknown = samples.find((id) => !ids.has(id));
  if (unknown !== undefined) return `a sample refers to an unknown node ${unknown}`;
  return { nodes: parsed, samples: [...samples], timeDeltas: [...timeDeltas], startTime, endTime };
}

/**
 * Checks that a parsed JSON value is a V8 CPU profile (nodes forming a tree,
 * samples of known nodes, one time delta per sample) and returns a copy of it.
 * @throws TypeError naming `source` and what is wrong
 */
export function validateCpuProfile(value: unknown, source = 'the value'): CpuProfile {
  const profile = parseProfile(value);
  if (typeof profile === 'string') throw new TypeError(`${source} is not a V8 .cpuprofile: ${profile}`);
  return profile;
}

/**
 * Reads a `.cpuprofile` file written by `node --cpu-prof`.
 * @throws TypeError when the file is not JSON or not a CPU profile
 */
export function loadCpuProfile(path: string): CpuProfile {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${path} is not a V8 .cpuprofile: not JSON (${(error as Error).message})`, { cause: error });
  }
  return validateCpuProfile(value, path);
}

// ---------------------------------------------------------------------------
// the call tree and sample weights

interface ProfileIndex {
  readonly byId: ReadonlyMap<number, CpuProfileNode>;
  readonly parentOf: ReadonlyMap<number, number>;
}

function indexProfile(profile: CpuProfile): ProfileIndex {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  return { byId, parentOf };
}

/** A sample's weight in µs: its time delta, 0 when negative (or not a number). */
const sampleWeightUs = (deltaUs: number | undefined): number =>
  deltaUs !== undefined && Number.isFinite(deltaUs) && deltaUs > 0 ? deltaUs : 0;

/** µs of samples per leaf node id (only nodes that were sampled). */
function selfTimesUs(profile: CpuProfile): Map<number, number> {
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + sampleWeightUs(profile.timeDeltas[i]));
  }
  return selfUs;
}

/** The nodes from `id` up to, not including, the root (the parentless node); empty for the root or an unknown id. */
function ancestry(index: ProfileIndex, id: number): CpuProfileNode[] {
  const path: CpuProfileNode[] = [];
  for (let at: number | undefined = id; at !== undefined && index.parentOf.has(at); at = index.parentOf.get(at)) {
    const node = index.byId.get(at);
    if (node === undefined || path.length > index.byId.size) break;
    path.push(node);
  }
  return path;
}

/** The stack of a leaf, root-most frame first, without the root. */
const stackOf = (index: ProfileIndex, id: number): CpuProfileNode[] => ancestry(index, id).reverse();

const isIdle = (node: CpuProfileNode | undefined): boolean => node?.callFrame.functionName === '(idle)';

/**
 * The category of a sample of leaf `id`: V8's special leaves by name, else the
 * first frame from the leaf up with a specific category; `node runtime` when
 * there are only generic frames, `other` when there are none.
 */
function sampleCategory(index: ProfileIndex, id: number): CategoryName {
  const special = SPECIAL_LEAVES.get(index.byId.get(id)?.callFrame.functionName ?? '');
  if (special !== undefined) return special;
  let sawGeneric = false;
  for (const node of ancestry(index, id)) {
    const category = categorizeUrl(node.callFrame.url);
    if (category !== 'generic') return category;
    sawGeneric = true;
  }
  return sawGeneric ? 'node runtime' : 'other';
}

// ---------------------------------------------------------------------------
// summary

/** Time of one category. */
export interface CategoryTime {
  name: CategoryName;
  ms: number;
  /** of busyMs, 0..1 */
  shareOfBusy: number;
}

/** Self time of one function (frames with the same name and location summed). */
export interface FunctionSelfTime {
  /** as V8 reports it, possibly empty */
  functionName: string;
  /** `shortened-url:line`, `''` for native frames */
  location: string;
  selfMs: number;
  /** of busyMs, 0..1 */
  shareOfBusy: number;
}

/** Where the service's CPU went. */
export interface ProfileSummary {
  /** all samples' time */
  totalMs: number;
  /** totalMs − idleMs */
  busyMs: number;
  idleMs: number;
  sampleCount: number;
  /** by ms, most first; without idle and without categories that got no time */
  categories: CategoryTime[];
  /** by self time, most first; without `(idle)` */
  top: FunctionSelfTime[];
}

const shareOf = (partUs: number, busyUs: number): number => (busyUs > 0 ? partUs / busyUs : 0);

function categoryTimesUs(index: ProfileIndex, selfUs: ReadonlyMap<number, number>): Map<CategoryName, number> {
  const byCategory = new Map<CategoryName, number>();
  for (const [id, us] of selfUs) {
    const category = sampleCategory(index, id);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  }
  return byCategory;
}

function topFunctions(
  index: ProfileIndex,
  selfUs: ReadonlyMap<number, number>,
  busyUs: number,
  limit: number,
): FunctionSelfTime[] {
  const byFunction = new Map<string, { functionName: string; location: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = index.byId.get(id);
    if (node === undefined || isIdle(node)) continue;
    const { functionName } = node.callFrame;
    const location = frameLocation(node.callFrame);
    const key = `${functionName}\u0000${location}`;
    const entry = byFunction.get(key) ?? { functionName, location, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.us - a.us || compareText(a.functionName, b.functionName) || compareText(a.location, b.location))
    .slice(0, limit)
    .map((f) => ({
      functionName: f.functionName,
      location: f.location,
      selfMs: f.us / 1000,
      shareOfBusy: shareOf(f.us, busyUs),
    }));
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Time by category and the functions with the most self time.
 * @param options.top how many functions to list (default 15)
 */
export function summarizeProfile(profile: CpuProfile, options: { top?: number } = {}): ProfileSummary {
  const index = indexProfile(profile);
  const selfUs = selfTimesUs(profile);
  const byCategoryUs = categoryTimesUs(index, selfUs);
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const idleUs = byCategoryUs.get('idle') ?? 0;
  const busyUs = totalUs - idleUs;
  const categories = [...byCategoryUs]
    .filter(([name, us]) => name !== 'idle' && us > 0)
    .sort(([nameA, a], [nameB, b]) => b - a || compareText(nameA, nameB))
    .map(([name, us]) => ({ name, ms: us / 1000, shareOfBusy: shareOf(us, busyUs) }));
  const limit = Math.max(0, Math.floor(options.top ?? 15));
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    sampleCount: profile.samples.length,
    categories,
    top: topFunctions(index, selfUs, busyUs, limit),
  };
}

// ---------------------------------------------------------------------------
// folded stacks

/** A frame as the collapsed-stack format can hold it: no `;` (frame separator) and no line breaks. */
const foldedFrame = (frame: CpuCallFrame): string =>
  frameLabel(frame)
    .replace(/;/g, ',')
    .replace(/[\r\n]+/g, ' ');

/**
 * Brendan Gregg's collapsed stacks (`flamegraph.pl`, speedscope, …): one line
 * per distinct stack, `frame;frame;…;leaf <µs>`, frames `functionName (location)`,
 * the root left out, lines sorted. Idle samples (and samples of the root
 * itself, which have no stack) are left out; time-less stacks too.
 */
export function foldedStacks(profile: CpuProfile): string {
  const index = indexProfile(profile);
  const weightsUs = new Map<string, number>();
  for (const [id, us] of selfTimesUs(profile)) {
    const stack = stackOf(index, id);
    if (us <= 0 || stack.length === 0 || isIdle(stack.at(-1))) continue;
    const key = stack.map((node) => foldedFrame(node.callFrame)).join(';');
    weightsUs.set(key, (weightsUs.get(key) ?? 0) + us);
  }
  const lines = [...weightsUs].map(([stack, us]) => `${stack} ${Math.round(us)}`).sort(compareText);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// flame graph

interface FlameFrame {
  readonly name: string;
  readonly category: CategoryName;
  totalUs: number;
  readonly children: Map<string, FlameFrame>;
}

interface FlameRect {
  readonly frame: FlameFrame;
  /** 0: the bottom row */
  readonly depth: number;
  readonly xPx: number;
  readonly widthPx: number;
}

const ROW_HEIGHT_PX = 16;
const PAD_PX = 10;
const FONT_SIZE_PX = 11;
/** advance of one character of the monospace font at FONT_SIZE_PX */
const CHAR_WIDTH_PX = 6.6;
const MIN_WIDTH_SHARE = 0.001;

const newFrame = (name: string, category: CategoryName): FlameFrame => ({
  name,
  category,
  totalUs: 0,
  children: new Map(),
});

/** The call tree with siblings of the same frame name merged, inclusive µs per frame; idle left out. */
function buildFlameTree(index: ProfileIndex, selfUs: ReadonlyMap<number, number>): FlameFrame {
  const root = newFrame('all', 'other');
  for (const [id, us] of selfUs) {
    const stack = stackOf(index, id);
    if (us <= 0 || stack.length === 0 || isIdle(stack.at(-1))) continue;
    root.totalUs += us;
    let frame = root;
    for (const node of stack) {
      const name = frameLabel(node.callFrame);
      const child = frame.children.get(name) ?? newFrame(name, frameCategory(node.callFrame));
      frame.children.set(name, child);
      child.totalUs += us;
      frame = child;
    }
  }
  return root;
}

/** Rectangles of the frames at least `minWidthPx` wide, children by name, left to right within their parent. */
function layoutFlame(root: FlameFrame, graphWidthPx: number, minWidthPx: number): FlameRect[] {
  if (root.totalUs <= 0) return [];
  const rects: FlameRect[] = [];
  const pending = [{ frame: root, depth: -1, xPx: PAD_PX }];
  for (let parent = pending.pop(); parent !== undefined; parent = pending.pop()) {
    let xPx = parent.xPx;
    const children = [...parent.frame.children.values()].sort((a, b) => compareText(a.name, b.name));
    for (const frame of children) {
      // a share first: µs per px can overflow on (absurdly) tiny totals
      const widthPx = graphWidthPx * (frame.totalUs / root.totalUs);
      if (widthPx >= minWidthPx) {
        rects.push({ frame, depth: parent.depth + 1, xPx, widthPx });
        pending.push({ frame, depth: parent.depth + 1, xPx });
      }
      xPx += widthPx;
    }
  }
  return rects;
}

const isXmlChar = (codePoint: number): boolean =>
  codePoint === 0x9 ||
  codePoint === 0xa ||
  codePoint === 0xd ||
  (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
  (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
  codePoint >= 0x10000;

const XML_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&apos;'],
]);

/** Text safe in XML content and attribute values; characters XML cannot hold become U+FFFD. */
function escapeXml(text: string): string {
  let out = '';
  for (const char of text) {
    out += isXmlChar(char.codePointAt(0) ?? 0) ? (XML_ESCAPES.get(char) ?? char) : '\uFFFD';
  }
  return out;
}

/** The label that fits in `widthPx`, truncated with `…`, or '' when not even 3 characters fit. */
function fitLabel(name: string, widthPx: number): string {
  const maxChars = Math.floor((widthPx - 6) / CHAR_WIDTH_PX);
  const chars = Array.from(name);
  if (chars.length <= maxChars) return name;
  return maxChars < 3 ? '' : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/** px with at most 2 decimals; `down` so that widths never add up past the graph. */
const px = (value: number, down = false): string =>
  String((down ? Math.floor(value * 100) : Math.round(value * 100)) / 100);

function renderRect(rect: FlameRect, yPx: number, busyUs: number): string {
  const { frame, xPx, widthPx } = rect;
  const percent = (shareOf(frame.totalUs, busyUs) * 100).toFixed(1);
  const tooltip = `${frame.name} — ${(frame.totalUs / 1000).toFixed(2)} ms (${percent}% of busy)`;
  const label = fitLabel(frame.name, widthPx);
  const box =
    `<rect x="${px(xPx)}" y="${yPx}" width="${px(widthPx, true)}" height="${ROW_HEIGHT_PX - 1}" ` +
    `fill="${CATEGORY_COLOURS[frame.category]}"><title>${escapeXml(tooltip)}</title></rect>`;
  return label === '' ? box : `${box}<text x="${px(xPx + 3)}" y="${yPx + 11.5}">${escapeXml(label)}</text>`;
}

/** Legend entries (swatch and name) of the categories present, wrapped to the width; and the height they take. */
function renderLegend(categories: ReadonlySet<CategoryName>, widthPx: number, topPx: number): [string[], number] {
  const parts: string[] = [];
  let xPx = PAD_PX;
  let yPx = topPx;
  for (const name of CATEGORY_NAMES.filter((category) => categories.has(category))) {
    const entryPx = 14 + name.length * CHAR_WIDTH_PX + 16;
    if (xPx > PAD_PX && xPx + entryPx > widthPx - PAD_PX) {
      xPx = PAD_PX;
      yPx += ROW_HEIGHT_PX;
    }
    parts.push(
      `<rect x="${px(xPx)}" y="${yPx + 2}" width="10" height="10" fill="${CATEGORY_COLOURS[name]}"/>`,
      `<text x="${px(xPx + 14)}" y="${yPx + 11.5}">${escapeXml(name)}</text>`,
    );
    xPx += entryPx;
  }
  return [parts, parts.length === 0 ? 0 : yPx + ROW_HEIGHT_PX - topPx];
}

/**
 * A self-contained SVG flame graph (no script: hover a frame for its
 * `<title>`): the root-most frames at the bottom, each frame as wide as its
 * inclusive time, children by name, siblings of the same name merged, frames
 * narrower than 0.1% of the width left out, coloured by the frame's own
 * category. Idle time is left out.
 * @param options.width px, default 1200
 * @throws RangeError on a width that is not a positive number
 */
export function flameGraphSvg(profile: CpuProfile, options: { title: string; width?: number }): string {
  const widthPx = options.width ?? 1200;
  if (!(Number.isFinite(widthPx) && widthPx > 0)) throw new RangeError(`flame graph width must be > 0, got ${widthPx}`);
  const index = indexProfile(profile);
  const selfUs = selfTimesUs(profile);
  const idleUs = categoryTimesUs(index, selfUs).get('idle') ?? 0;
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const busyUs = totalUs - idleUs;
  const rects = layoutFlame(
    buildFlameTree(index, selfUs),
    Math.max(0, widthPx - 2 * PAD_PX),
    widthPx * MIN_WIDTH_SHARE,
  );

  const subtitle =
    rects.length === 0
      ? 'no busy samples'
      : `${(busyUs / 1000).toFixed(1)} ms busy of ${(totalUs / 1000).toFixed(1)} ms sampled (idle left out); width: inclusive time; hover a frame for its time`;
  const [legend, legendHeightPx] = renderLegend(new Set(rects.map((r) => r.frame.category)), widthPx, 44);
  const framesTopPx = 44 + legendHeightPx + 6;
  const rows = rects.reduce((max, r) => Math.max(max, r.depth + 1), 0);
  const heightPx = framesTopPx + rows * ROW_HEIGHT_PX + PAD_PX;
  const rowY = (depth: number): number => framesTopPx + (rows - 1 - depth) * ROW_HEIGHT_PX;

  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(widthPx)}" height="${heightPx}" viewBox="0 0 ${px(widthPx)} ${heightPx}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="${FONT_SIZE_PX}">`,
    '<style>#frames text { pointer-events: none; } #frames rect:hover { stroke: #000; stroke-width: 0.5; }</style>',
    `<rect x="0" y="0" width="${px(widthPx)}" height="${heightPx}" fill="#ffffff"/>`,
    `<text x="${px(widthPx / 2)}" y="20" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
    `<text x="${px(widthPx / 2)}" y="36" text-anchor="middle" fill="#555555">${escapeXml(subtitle)}</text>`,
    `<g id="legend">${legend.join('')}</g>`,
    `<g id="frames">`,
    ...rects.map((rect) => renderRect(rect, rowY(rect.depth), busyUs)),
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}
