/**
 * Request timeouts with one periodic sweep per server instead of a timer per
 * request.
 *
 * Measured on Deno 2.9.6: `setTimeout` + `clearTimeout` cost about 2 µs, a
 * quarter of what serving a hello-world request costs in total; adding to
 * and deleting from a `Set` costs well under 0.1 µs.
 *
 * @module
 */

/** What the sweep needs to know about a request. */
export interface Timed {
  /** When the request started, from `performance.now()`. */
  readonly started: number;
}

/**
 * Calls `onTimeout` for every item still registered `timeout` ms after it
 * started.
 *
 * All items share one timeout and are added when they start, so the set's
 * insertion order is their deadline order and a sweep stops at the first
 * item that has time left. The timer runs only while items are registered;
 * a sweep that finds none stops it. An item times out between `timeout` and
 * `timeout + period` ms after it started, the period being a tenth of the
 * timeout, between 5 ms and 1 s.
 */
export class TimeoutSweep<T extends Timed> implements Disposable {
  /** The registered items, oldest first. */
  readonly items: Set<T> = new Set();
  #timeout: number;
  #period: number;
  #onTimeout: (item: T) => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Creates a sweep; its timer starts with the first `add`.
   *
   * @param timeout Milliseconds after its start at which an item times out;
   * `Infinity` never times out (the set is then only a registry).
   * @param onTimeout Called once for each item that timed out, after it was
   * removed.
   */
  constructor(timeout: number, onTimeout: (item: T) => void) {
    this.#timeout = timeout;
    this.#period = Math.min(Math.max(timeout / 10, 5), 1000);
    this.#onTimeout = onTimeout;
  }

  /** Registers an item that has just started. */
  add(item: T): void {
    this.items.add(item);
    if (this.#timer === undefined && this.#timeout !== Infinity) {
      this.#timer = setInterval(this.#sweep, this.#period);
    }
  }

  /** Unregisters an item; returns whether it was registered. */
  delete(item: T): boolean {
    return this.items.delete(item);
  }

  #sweep = (): void => {
    const now = performance.now();
    for (const item of this.items) {
      if (now - item.started < this.#timeout) return;
      this.items.delete(item);
      this.#onTimeout(item);
    }
    this[Symbol.dispose]();
  };

  /** Stops the timer; registered items no longer time out. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
