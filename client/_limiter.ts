/**
 * A FIFO counting semaphore: the concurrency limit behind `Client`'s global
 * and per-host limits. Private to `client/`.
 *
 * The fast path (a slot is free and nobody waits) allocates nothing but the
 * already-resolved promise it returns. A released slot goes straight to the
 * oldest waiter, so a newcomer can never overtake the queue. An aborted waiter
 * rejects at once and its place is skipped.
 *
 * Waiting, handing a slot over and giving up cost O(1) amortised however many
 * waiters share one signal (a gather's, a client's, a shared timeout's): the
 * waiters of a signal share one abort listener, added by the first and removed
 * when the last one leaves. A listener each would not do, as Deno's
 * `EventTarget` adds and removes a listener in time linear in the listeners it
 * holds (64–180 µs per operation at 20,000 waiters, bench/limiter_bench.ts).
 *
 * When several limiters apply to one operation (a global limit and a per-host
 * limit), acquire the narrower one first so that no wide slot is held while
 * waiting for a narrow one.
 *
 * @module
 */

import { show } from "../_show.ts";
import { holdClock } from "./_deadlines.ts";

/**
 * A place in a {@linkcode Limiter}'s queue, given to {@linkcode Limiter.wait}:
 * exactly one of its methods is called. Callers that queue many waits extend
 * it with their own state, so that a wait costs one object and no promise.
 */
export abstract class Waiter {
  /** The waiters on the same signal, if it has one. */
  group: Group | undefined = undefined;
  /** Its neighbours in `group`, in arrival order. */
  previous: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  /** Set once the waiter got a slot or gave up; the queue skips it then. */
  settled = false;

  /**
   * Called once the slot is held; call {@linkcode Limiter.release} exactly
   * once afterwards.
   */
  abstract granted(): void;

  /**
   * Called with `signal.reason` when the signal aborts before a slot is taken
   * (no slot is held then).
   */
  abstract refused(reason: unknown): void;
}

/** The waiter behind {@linkcode Limiter.acquire}: settles a promise. */
class PromiseWaiter extends Waiter {
  readonly #resolve: () => void;
  readonly #reject: (reason: unknown) => void;

  constructor(resolve: () => void, reject: (reason: unknown) => void) {
    super();
    this.#resolve = resolve;
    this.#reject = reject;
  }

  granted(): void {
    this.#resolve();
  }

  refused(reason: unknown): void {
    this.#reject(reason);
  }
}

/** The waiters on one signal, in arrival order, and their one listener. */
interface Group {
  signal: AbortSignal;
  first: Waiter | undefined;
  last: Waiter | undefined;
  onAbort: () => void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Limits how many operations hold a slot at once; the others wait in FIFO
 * order.
 *
 * @example Running at most two jobs at once
 * ```ts
 * import { Limiter } from "./_limiter.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const limiter = new Limiter(2);
 * let running = 0;
 * let peak = 0;
 * await Promise.all([1, 2, 3, 4, 5].map((n) =>
 *   limiter.run(async () => {
 *     peak = Math.max(peak, ++running);
 *     await Promise.resolve();
 *     running--;
 *     return n;
 *   })
 * ));
 * assertEquals(peak, 2);
 * ```
 */
export class Limiter {
  #limit: number;
  #active = 0;
  #waiting = 0;
  #queue: (Waiter | undefined)[] = [];
  #head = 0;
  /** Aborted waiters still in the queue after `#head`. */
  #dead = 0;
  readonly #groups = new Map<AbortSignal, Group>();

  /**
   * Creates a limiter.
   *
   * @param limit How many slots there are: a positive integer, or `Infinity`
   * for no limit.
   * @throws {RangeError} If `limit` is not a positive integer or `Infinity`.
   */
  constructor(limit: number) {
    if (!(Number.isInteger(limit) && limit > 0) && limit !== Infinity) {
      throw new RangeError(
        `Cannot create limiter: "limit" must be a positive integer or Infinity, received ${
          show(limit)
        }`,
      );
    }
    this.#limit = limit;
  }

  /** How many slots there are. */
  get limit(): number {
    return this.#limit;
  }

  /** How many slots are held now. */
  get active(): number {
    return this.#active;
  }

  /** How many callers are waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Takes a slot if one is free and nobody waits, without waiting.
   *
   * @returns Whether a slot was taken; if so, call {@linkcode release} once.
   */
  tryAcquire(): boolean {
    if (this.#active < this.#limit && this.#waiting === 0) {
      this.#active++;
      return true;
    }
    return false;
  }

