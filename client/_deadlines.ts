/**
 * One shared coarse clock for request deadlines. Private to `client/`.
 *
 * A timer per request costs a `setTimeout` and a `clearTimeout` on the hot
 * path (measured ~2.2 µs per pair on Deno 2.9, against ~35 µs of client CPU
 * for a whole loopback GET). Here a single interval, running only while some
 * deadline is pending, checks every {@linkcode TICK} ms which deadlines have
 * passed; adding and removing one is a `Set` operation. A deadline therefore
 * fires up to one tick late, never early.
 *
 * @module
 */

/** How often pending deadlines are checked, in milliseconds. */
export const TICK = 10;

/** A pending deadline; pass it to {@linkcode clearDeadline} to disarm it. */
export interface Deadline {
  /** When it fires, on the `performance.now()` clock. */
  readonly at: number;
  /** What runs when it fires. */
  readonly fire: () => void;
}

const pending = new Set<Deadline>();
let interval: ReturnType<typeof setInterval> | undefined;

function sweep(): void {
  const now = performance.now();
  for (const deadline of pending) {
    if (deadline.at <= now) {
      pending.delete(deadline);
      deadline.fire();
    }
  }
  stopWhenIdle();
}

function stopWhenIdle(): void {
  // Stopping at once (not on the next tick) keeps a finished request from
  // leaving a live timer behind.
  if (pending.size === 0 && interval !== undefined) {
    clearInterval(interval);
    interval = undefined;
  }
}

/**
 * Runs `fire` once `ms` milliseconds have passed (up to one tick later),
 * unless the deadline is cleared first.
 *
 * @param ms Milliseconds from now; `Infinity` arms nothing.
 * @param fire Called once when the deadline passes.
 * @returns The deadline, or `undefined` when `ms` is `Infinity`.
 */
export function setDeadline(
  ms: number,
  fire: () => void,
): Deadline | undefined {
  if (ms === Infinity) return undefined;
  const deadline: Deadline = { at: performance.now() + ms, fire };
  pending.add(deadline);
  interval ??= setInterval(sweep, TICK);
  return deadline;
}

/**
 * Disarms a deadline; harmless if it already fired or is `undefined`.
 *
 * @param deadline What {@linkcode setDeadline} returned.
 */
export function clearDeadline(deadline: Deadline | undefined): void {
  if (deadline !== undefined && pending.delete(deadline)) stopWhenIdle();
}
