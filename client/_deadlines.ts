/**
 * Shared abort scopes on one coarse clock: the deadlines and cancellation of
 * client calls. Private to `client/`.
 *
 * Measured on Deno 2.9 (µs per request, against ~42 µs of client CPU for a
 * whole loopback GET with raw `fetch`): `fetch` with a signal costs +1.9 when
 * the signal is shared by many requests and +3.4 when each request brings a
 * fresh `AbortController` (Deno's `Request` makes a dependent signal that
 * tracks every source); a `setTimeout`/`clearTimeout` pair +2.2; linking a
 * signal with `AbortSignal.any` +5.7; and removing a listener from a signal
 * that has n of them is O(n).
 *
 * So calls that start within the same {@linkcode TICK}, under the same
 * parent signal and with the same limit, share one {@linkcode Scope}: one
 * `AbortController`, one listener on the parent, one entry on the clock. A
 * scope's deadline is the latest of its members' (`timeout` after the end of
 * the tick it was opened in), and a single interval, running only while some
 * scope has a deadline, checks every tick which have passed. A deadline thus
 * fires up to two ticks late, never early. When it fires, every member's own
 * deadline has passed too; members tell their own timeout from another
 * abort with {@linkcode Scope.expired}.
 *
 * The clock keeps the process alive only while some member waits on it. A
 * member is parked ({@linkcode parkScope}) while nothing of it is pending:
 * a response body handed to the caller and not being read. Like a body of a
 * plain `fetch`, one left unread then does not hold the process open until
 * its deadline; it is still cancelled when the deadline passes.
 *
 * @module
 */

/** The clock's resolution, in milliseconds. */
export const TICK = 10;

/** A shared abort scope; see the module doc. */
export class Scope {
  /** Aborts when the parent aborts or the deadline passes. */
  readonly signal: AbortSignal;
  /** The parent signal it follows, if any. */
  readonly parent: AbortSignal | undefined;
  /** Its limit in milliseconds (`Infinity` for none). */
  readonly timeout: number;
  /** When it fires, on the `performance.now()` clock (`Infinity` never). */
  readonly at: number;
  /** Until when new calls may join it. */
  readonly joinableUntil: number;
  /** Whether it aborted because its deadline passed. */
  expired = false;
  /** How many calls hold it. */
  users = 0;
  /** How many of them are parked. */
  parked = 0;
  readonly #controller: AbortController;
  #onParentAbort: (() => void) | undefined;
  #watchers: Set<() => void> | undefined;

  constructor(parent: AbortSignal | undefined, timeout: number, now: number) {
    this.#controller = new AbortController();
    this.signal = this.#controller.signal;
    this.parent = parent;
    this.timeout = timeout;
    this.joinableUntil = now + TICK;
    this.at = this.joinableUntil + timeout;
    if (parent?.aborted) {
      this.#controller.abort(parent.reason);
    } else if (parent !== undefined) {
      const controller = this.#controller;
      this.#onParentAbort = () => controller.abort(parent.reason);
      parent.addEventListener("abort", this.#onParentAbort, { once: true });
    }
  }

  /** Aborts with a timeout reason; members map it to their own error. */
  expire(): void {
    this.expired = true;
    this.#controller.abort(
      new DOMException(
        `Cannot finish: ${this.timeout} ms have passed`,
        "TimeoutError",
      ),
    );
  }

  /**
   * Calls `fn` once if the scope aborts, until {@linkcode Scope.unwatch}.
   * One listener serves every watcher: removing one of many listeners from a
   * signal is O(n) in Deno.
   */
  watch(fn: () => void): void {
    if (this.#watchers === undefined) {
      const watchers = this.#watchers = new Set();
      this.signal.addEventListener("abort", () => {
        for (const watcher of watchers) watcher();
        watchers.clear();
      }, { once: true });
    }
    this.#watchers.add(fn);
  }

  /** Forgets a watcher added with {@linkcode Scope.watch}. */
  unwatch(fn: () => void): void {
    this.#watchers?.delete(fn);
  }

