import type { Clock, TimerHandle } from '../../src/ports/clock.js';

/** A clock the test moves by hand: `advance(ms)` fires due timers in order. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  pending(): number;
}

export function manualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(ms, fn): TimerHandle {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return { id };
    },
    cancelTimer(h) {
      timers.delete(h.id);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= until && (due === undefined || e[1].at < due[1].at)) due = e;
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}
