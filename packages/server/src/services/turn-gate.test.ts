import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TurnGate } from './turn-gate.js';

/** Lets one turn of the event loop go by (the gate's own turn, scheduled earlier, runs first). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Drives a gate through turns: `arrivals[k]` callers enter in turn k, then
 * turns go by until nobody waits. Returns, in the order callers passed, each
 * caller's number (numbered in the order they entered) and the turn it passed in.
 */
async function drive(perTurn: number, arrivals: readonly number[]): Promise<Array<{ caller: number; turn: number }>> {
  const gate = new TurnGate(perTurn);
  const passed: Array<{ caller: number; turn: number }> = [];
  const pending: Array<Promise<void>> = [];
  let turn = 0;
  let caller = 0;
  const enter = (): void => {
    const id = caller++;
    const wait = gate.enter();
    if (wait === undefined) passed.push({ caller: id, turn });
    else pending.push(wait.then(() => void passed.push({ caller: id, turn })));
  };
  for (const count of arrivals) {
    for (let i = 0; i < count; i++) enter();
    turn++;
    await nextTurn();
  }
  while (gate.waiting > 0) {
    turn++;
    await nextTurn();
  }
  await Promise.all(pending);
  return passed;
}

describe('TurnGate', () => {
  it('rejects a perTurn that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TurnGate(bad)).toThrow(TypeError);
    }
  });

  it('passes perTurn callers at once, then perTurn more at each following turn, first come first served', async () => {
    const gate = new TurnGate(2);
    const order: string[] = [];
    const enter = (name: string): void => {
      const wait = gate.enter();
      if (wait === undefined) order.push(`${name} at once`);
      else void wait.then(() => order.push(name));
    };
    for (const name of ['a', 'b', 'c', 'd', 'e']) enter(name);
    expect(order).toEqual(['a at once', 'b at once']);
    expect(gate.waiting).toBe(3);

    await nextTurn();
    expect(order).toEqual(['a at once', 'b at once', 'c', 'd']);
    expect(gate.waiting).toBe(1);
    // the turn's room went to the callers that waited: a newcomer waits behind the one left
    enter('f');
    expect(gate.waiting).toBe(2);

    await nextTurn();
    expect(order).toEqual(['a at once', 'b at once', 'c', 'd', 'e', 'f']);
    expect(gate.waiting).toBe(0);

    // a quiet turn later, the room is whole again
    await nextTurn();
    await nextTurn();
    enter('g');
    enter('h');
    expect(order.slice(-2)).toEqual(['g at once', 'h at once']);
  });

  it('never passes more than perTurn in a turn, keeps the order of arrival, and leaves room unused only when nobody waits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
        async (perTurn, arrivals) => {
          const passed = await drive(perTurn, arrivals);
          const total = arrivals.reduce((sum, n) => sum + n, 0);
          // everyone passed, once, in the order they came
          expect(passed.map((p) => p.caller)).toEqual(Array.from({ length: total }, (_, i) => i));
          // per turn: at most perTurn; fewer only when everyone who had come by then has passed
          const lastTurn = passed.length === 0 ? 0 : (passed[passed.length - 1]?.turn ?? 0);
          let arrived = 0;
          let through = 0;
          for (let t = 0; t <= lastTurn; t++) {
            arrived += arrivals[t] ?? 0;
            const inTurn = passed.filter((p) => p.turn === t).length;
            through += inTurn;
            expect(inTurn).toBeLessThanOrEqual(perTurn);
            if (inTurn < perTurn) expect(through).toBe(arrived);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('asks a perTurn function once a turn, and takes a bad answer (or a throw) as 1', async () => {
    const answers = [3, 1, 2.9, Number.NaN, -4];
    let asked = 0;
    const gate = new TurnGate(() => {
      asked++;
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no answer');
      return answer;
    });
    const passedAt: number[] = [];
    let turn = 0;
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < 12; i++) {
      const wait = gate.enter();
      if (wait === undefined) passedAt.push(turn);
      else pending.push(wait.then(() => void passedAt.push(turn)));
    }
    // this turn's room (3) was asked once, not once per caller
    expect(passedAt).toEqual([0, 0, 0]);
    expect(asked).toBe(1);
    while (gate.waiting > 0) {
      turn++;
      await nextTurn();
    }
    await Promise.all(pending);
    // then 1, 2 (2.9 rounded down), 1 (NaN), 1 (-4), then 1 a turn (the function throws)
    expect(passedAt).toEqual([0, 0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('asks afresh for the first caller after a quiet spell', async () => {
    let room = 1;
    const gate = new TurnGate(() => room);
    expect(gate.enter()).toBeUndefined();
    expect(gate.enter()).toBeDefined();
    await nextTurn();
    await nextTurn();
    await nextTurn();
    room = 3;
    expect([gate.enter(), gate.enter(), gate.enter()]).toEqual([undefined, undefined, undefined]);
    expect(gate.enter()).toBeDefined();
  });

  it('drains a long queue without losing anyone', async () => {
    const passed = await drive(8, [5000]);
    expect(passed).toHaveLength(5000);
    expect(passed[4999]).toEqual({ caller: 4999, turn: Math.ceil(5000 / 8) - 1 });
  });
});
