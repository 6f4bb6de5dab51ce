/**
 * How busy this process's event loop has been lately: its utilization (the
 * share of time it was running callbacks rather than waiting for I/O) over
 * the last window, read from `performance.eventLoopUtilization()`. Reading
 * it is cheap and happens at most once per window; between readings the last
 * one is kept.
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

export type UtilizationSource = (
  current?: EventLoopUtilization,
  previous?: EventLoopUtilization,
) => EventLoopUtilization;

export class LoopLoad {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #read: UtilizationSource;
  #since: EventLoopUtilization;
  #sinceMs: number;
  #utilization = 0;

  /**
   * @param windowMs how long a reading stands before the next one is taken
   * @param clock milliseconds, monotonic (`performance.now` by default)
   * @param read `performance.eventLoopUtilization` by default
   */
  constructor(
    windowMs = 100,
    clock: () => number = () => performance.now(),
    read: UtilizationSource = (current, previous) => performance.eventLoopUtilization(current, previous),
  ) {
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new TypeError('LoopLoad: windowMs must be positive');
    this.#windowMs = windowMs;
    this.#now = clock;
    this.#read = read;
    this.#since = read();
    this.#sinceMs = clock();
  }

  /** Utilization over the last full window, 0 to 1 (0 before the first window has passed). */
  utilization(): number {
    const now = this.#now();
    if (now - this.#sinceMs >= this.#windowMs) {
      const current = this.#read();
      const value = this.#read(current, this.#since).utilization;
      this.#utilization = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
      this.#since = current;
      this.#sinceMs = now;
    }
    return this.#utilization;
  }
}
