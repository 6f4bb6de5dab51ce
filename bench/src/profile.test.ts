import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CATEGORY_COLOURS,
  type CategoryName,
  type CpuProfile,
  type CpuProfileNode,
  categorizeUrl,
  flameGraphSvg,
  foldedStacks,
  frameLocation,
  loadCpuProfile,
  summarizeProfile,
} from './profile.js';

// ---------------------------------------------------------------------------
// helpers

/** `functionName url`, split at the last space (`'writev '`: a native frame); `url#line` sets a 0-based line. */
function parseFrame(spec: string): CpuProfileNode['callFrame'] {
  const space = spec.lastIndexOf(' ');
  const functionName = space < 0 ? spec : spec.slice(0, space);
  const rest = space < 0 ? '' : spec.slice(space + 1);
  const hash = rest.lastIndexOf('#');
  const url = hash < 0 ? rest : rest.slice(0, hash);
  const lineNumber = hash < 0 ? 0 : Number(rest.slice(hash + 1));
  return { functionName, url, lineNumber, columnNumber: 0 };
}

/**
 * A profile with one sample per stack (root-most frame first), weighted by its µs;
 * equal frame specs under the same parent share a node.
 */
function profileOf(stacks: ReadonlyArray<readonly [readonly string[], number]>): CpuProfile {
  const root: CpuProfileNode = {
    id: 1,
    callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 },
    children: [],
  };
  const nodes = [root];
  const childByKey = new Map<string, CpuProfileNode>();
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  for (const [frames, weightUs] of stacks) {
    let parent = root;
    for (const spec of frames) {
      const key = `${parent.id}\u0000${spec}`;
      let node = childByKey.get(key);
      if (node === undefined) {
        node = { id: nodes.length + 1, callFrame: parseFrame(spec), children: [] };
        nodes.push(node);
        childByKey.set(key, node);
        parent.children?.push(node.id);
      }
      parent = node;
    }
    samples.push(parent.id);
    timeDeltas.push(weightUs);
  }
  const total = timeDeltas.reduce((sum, us) => sum + Math.max(0, us), 0);
  return { nodes, samples, timeDeltas, startTime: 1_000, endTime: 1_000 + total };
}

const categoryOfStack = (frames: readonly string[]): { categories: unknown; idleMs: number } => {
  const { categories, idleMs } = summarizeProfile(profileOf([[frames, 2_000]]));
  return { categories, idleMs };
};

const MAIN = 'main node:internal/main/run_main_module';
const FASTIFY = 'handler file:///w/node_modules/fastify/lib/route.js';
const UNDICI = 'request file:///w/node_modules/undici/lib/dispatcher/client.js';
const SERVICE = 'login file:///w/packages/server/dist/services/login.js';

/** Problems that make `xml` not well-formed (tags, attribute quoting, entities, characters XML cannot hold). */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml [^?]*\?>\n/, '');
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  const open: string[] = [];
  let at = 0;
  while (at < body.length) {
    if (body[at] === '<') {
      tag.lastIndex = at;
      const match = tag.exec(body);
      if (match === null) {
        problems.push(`not a tag at ${at}: ${body.slice(at, at + 40)}`);
        break;
      }
      const [whole, closing, name, , selfClosing] = match;
      if (closing === '/') {
        if (open.pop() !== name) problems.push(`unbalanced </${name}> at ${at}`);
      } else if (selfClosing !== '/') {
        open.push(name as string);
      }
      at += whole.length;
    } else {
      const next = body.indexOf('<', at);
      const text = body.slice(at, next < 0 ? body.length : next);
      if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(text)) problems.push(`bare & in text: ${text}`);
      if (text.includes('>')) problems.push(`bare > in text: ${text}`);
      at = next < 0 ? body.length : next;
    }
  }
  for (const char of xml) {
    const code = char.codePointAt(0) ?? 0;
    const ok =
      code === 9 ||
      code === 10 ||
      code === 13 ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000;
    if (!ok) problems.push(`character U+${code.toString(16)} is not allowed in XML`);
  }
  if (open.length > 0) problems.push(`unclosed: ${open.join(', ')}`);
  return problems;
}

interface SvgRect {
  x: number;
  y: number;
  width: number;
  fill: string;
  title: string;
}

