/**
 * Idle timeouts with one periodic sweep per server instead of a timer per
 * connection or per read.
 *
 * @module
 */

/** What the sweep needs to know about a connection. */
export interface IdleTracked {
  /** Set by every read or write; the sweep clears it. */
  active: boolean;
  /** When the sweep last saw the connection active (performance.now). */
  activeAt: number;
}

/**
 * Calls `onIdle` for every connection that saw no read or write for at least
 * `idleTimeout` ms.
 *
 * Reads only set a flag; each sweep turns a set flag into a timestamp (its
 * own time, which is never earlier than the read). So a connection is closed
 * no sooner than `idleTimeout` after its last activity, and at most two sweep
 * periods (`idleTimeout / 8` each, between 5 ms and 1 s) later.
 *
 * A sweep that comes late (the event loop was blocked: a long synchronous
 * task, a garbage collection) closes nothing for one period, whatever
 * sweeps catch up meanwhile: reads that completed during the block have not
 * run yet, so an active connection would look idle. The first sweep after
 * that period decides, even if late too (a loop that is always behind still
 * closes idle connections). With no connection to sweep, the timer stops
 * until {@linkcode IdleSweep.wake}.
 */
export class IdleSweep<T extends IdleTracked> implements Disposable {
  #timer: ReturnType<typeof setInterval> | undefined;
  #idleTimeout: number;
  #period: number;
  #connections: Set<T>;
  #onIdle: (connection: T) => void;
  #last = 0;
  /** Until when nothing is closed, after a late sweep; 0 when not paused. */
  #pausedUntil = 0;

  /**
   * Prepares sweeping; the first {@linkcode IdleSweep.wake} starts it.
   *
   * @param idleTimeout Milliseconds without activity that make a connection idle.
   * @param connections The live set of connections to sweep.
   * @param onIdle Called once for each idle connection found.
   */
  constructor(
    idleTimeout: number,
    connections: Set<T>,
    onIdle: (connection: T) => void,
  ) {
    this.#idleTimeout = idleTimeout;
    this.#period = Math.min(Math.max(idleTimeout / 8, 5), 1000);
    this.#connections = connections;
    this.#onIdle = onIdle;
  }

  /** Starts sweeping, if stopped: call it when a connection is added. */
  wake(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    this.#pausedUntil = 0;
    this.#timer = setInterval(() => this.#sweep(), this.#period);
  }

  #sweep(): void {
    const now = performance.now();
    if (this.#pausedUntil === 0 && now - this.#last > 2 * this.#period) {
      this.#pausedUntil = now + this.#period;
    }
    this.#last = now;
    const paused = now < this.#pausedUntil;
    if (!paused) this.#pausedUntil = 0;
    if (this.#connections.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    for (const connection of this.#connections) {
      if (connection.active) {
        connection.active = false;
        connection.activeAt = now;
      } else if (!paused && now - connection.activeAt >= this.#idleTimeout) {
        this.#onIdle(connection);
      }
    }
  }

  /** Stops sweeping. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