  /** Stops following the parent. */
  unlink(): void {
    if (this.#onParentAbort !== undefined) {
      this.parent!.removeEventListener("abort", this.#onParentAbort);
      this.#onParentAbort = undefined;
    }
  }
}

/** The scope new calls join, per parent signal and limit. */
const joinable = new Map<AbortSignal | undefined, Map<number, Scope>>();
/** Scopes with a deadline still pending. */
const timed = new Set<Scope>();
let interval: ReturnType<typeof setInterval> | undefined;
/**
 * How many waiters need the clock to keep the process alive: members of
 * scopes on the clock that are not parked, and holds ({@linkcode holdClock}).
 */
let waiters = 0;
/** Whether the interval keeps the process alive. */
let referenced = false;

/** Refs or unrefs the interval as {@linkcode waiters} says. */
function reference(): void {
  const wanted = waiters > 0;
  if (interval === undefined || wanted === referenced) return;
  referenced = wanted;
  if (wanted) Deno.refTimer(interval);
  else Deno.unrefTimer(interval);
}

function sweep(): void {
  const now = performance.now();
  for (const scope of timed) {
    if (scope.at <= now) {
      timed.delete(scope);
      waiters -= scope.users - scope.parked;
      scope.expire();
    }
  }
  stopWhenIdle();
  reference();
}

function stopWhenIdle(): void {
  // Stopping at once (not on the next tick) keeps a finished call from
  // leaving a live timer behind.
  if (timed.size === 0 && interval !== undefined) {
    clearInterval(interval);
    interval = undefined;
  }
}

/**
 * Joins (or opens) the scope for calls under `parent` with limit `timeout`.
 * Release it with {@linkcode leaveScope} when the call is over.
 *
 * @param parent The signal the call follows, if any.
 * @param timeout The call's limit in milliseconds, or `Infinity`.
 * @returns The scope, or `undefined` when there is nothing to follow (no
 * parent and no limit).
 */
export function joinScope(
  parent: AbortSignal | undefined,
  timeout: number,
): Scope | undefined {
  if (parent === undefined && timeout === Infinity) return undefined;
  let byTimeout = joinable.get(parent);
  let scope = byTimeout?.get(timeout);
  const now = performance.now();
  if (
    scope === undefined || now >= scope.joinableUntil || scope.signal.aborted
  ) {
    scope = new Scope(parent, timeout, now);
    if (byTimeout === undefined) {
      byTimeout = new Map();
      joinable.set(parent, byTimeout);
    }
    byTimeout.set(timeout, scope);
    if (timeout !== Infinity) timed.add(scope);
  }
  scope.users++;
  if (timed.has(scope)) waiters++;
  if (interval === undefined && timed.size > 0) startSweeping();
  reference();
  return scope;
}

function startSweeping(): void {
  const id = setInterval(sweep, TICK);
  // Under `deno test`, the process's first timer call runs pending
  // microtasks before it returns; one of them may have started the sweep.
  if (interval === undefined && timed.size > 0) {
    interval = id;
    referenced = true;
  } else {
    clearInterval(id);
  }
}

/**
 * Leaves a scope; the last call to leave disposes of it.
 *
 * @param scope What {@linkcode joinScope} returned (`undefined` is ignored).
 */
export function leaveScope(scope: Scope | undefined): void {
  if (scope === undefined) return;
  if (timed.has(scope)) waiters--;
  if (--scope.users > 0) return reference();
  scope.unlink();
  if (timed.delete(scope)) stopWhenIdle();
  reference();
  const byTimeout = joinable.get(scope.parent);
  if (byTimeout?.get(scope.timeout) === scope) {
    byTimeout.delete(scope.timeout);
    if (byTimeout.size === 0) joinable.delete(scope.parent);
  }
}

/**
 * Parks one member of a scope (see the module doc), or unparks it with
 * `parked: false`; a member leaves unparked.
 *
 * @param scope What {@linkcode joinScope} returned (`undefined` is ignored).
 * @param parked Whether the member is now parked.
 */
export function parkScope(scope: Scope | undefined, parked: boolean): void {
  if (scope === undefined) return;
  scope.parked += parked ? 1 : -1;
  if (timed.has(scope)) holdClock(parked ? -1 : 1);
}

/**
 * Adds a waiter that needs the clock to keep the process alive (a queue of
 * calls, whose slots parked members may hold), or with `-1` removes one.
 *
 * @param delta `1` or `-1`.
 */
export function holdClock(delta: 1 | -1): void {
  waiters += delta;
  reference();
}