/** The frame rectangles of a flame graph, with their `<title>` text (unescaped). */
function frameRects(svg: string): SvgRect[] {
  const frames = svg.slice(svg.indexOf('<g id="frames">'));
  const unescapeXml = (text: string): string =>
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  return [
    ...frames.matchAll(
      /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="\d+" fill="(#[0-9a-f]{6})"><title>([^<]*)<\/title><\/rect>/g,
    ),
  ].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    width: Number(m[3]),
    fill: m[4] as string,
    title: unescapeXml(m[5] as string),
  }));
}

const bottomRow = (rects: readonly SvgRect[]): SvgRect[] => {
  const bottom = Math.max(...rects.map((r) => r.y));
  return rects.filter((r) => r.y === bottom).sort((a, b) => a.x - b.x);
};

// random profiles

const URLS = [
  '',
  'node:internal/main/run_main_module',
  'node:net',
  'node:_http_server',
  'node:internal/crypto/sig',
  'file:///w/node_modules/fastify/lib/route.js',
  'file:///w/node_modules/undici/lib/core/request.js',
  'file:///w/node_modules/better-sqlite3/lib/methods/transaction.js',
  'file:///w/node_modules/prom-client/lib/histogram.js',
  'file:///w/node_modules/pino/lib/proto.js',
  'file:///w/node_modules/ajv/dist/core.js',
  'file:///w/packages/server/dist/store/sqlite.js',
  'file:///w/packages/server/dist/services/login.js',
  'file:///w/packages/wechat/dist/crypto.js',
  'wasm://wasm/00034eea',
];

