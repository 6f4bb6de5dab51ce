/**
 * The measured window of a load run. A closed-loop load generator opens all
 * its connections at once, so the first request of every connection arrives
 * in one burst (200 logins within a millisecond at 200 connections), and the
 * loop takes a few cycles to settle. Those first seconds of a run (its
 * opening) are not the service's steady state: they are recorded apart, and
 * the rate and latency percentiles are taken over the responses that
 * completed after them. The p99 of the whole run, opening included, is kept
 * beside them so that a report can show what the opening cost.
 */
import { percentile } from './stats.js';

/** A growable list of numbers, sorted on demand. */
class Samples {
  private values = new Float64Array(1 << 12);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}

export interface WindowSummary {
  /** responses completed in the window */
  requests: number;
  /** length of the window, seconds */
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** responses completed during the opening (not in the window) */
  openingRequests: number;
  /** p99 over every response of the run, the opening's included */
  p99WithOpeningMs: number;
}

export class RunWindow {
  private readonly measured = new Samples();
  private readonly everything = new Samples();

  /** @param startMs when the window opens (`performance.now()` time): the run's start plus its opening */
  constructor(readonly startMs: number) {}

  /** One response, completed at `completedAtMs`, `latencyMs` after its request was sent. */
  record(completedAtMs: number, latencyMs: number): void {
    this.everything.push(latencyMs);
    if (completedAtMs >= this.startMs) this.measured.push(latencyMs);
  }

  /** The window from its start to `endMs` (the end of the run). */
  summary(endMs: number): WindowSummary {
    const measured = this.measured.sorted();
    const seconds = Math.max(0, endMs - this.startMs) / 1000;
    return {
      requests: measured.length,
      seconds,
      requestsPerSecond: seconds > 0 ? measured.length / seconds : 0,
      p50Ms: percentile(measured, 50),
      p99Ms: percentile(measured, 99),
      maxMs: measured.length > 0 ? (measured[measured.length - 1] as number) : 0,
      openingRequests: this.everything.length - measured.length,
      p99WithOpeningMs: percentile(this.everything.sorted(), 99),
    };
  }
}
