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
 */
export class IdleSweep<T extends IdleTracked> implements Disposable {
  #timer: ReturnType<typeof setInterval>;

  /**
   * Starts sweeping.
   *
   * @param idleTimeout Milliseconds without activity that make a connection idle.
   * @param connections The live set of connections to sweep.
   * @param onIdle Called once for each idle connection found.
   */
  constructor(
    idleTimeout: number,
    connections: Iterable<T>,
    onIdle: (connection: T) => void,
  ) {
    const period = Math.min(Math.max(idleTimeout / 8, 5), 1000);
    this.#timer = setInterval(() => {
      const now = performance.now();
      for (const connection of connections) {
        if (connection.active) {
          connection.active = false;
          connection.activeAt = now;
        } else if (now - connection.activeAt >= idleTimeout) {
          onIdle(connection);
        }
      }
    }, period);
  }

  /** Stops sweeping. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
  }
}