const nameArb = fc.oneof(
  fc.constantFrom('handler', '', '(program)', '(garbage collector)', '(idle)', 'toString', '__proto__', 'a;b', '<b>&"'),
  fc.string({ unit: fc.constantFrom('<', '>', '&', '"', "'", ';', ' ', 'a', 'é', '\n', '\u0001', '\ud800', '🔥') }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** A random call tree (each node under an earlier one; ids not in order) and samples of its non-root nodes. */
const profileArb: fc.Arbitrary<CpuProfile> = fc
  .record({
    frames: fc.array(
      fc.record({
        parent: fc.nat(),
        functionName: nameArb,
        url: fc.constantFrom(...URLS),
        lineNumber: fc.integer({ min: -1, max: 999 }),
      }),
      { minLength: 1, maxLength: 25 },
    ),
    samples: fc.array(
      fc.record({
        node: fc.nat(),
        deltaUs: fc.oneof(fc.integer({ min: -200, max: 20_000 }), fc.double({ min: -10, max: 1e5, noNaN: true })),
      }),
      { maxLength: 60 },
    ),
  })
  .map(({ frames, samples }) => {
    const idOf = (index: number): number => 1 + ((index * 7919) % 100_003);
    const nodes: CpuProfileNode[] = [
      { id: idOf(0), callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [] },
    ];
    for (const [i, frame] of frames.entries()) {
      const parent = nodes[frame.parent % nodes.length] as CpuProfileNode;
      const node: CpuProfileNode = {
        id: idOf(i + 1),
        callFrame: { functionName: frame.functionName, url: frame.url, lineNumber: frame.lineNumber, columnNumber: 0 },
      };
      parent.children = [...(parent.children ?? []), node.id];
      nodes.push(node);
    }
    return {
      nodes,
      samples: samples.map((s) => (nodes[1 + (s.node % frames.length)] as CpuProfileNode).id),
      timeDeltas: samples.map((s) => s.deltaUs),
      startTime: 0,
      endTime: 1,
    };
  });

const weightUs = (deltaUs: number): number => (deltaUs > 0 ? deltaUs : 0);

// ---------------------------------------------------------------------------

describe('summarizeProfile: categories', () => {
  it.each<[string, readonly string[], CategoryName]>([
    ['a native leaf under fastify is the HTTP server', [MAIN, FASTIFY, 'writev '], 'HTTP server (node:http, Fastify)'],
    [
      'a native leaf under undici (through node:net) is the WeChat client',
      [MAIN, UNDICI, 'write node:net', 'writev '],
      'WeChat client (undici)',
    ],
    ['node:internal/crypto under fastify is crypto', [MAIN, FASTIFY, 'sign node:internal/crypto/sig'], 'crypto'],
    [
      'wechat/dist/crypto is crypto, not the client',
      [MAIN, 'decrypt file:///w/packages/wechat/dist/crypto.js'],
      'crypto',
    ],
    [
      'the rest of wechat/dist is the client',
      [MAIN, 'exchange file:///w/packages/wechat/dist/client.js'],
      'WeChat client (undici)',
    ],
    ['fast-jwt is crypto', [SERVICE, 'sign file:///w/node_modules/fast-jwt/src/signer.js'], 'crypto'],
    ['server/dist/crypto is crypto', [SERVICE, 'seal file:///w/packages/server/dist/crypto/seal.js'], 'crypto'],
    [
      'only node: frames are the node runtime',
      [MAIN, 'processTicksAndRejections node:internal/process/task_queues'],
      'node runtime',
    ],
    ['only node: and native frames are the node runtime', [MAIN, 'runMicrotasks '], 'node runtime'],
    ['a native frame alone is the node runtime', ['writev '], 'node runtime'],
    [
      "a WebAssembly frame under undici is the WeChat client (undici's llhttp)",
      [MAIN, UNDICI, 'wasm-function[20] wasm://wasm/00034eea'],
      'WeChat client (undici)',
    ],
    ['a sample of the root itself is other', [], 'other'],
    ['(garbage collector) is garbage collection', ['(garbage collector) '], 'garbage collection'],
    ['(program) is other', ['(program) '], 'other'],
    [
      'better-sqlite3 is the store',
      [SERVICE, 'run file:///w/node_modules/better-sqlite3/lib/methods/wrappers.js'],
      'SQLite store',
    ],
    [
      'server/dist/store is the store',
      [FASTIFY, 'insertSession file:///w/packages/server/dist/store/sqlite.js'],
      'SQLite store',
    ],
    [
      'node:_http_ is the HTTP server',
      [MAIN, 'write node:_http_outgoing', 'writev '],
      'HTTP server (node:http, Fastify)',
    ],
    [
      'server/dist/http is the HTTP server',
      [MAIN, 'route file:///w/packages/server/dist/http/app.js'],
      'HTTP server (node:http, Fastify)',
    ],
    [
      'find-my-way is the HTTP server',
      [MAIN, 'find file:///w/node_modules/find-my-way/index.js'],
      'HTTP server (node:http, Fastify)',
    ],
    ['prom-client is metrics', [FASTIFY, 'observe file:///w/node_modules/prom-client/lib/histogram.js'], 'metrics'],
    ['pino is logging', [FASTIFY, 'info file:///w/node_modules/pino/lib/proto.js'], 'logging'],
    ['node: under the service is service logic', [FASTIFY, SERVICE, 'now node:perf_hooks'], 'service logic'],
    [
      'an unknown package is other, even under the service',
      [SERVICE, 'validate file:///w/node_modules/ajv/dist/x.js'],
      'other',
    ],
  ])('%s', (_title, frames, category) => {
    expect(categoryOfStack(frames)).toEqual({ categories: [{ name: category, ms: 2, shareOfBusy: 1 }], idleMs: 0 });
  });

  it('reports idle apart, weighs samples by their time delta (negative as 0) and sorts categories by time', () => {
    const summary = summarizeProfile(
      profileOf([
        [['(idle) '], 6_000],
        [[MAIN, FASTIFY, 'writev '], 1_000],
        [[MAIN, UNDICI, 'writev '], 2_500],
        [[MAIN, FASTIFY, 'writev '], 500],
        [['(garbage collector) '], 1_000],
        [[MAIN, UNDICI], -300],
      ]),
    );
    expect(summary).toMatchObject({ totalMs: 11, busyMs: 5, idleMs: 6, sampleCount: 6 });
    expect(summary.categories).toEqual([
      { name: 'WeChat client (undici)', ms: 2.5, shareOfBusy: 0.5 },
      { name: 'HTTP server (node:http, Fastify)', ms: 1.5, shareOfBusy: 0.3 },
      { name: 'garbage collection', ms: 1, shareOfBusy: 0.2 },
    ]);
  });

  it('gives shares of 0 when everything was idle', () => {
    const summary = summarizeProfile(profileOf([[['(idle) '], 4_000]]));
    expect(summary).toEqual({ totalMs: 4, busyMs: 0, idleMs: 4, sampleCount: 1, categories: [], top: [] });
  });

  it('checks the url rules in order and nothing but the url', () => {
    expect(categorizeUrl('node:internal/crypto/hash')).toBe('crypto');
    expect(categorizeUrl('file:///w/packages/wechat/dist/crypto.js')).toBe('crypto');
    expect(categorizeUrl('file:///w/packages/server/dist/store/crypto.js')).toBe('SQLite store');
    expect(categorizeUrl('file:///w/node_modules/@fastify/swagger/index.js')).toBe('HTTP server (node:http, Fastify)');
    expect(categorizeUrl('node:internal/deps/undici/undici')).toBe('WeChat client (undici)');
    expect(categorizeUrl('node:events')).toBe('generic');
    expect(categorizeUrl('')).toBe('generic');
    expect(categorizeUrl('wasm://wasm/00034eea')).toBe('generic');
    expect(categorizeUrl('file:///w/packages/server/dist/config.js')).toBe('service logic');
  });
});

describe('summarizeProfile: top functions', () => {
  it('sums self time per function and location, shortens locations, leaves out (idle), keeps the top N', () => {
    const profile = profileOf([
      [['(idle) '], 50_000],
      [[MAIN, FASTIFY, 'insertSession file:///work/main/packages/server/dist/store/sqlite.js#141'], 3_000],
      [[MAIN, UNDICI, 'insertSession file:///work/main/packages/server/dist/store/sqlite.js#141'], 1_000],
      [[MAIN, 'sign file:///r/packages/server/node_modules/fast-jwt/src/signer.js#82'], 2_000],
      [[MAIN, FASTIFY, 'writev '], 1_500],
      [[MAIN, ' file:///tmp/x.js#9'], 1_000],
      [[MAIN, 'signOneShot node:internal/crypto/sig#142'], 500],
    ]);
    const { top, busyMs } = summarizeProfile(profile, { top: 4 });
    expect(busyMs).toBe(9);
    expect(top).toEqual([
      { functionName: 'insertSession', location: 'server/dist/store/sqlite.js:142', selfMs: 4, shareOfBusy: 4 / 9 },
      { functionName: 'sign', location: 'fast-jwt/src/signer.js:83', selfMs: 2, shareOfBusy: 2 / 9 },
      { functionName: 'writev', location: '', selfMs: 1.5, shareOfBusy: 1.5 / 9 },
      { functionName: '', location: '/tmp/x.js:10', selfMs: 1, shareOfBusy: 1 / 9 },
    ]);
  });

  it('lists 15 functions by default', () => {
    const stacks = Array.from({ length: 20 }, (_, i): [string[], number] => [[`f${i} node:x`], 1_000 + i]);
    const { top } = summarizeProfile(profileOf(stacks));
    expect(top.map((f) => f.functionName)).toEqual(Array.from({ length: 15 }, (_, i) => `f${19 - i}`));
  });

  it('shortens urls: after the last node_modules/, after /packages/, without file://', () => {
    const at = (url: string, lineNumber = 0): string =>
      frameLocation({ functionName: 'f', url, lineNumber, columnNumber: 0 });
    expect(at('file:///work/main/packages/server/dist/store/sqlite.js', 9)).toBe('server/dist/store/sqlite.js:10');
    expect(at('file:///a/node_modules/x/node_modules/undici/lib/api.js')).toBe('undici/lib/api.js:1');
    expect(at('node:internal/crypto/sig', 142)).toBe('node:internal/crypto/sig:143');
    expect(at('file:///tmp/bench.js', 4)).toBe('/tmp/bench.js:5');
    expect(at('', -1)).toBe('');
  });
});

describe('foldedStacks', () => {
  it('writes one sorted line per distinct stack, root and idle left out, µs rounded', () => {
    const folded = foldedStacks(
      profileOf([
        [['(idle) '], 9_999],
        [[MAIN, FASTIFY, 'writev '], 1_000.4],
        [[MAIN, ' file:///w/x.js#4', 'a;b node:events'], 250],
        [[MAIN, FASTIFY, 'writev '], 2_000.4],
        [['(garbage collector) '], 700],
        [[MAIN, FASTIFY], -5],
      ]),
    );
    expect(folded).toBe(
      [
        '(garbage collector) () 700',
        'main (node:internal/main/run_main_module:1);(anonymous) (/w/x.js:5);a,b (node:events:1) 250',
        'main (node:internal/main/run_main_module:1);handler (fastify/lib/route.js:1);writev () 3001',
        '',
      ].join('\n'),
    );
  });

  it('is empty without busy samples', () => {
    expect(foldedStacks(profileOf([[['(idle) '], 1_000]]))).toBe('');
  });
});

describe('flameGraphSvg', () => {
  const profile = profileOf([
    [['(idle) '], 100_000],
    [[MAIN, 'zeta node:events'], 30_000],
    [[MAIN, 'alpha file:///w/node_modules/fastify/lib/route.js'], 10_000],
    [[MAIN, 'alpha file:///w/node_modules/fastify/lib/route.js', 'writev '], 10_000],
    [['(garbage collector) '], 20_000],
    [[MAIN, 'tiny file:///w/node_modules/pino/lib/proto.js'], 50],
  ]);

  it('lays out frames by inclusive time, bottom-up, children by name, tiny frames left out, coloured by category', () => {
    const svg = flameGraphSvg(profile, { title: 'test', width: 1020 });
    const rects = frameRects(svg);
    const bottom = bottomRow(rects);
    expect(bottom.map((r) => [r.title, r.x, r.width, r.fill])).toEqual([
      // 1000 px for 70.05 ms busy: 20 ms → 285.51 px, 50.05 ms → 714.489… px (widths rounded down)
      ['(garbage collector) () — 20.00 ms (28.6% of busy)', 10, 285.51, CATEGORY_COLOURS['garbage collection']],
      ['main (node:internal/main/run_main_module:1) — 50.05 ms (71.4% of busy)', 295.51, 714.48, '#bab0ac'],
    ]);
    const mainY = bottom[0]?.y ?? 0;
    const second = rects.filter((r) => r.y === mainY - 16);
    expect(second.map((r) => [r.title.split(' — ')[0], r.fill])).toEqual([
      ['alpha (fastify/lib/route.js:1)', CATEGORY_COLOURS['HTTP server (node:http, Fastify)']],
      ['zeta (node:events:1)', CATEGORY_COLOURS['node runtime']],
    ]);
    expect(second[0]?.x).toBe(295.51);
    expect(second[0]?.width).toBe(285.51);
    expect(rects.map((r) => r.title).join('\n')).not.toMatch(/tiny|idle/);
    expect(rects).toHaveLength(5);
    expect(svg).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg [^>]*width="1020"/);
    expect(svg).not.toContain('<script');
  });

  it('labels a frame when it fits, truncated with …, XML-escaped', () => {
    const long = `${'x'.repeat(300)}<&>`;
    const svg = flameGraphSvg(
      profileOf([
        [[`${long} node:a`], 1_000],
        [['b<&> node:b'], 1_000],
      ]),
      { title: 'a <b> & "c"', width: 420 },
    );
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('>a &lt;b&gt; &amp; &quot;c&quot;</text>');
    expect(svg).toContain('>b&lt;&amp;&gt; (node:b:1)</text>');
    const labels = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+">(x+)…<\/text>/g)].map((m) => m[1]?.length);
    expect(labels).toEqual([28]); // (200 px - 6) / 6.6 = 29 characters, the last one the ellipsis
    expect(frameRects(svg).map((r) => r.title)).toContain(`${long} (node:a:1) — 1.00 ms (50.0% of busy)`);
  });

  it('leaves a frame too narrow for 3 characters unlabelled', () => {
    const svg = flameGraphSvg(
      profileOf([
        [['big node:a'], 990],
        [['narrow node:b'], 10],
      ]),
      { title: 't', width: 1020 },
    );
    expect(frameRects(svg).map((r) => [r.title.split(' — ')[0], r.width])).toEqual([
      ['big (node:a:1)', 990],
      ['narrow (node:b:1)', 10],
    ]);
    const labels = [...svg.slice(svg.indexOf('<g id="frames">')).matchAll(/<text [^>]*>([^<]*)<\/text>/g)];
    expect(labels.map((m) => m[1])).toEqual(['big (node:a:1)']);
  });

  it('draws no frames when nothing was busy, and rejects a bad width', () => {
    const idle = profileOf([[['(idle) '], 1_000]]);
    const svg = flameGraphSvg(idle, { title: 'idle' });
    expect(frameRects(svg)).toEqual([]);
    expect(svg).toContain('no busy samples');
    expect(xmlProblems(svg)).toEqual([]);
    expect(() => flameGraphSvg(idle, { title: 'x', width: 0 })).toThrow(RangeError);
  });
});

describe('loadCpuProfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-profile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a profile back as it was written', () => {
    const profile = profileOf([[[MAIN, FASTIFY, 'writev '], 1_000]]);
    expect(loadCpuProfile(file('ok.cpuprofile', JSON.stringify(profile)))).toEqual(profile);
  });

  it.each([
    ['some other JSON', '{"name":"wxlogin","version":"1.0.0"}', /is not a V8 \.cpuprofile: no nodes\[\]/],
    ['not JSON', 'hello', /is not a V8 \.cpuprofile: not JSON/],
    ['a JSON array', '[1, 2]', /not a JSON object/],
    [
      'a sample of an unknown node',
      '{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","url":"","lineNumber":-1,"columnNumber":-1}}],"samples":[2],"timeDeltas":[1],"startTime":0,"endTime":1}',
      /unknown node 2/,
    ],
    [
      'a cycle',
      '{"nodes":[{"id":1,"callFrame":{"functionName":"a","url":"","lineNumber":0,"columnNumber":0},"children":[2]},{"id":2,"callFrame":{"functionName":"b","url":"","lineNumber":0,"columnNumber":0},"children":[1]}],"samples":[],"timeDeltas":[],"startTime":0,"endTime":1}',
      /cycle/,
    ],
    [
      'samples without time deltas',
      '{"nodes":[{"id":1,"callFrame":{"functionName":"(root)","url":"","lineNumber":-1,"columnNumber":-1}}],"samples":[1],"timeDeltas":[],"startTime":0,"endTime":1}',
      /differ in length/,
    ],
  ])('rejects %s with a TypeError', (_title, text, message) => {
    const path = file('bad.json', text);
    expect(() => loadCpuProfile(path)).toThrow(TypeError);
    expect(() => loadCpuProfile(path)).toThrow(message);
  });
});

