import type { EventLoopUtilization } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { LoopLoad, type UtilizationSource } from './loop-load.js';

/** A fake loop: `active` and `idle` ms so far, read the way performance.eventLoopUtilization is. */
function fakeLoop() {
  const loop = { active: 0, idle: 0, reads: 0 };
  const read: UtilizationSource = (current, previous) => {
    loop.reads++;
    const now: EventLoopUtilization = current ?? {
      active: loop.active,
      idle: loop.idle,
      utilization: loop.active / (loop.active + loop.idle || 1),
    };
    if (previous === undefined) return now;
    const active = now.active - previous.active;
    const idle = now.idle - previous.idle;
    return { active, idle, utilization: active / (active + idle || 1) };
  };
  return { loop, read };
}

describe('LoopLoad', () => {
  it('gives the utilization of the last full window, and keeps it until the next window has passed', () => {
    let clock = 0;
    const { loop, read } = fakeLoop();
    const load = new LoopLoad(100, () => clock, read);
    expect(load.utilization()).toBe(0);

    // 80 ms busy, 20 ms idle
    loop.active += 80;
    loop.idle += 20;
    clock = 100;
    expect(load.utilization()).toBeCloseTo(0.8);

    // within the window the reading stands, whatever the loop does meanwhile
    loop.idle += 50;
    clock = 150;
    const reads = loop.reads;
    expect(load.utilization()).toBeCloseTo(0.8);
    expect(loop.reads).toBe(reads);

    // the next window: 10 busy of 100 (the 50 idle above included)
    loop.active += 10;
    loop.idle += 40;
    clock = 200;
    expect(load.utilization()).toBeCloseTo(0.1);
  });

  it('keeps a reading between 0 and 1, and 0 for a reading that is not a number', () => {
    let clock = 0;
    let value = 1.7;
    const read: UtilizationSource = () => ({ active: 0, idle: 0, utilization: value });
    const load = new LoopLoad(10, () => clock, read);
    clock = 10;
    expect(load.utilization()).toBe(1);
    value = -0.5;
    clock = 20;
    expect(load.utilization()).toBe(0);
    value = Number.NaN;
    clock = 30;
    expect(load.utilization()).toBe(0);
  });

  it('refuses a window that is not a positive number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new LoopLoad(bad)).toThrow(TypeError);
    }
  });

  it("reads this process's event loop: busy while a callback runs, low while it waits", async () => {
    const load = new LoopLoad(50);
    // the loop runs one callback for 120 ms without a break
    const until = performance.now() + 120;
    while (performance.now() < until) {
      // busy
    }
    expect(load.utilization()).toBeGreaterThan(0.8);
    // then waits on a timer for 120 ms
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(load.utilization()).toBeLessThan(0.5);
  });
});
