/**
 * Spreads a burst of work over turns of the event loop: at most `perTurn`
 * callers pass in one turn; the others wait, first come first served, and
 * `perTurn` more pass at each following turn (in its check phase, through
 * `setImmediate`), until none is left waiting.
 *
 * Why logins pass through one after WeChat answers: calls made together come
 * back together (WeChat's latency is about the same for each), and Node reads
 * every answer that is ready in one turn. Without the gate each login of such
 * a burst is stored, signed and answered only once the whole burst has been,
 * so every one of them waits for all the others, and their clients, answered
 * together, call again together: the burst comes back. Through the gate the
 * first logins of a burst are committed and answered while the rest wait their
 * turn, and the answers leave spread out (docs/architecture.md, "Bursts of
 * WeChat answers"). Work is not dropped or reordered: the gate only decides
 * when each caller continues.
 */
export class TurnGate {
  readonly #perTurn: () => number;
  /** Callers waiting to pass, oldest first. */
  readonly #waiting: Array<() => void> = [];
  /** Callers passed in the current turn. */
  #passed = 0;
  #turnScheduled = false;
  /** This turn's room, asked of `perTurn` once per turn. */
  #roomOfTurn: number | undefined;

  /**
   * @param perTurn most callers to pass in one turn of the event loop: a
   *   positive integer, or a function asked at every turn (its answer is
   *   rounded down and taken as at least 1, as is a throw: a bad answer slows
   *   the gate but never stops it)
   */
  constructor(perTurn: number | (() => number)) {
    if (typeof perTurn === 'number') {
      if (!Number.isSafeInteger(perTurn) || perTurn < 1) {
        throw new TypeError('TurnGate: perTurn must be a positive integer');
      }
      this.#perTurn = () => perTurn;
    } else {
      this.#perTurn = () => {
        let value: number;
        try {
          value = Math.floor(perTurn());
        } catch {
          return 1;
        }
        return Number.isSafeInteger(value) && value >= 1 ? value : 1;
      };
    }
  }

  /** Callers waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Passes at once when this turn has room and nobody is waiting (the result
   * is `undefined`: no promise, no extra tick); otherwise the returned promise
   * resolves in the turn where the caller's place comes.
   *
   * @example
   * const wait = gate.enter();
   * if (wait !== undefined) await wait;
   */
  enter(): Promise<void> | undefined {
    // the first caller after a quiet spell starts a new turn: its room is asked afresh
    if (!this.#turnScheduled) this.#roomOfTurn = undefined;
    this.#scheduleTurn();
    if (this.#waiting.length === 0 && this.#passed < this.#room()) {
      this.#passed++;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
    });
  }

  #room(): number {
    this.#roomOfTurn ??= this.#perTurn();
    return this.#roomOfTurn;
  }

  /** The next turn starts counting afresh; it is scheduled while anyone passed or waits in this one. */
  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#turnScheduled = false;
    this.#roomOfTurn = undefined;
    const released = this.#waiting.splice(0, this.#room());
    this.#passed = released.length;
    if (released.length > 0) this.#scheduleTurn();
    for (const resolve of released) resolve();
  }
}