  /**
   * Waits for a slot and takes it. Call {@linkcode release} exactly once
   * afterwards.
   *
   * @param signal Gives up waiting when aborted; a slot already taken is not
   * affected.
   * @returns A promise that resolves once the slot is held.
   * @throws {unknown} `signal.reason` if `signal` aborts before a slot is
   * taken (no slot is held then).
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return RESOLVED;
    return this.#enqueue(signal);
  }

  /**
   * The allocation-free form of {@linkcode acquire}: one of `waiter`'s
   * methods is called synchronously, from this call (a free slot, an aborted
   * signal), from the {@linkcode release} that frees a slot, or from the
   * abort event.
   *
   * @param signal Gives up waiting when aborted.
   * @param waiter What to call; it may be queued once only.
   */
  wait(signal: AbortSignal | undefined, waiter: Waiter): void {
    if (signal?.aborted) return waiter.refused(signal.reason);
    if (this.tryAcquire()) return waiter.granted();
    this.#push(signal, waiter);
  }

  /**
   * Gives a slot back; the oldest waiter, if any, gets it at once.
   *
   * @throws {Error} If no slot is held (more releases than acquisitions).
   */
  release(): void {
    if (this.#active === 0) {
      throw new Error("Cannot release limiter slot: no slot is held");
    }
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const waiter = queue[this.#head]!;
      queue[this.#head++] = undefined;
      if (waiter.settled) {
        this.#dead--;
        continue;
      }
      // The slot passes to the waiter: `#active` stays the same.
      this.#settle(waiter);
      this.#compact();
      waiter.granted();
      return;
    }
    queue.length = 0;
    this.#head = 0;
    this.#dead = 0;
    this.#active--;
  }

  /**
   * Runs `fn` holding a slot, and releases it when `fn` settles.
   *
   * @typeParam T The result of `fn`.
   * @param fn The work to run within the limit.
   * @param signal Gives up waiting for a slot when aborted; once `fn` runs,
   * cancelling it is up to `fn`.
   * @returns What `fn` resolves to.
   * @throws {unknown} What `fn` throws, or `signal.reason` if `signal` aborts
   * while waiting for a slot.
   */
  async run<T>(
    fn: () => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    if (!this.tryAcquire()) await this.#enqueue(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  #enqueue(signal: AbortSignal | undefined): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#push(signal, new PromiseWaiter(resolve, reject));
    return promise;
  }

  #push(signal: AbortSignal | undefined, waiter: Waiter): void {
    if (signal) {
      let group = this.#groups.get(signal);
      if (group === undefined) {
        const created: Group = {
          signal,
          first: undefined,
          last: undefined,
          onAbort: () => this.#abort(created),
        };
        signal.addEventListener("abort", created.onAbort, { once: true });
        this.#groups.set(signal, created);
        group = created;
      }
      waiter.group = group;
      waiter.previous = group.last;
      if (group.last) group.last.next = waiter;
      else group.first = waiter;
      group.last = waiter;
    }
    // A slot may be held by a parked response body, which only its deadline
    // frees: while anyone waits, the deadlines' clock keeps the process on.
    if (this.#waiting++ === 0) holdClock(1);
    this.#queue.push(waiter);
  }

  /** Marks a waiter that got a slot, and unlinks it from its group. */
  #settle(waiter: Waiter): void {
    waiter.settled = true;
    if (--this.#waiting === 0) holdClock(-1);
    const group = waiter.group;
    if (group === undefined) return;
    const { previous, next } = waiter;
    if (previous) previous.next = next;
    else group.first = next;
    if (next) next.previous = previous;
    else group.last = previous;
    if (group.first === undefined) {
      group.signal.removeEventListener("abort", group.onAbort);
      this.#groups.delete(group.signal);
    }
  }

  /** Rejects every waiter on an aborted signal, oldest first. */
  #abort(group: Group): void {
    const { signal } = group;
    // Gone already (`once`); removed anyway so that adds and removes pair up.
    signal.removeEventListener("abort", group.onAbort);
    this.#groups.delete(signal);
    const reason = signal.reason;
    for (let waiter = group.first; waiter; waiter = waiter.next) {
      waiter.settled = true;
      if (--this.#waiting === 0) holdClock(-1);
      this.#dead++;
      waiter.refused(reason);
    }
    group.first = group.last = undefined;
    this.#compact();
  }

  /**
   * Drops consumed and aborted entries once they outnumber the live ones, so
   * the queue stays proportional to `#waiting` at O(1) amortised cost.
   */
  #compact(): void {
    const queue = this.#queue;
    if (this.#head + this.#dead < 64) return;
    if ((this.#head + this.#dead) * 2 < queue.length) return;
    let live = 0;
    for (let i = this.#head; i < queue.length; i++) {
      const waiter = queue[i]!;
      if (!waiter.settled) queue[live++] = waiter;
    }
    queue.length = live;
    this.#head = 0;
    this.#dead = 0;
  }
}
