import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunWindow } from './window.js';

describe('RunWindow', () => {
  it('leaves the opening out of the rate and the percentiles, and keeps its p99 apart', () => {
    const window = new RunWindow(1000);
    // the opening: 200 slow first requests (the burst of new connections)
    for (let i = 0; i < 200; i++) window.record(200 + i, 250);
    // the window: 9,800 responses at 100–109 ms over 5 s
    for (let i = 0; i < 9800; i++) window.record(1000 + (i * 5000) / 9800, 100 + (i % 10));
    const summary = window.summary(6000);
    expect(summary.requests).toBe(9800);
    expect(summary.openingRequests).toBe(200);
    expect(summary.seconds).toBe(5);
    expect(summary.requestsPerSecond).toBe(1960);
    expect(summary.p50Ms).toBe(104);
    expect(summary.p99Ms).toBe(109);
    expect(summary.maxMs).toBe(109);
    // over all 10,000 responses the slowest 2% are the opening's
    expect(summary.p99WithOpeningMs).toBe(250);
  });

  it('counts a response completed exactly at the start of the window in it', () => {
    const window = new RunWindow(500);
    window.record(499.999, 7);
    window.record(500, 3);
    expect(window.summary(1500)).toMatchObject({ requests: 1, openingRequests: 1, maxMs: 3, requestsPerSecond: 1 });
  });

  it('with no opening, measures every response; an empty run measures zero', () => {
    const window = new RunWindow(0);
    for (let i = 1; i <= 10_000; i++) window.record(i, i);
    expect(window.summary(10_000)).toMatchObject({
      requests: 10_000,
      openingRequests: 0,
      requestsPerSecond: 1000,
      p99Ms: 9900,
      p99WithOpeningMs: 9900,
      maxMs: 10_000,
    });
    expect(new RunWindow(100).summary(50)).toMatchObject({ requests: 0, seconds: 0, requestsPerSecond: 0, p99Ms: 0 });
  });

  it('splits any run in two: the window and the opening add up to every response', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1e4, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true })), {
          maxLength: 500,
        }),
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        (responses, start) => {
          const window = new RunWindow(start);
          for (const [at, latency] of responses) window.record(at, latency);
          const summary = window.summary(start + 1000);
          const inWindow = responses.filter(([at]) => at >= start);
          expect(summary.requests).toBe(inWindow.length);
          expect(summary.requests + summary.openingRequests).toBe(responses.length);
          expect(summary.maxMs).toBe(inWindow.length > 0 ? Math.max(...inWindow.map(([, l]) => l)) : 0);
        },
      ),
    );
  });
});