describe('properties over random profiles', () => {
  it('categories plus idle add up to the total, which is the sum of the non-negative deltas', () => {
    fc.assert(
      fc.property(profileArb, (profile) => {
        const summary = summarizeProfile(profile);
        const totalMs = profile.timeDeltas.reduce((sum, us) => sum + weightUs(us), 0) / 1000;
        const tolerance = 1e-9 * Math.max(1, totalMs);
        expect(summary.totalMs).toBeCloseTo(totalMs, 6);
        const categoriesMs = summary.categories.reduce((sum, c) => sum + c.ms, 0);
        expect(Math.abs(categoriesMs + summary.idleMs - summary.totalMs)).toBeLessThanOrEqual(tolerance);
        expect(Math.abs(summary.busyMs + summary.idleMs - summary.totalMs)).toBeLessThanOrEqual(tolerance);
        expect(summary.categories.map((c) => c.name)).not.toContain('idle');
        const sorted = [...summary.categories].sort((a, b) => b.ms - a.ms);
        expect(summary.categories.map((c) => c.ms)).toEqual(sorted.map((c) => c.ms));
        if (summary.busyMs > 0) {
          expect(summary.categories.reduce((sum, c) => sum + c.shareOfBusy, 0)).toBeCloseTo(1, 9);
        }
      }),
    );
  });

  it('folded weights add up to the busy time in µs, one integer per well-formed line', () => {
    fc.assert(
      fc.property(profileArb, (profile) => {
        const folded = foldedStacks(profile);
        const lines = folded === '' ? [] : folded.slice(0, -1).split('\n');
        expect(folded === '' || folded.endsWith('\n')).toBe(true);
        expect(lines).toEqual([...lines].sort());
        const weights = lines.map((line) => {
          const match = /^([^;\n]+(?:;[^;\n]+)*) (\d+)$/.exec(line);
          expect(match, line).not.toBeNull();
          return Number(match?.[2]);
        });
        expect(new Set(lines.map((line) => line.slice(0, line.lastIndexOf(' ')))).size).toBe(lines.length);
        const busyUs = summarizeProfile(profile).busyMs * 1000;
        const sum = weights.reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - busyUs)).toBeLessThanOrEqual(0.5 * lines.length + 1e-6 * Math.max(1, busyUs));
      }),
    );
  });

  it('the SVG is well-formed XML for any function names, and the bottom row fits the width', () => {
    fc.assert(
      fc.property(profileArb, nameArb, fc.integer({ min: 200, max: 2000 }), (profile, title, width) => {
        const svg = flameGraphSvg(profile, { title, width });
        expect(svg.startsWith('<?xml')).toBe(true);
        expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
        expect(xmlProblems(svg)).toEqual([]);
        const rects = frameRects(svg);
        const framesShown = (svg.match(/<title>/g) ?? []).length;
        expect(rects).toHaveLength(framesShown);
        if (rects.length > 0) {
          const rowWidth = bottomRow(rects).reduce((sum, r) => sum + r.width, 0);
          expect(rowWidth).toBeLessThanOrEqual(width);
          for (const r of rects) expect(r.width).toBeGreaterThanOrEqual(0.001 * width - 0.01);
          for (const r of rects) expect(r.x + r.width).toBeLessThanOrEqual(width + 0.01);
        }
      }),
    );
  });
});
