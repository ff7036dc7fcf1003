/**
 * One connection of a TCP server: the context handed to its handler, and the
 * instrumentation that lets the server see activity and failures without a
 * timer per read.
 *
 * @module
 */

import { formatAddr } from "../_show.ts";
import { AioError } from "../errors.ts";
import type { TcpContext } from "./tcp.ts";
import { writeAll } from "./_write_all.ts";

/**
 * The server's record of one accepted connection. It is the `context` the
 * handler receives, so a connection costs one object besides the
 * `Deno.TcpConn`; its members beyond {@linkcode TcpContext} are the
 * server's.
 *
 * The connection's `read`, `write`, `readable` and `writable` are replaced by
 * versions that mark the connection active and abort `signal` when the
 * connection fails. The streams differ from Deno's own in one way: reaching
 * the end of `readable` does not close the connection, and closing `writable`
 * half-closes it (`closeWrite()`), so a handler can still reply after reading
 * everything the peer sent.
 */
export class Connection implements TcpContext {
  /** The connection itself. */
  readonly conn: Deno.TcpConn;
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The local address the peer connected to. */
  readonly localAddr: Deno.NetAddr;
  /** The server-wide signal that aborts when shutdown starts. */
  readonly draining: AbortSignal;
  /** Set by every completed read or write; cleared by the idle sweep. */
  active = true;
  /** When the idle sweep last saw the connection active (performance.now). */
  activeAt: number;
  /** Whether the server stopped this connection (idle or shutdown deadline). */
  stopped = false;
  #controller: AbortController | undefined;
  #aborted = false;
  #closed = false;
  #reason: unknown;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /**
   * Wraps an accepted connection.
   *
   * @param conn The accepted connection; its I/O methods are instrumented.
   * @param draining The server's draining signal.
   * @param now The current time, from the server's clock.
   */
  constructor(conn: Deno.TcpConn, draining: AbortSignal, now: number) {
    this.conn = conn;
    this.remoteAddr = conn.remoteAddr;
    this.localAddr = conn.localAddr;
    this.draining = draining;
    this.activeAt = now;
    const read = conn.read;
    const write = conn.write;
    // One extra promise per read or write; measured below the noise of the
    // ping-pong benchmark (CPU per message), and it buys idle tracking and
    // failure detection without a timer per read.
    const onRead = (n: number | null) => {
      this.active = true;
      return n;
    };
    const onWritten = (n: number) => {
      this.active = true;
      return n;
    };
    const onFailure = (error: unknown): never => {
      if (typeof error === "object" && error !== null) failures.add(error);
      this.abort(error);
      throw error;
    };
    conn.read = (p) => read.call(conn, p).then(onRead, onFailure);
    conn.write = (p) => write.call(conn, p).then(onWritten, onFailure);
    Object.defineProperties(conn, {
      readable: {
        configurable: true,
        get: () => this.#readable ??= readableFor(conn),
      },
      writable: {
        configurable: true,
        get: () => this.#writable ??= writableFor(conn),
      },
    });
  }

  /** Aborts when the connection must stop now; created on first access. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) {
        this.#controller.abort(this.#reason);
      } else if (this.#closed) {
        this.#controller.abort(this.#closedError());
      }
    }
    return this.#controller.signal;
  }

  /** Aborts `signal` with `reason`, once, unless the connection is closed. */
  abort(reason: unknown): void {
    if (this.#aborted || this.#closed) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** Stops the connection on the server's behalf: abort, then close. */
  stop(reason: unknown): void {
    this.stopped = true;
    this.abort(reason);
    this.conn[Symbol.dispose]();
  }

  /** Closes the connection after its handler returned. */
  close(): void {
    // The reason is built only for a signal that exists or is asked for.
    if (this.#controller !== undefined) this.abort(this.#closedError());
    this.#closed = true;
    this.conn[Symbol.dispose]();
  }

  #closedError(): AioError {
    return new AioError(
      `Cannot use the connection from ${
        formatAddr(this.remoteAddr)
      }: it is closed`,
    );
  }
}

function readableFor(conn: Deno.Conn): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 64 * 1024,
    async pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      const n = await conn.read(
        new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      );
      if (n === null) {
        controller.close();
        request.respond(0);
      } else {
        request.respond(n);
      }
    },
    // Cancelling stops reading but keeps the connection open, so the handler
    // can still write (an error line, a goodbye); the server closes it when
    // the handler returns.
  });
}

function writableFor(conn: Deno.Conn): WritableStream<Uint8Array> {
  return new WritableStream({
    write(chunk) {
      return writeAll(conn, chunk);
    },
    close() {
      return conn.closeWrite();
    },
    abort() {
      conn[Symbol.dispose]();
    },
  });
}

/** Whether `error` says the peer reset the connection or stopped reading. */
export function isPeerReset(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/** What the read or write of a served connection failed with. */
const failures = new WeakSet<object>();

/**
 * {@linkcode isPeerReset}, for an error that a served connection's own read
 * or write failed with: a handler's other sockets (an upstream it proxies
 * to) resetting is the handler's failure, not the peer's doing.
 */
export function isServedPeerReset(error: unknown): boolean {
  return isPeerReset(error) && failures.has(error as object);
}

/** What a TCP server calls with an error it reports. */
export type OnTcpError = (
  error: unknown,
  conn: Deno.TcpConn | undefined,
) => void;

/** The default `onError`: the error and the peer's address, logged. */
export function logError(error: unknown, conn: Deno.TcpConn | undefined): void {
  const where = conn
    ? `serving ${formatAddr(conn.remoteAddr)}`
    : "accepting a connection";
  console.error(`serveTcp: error ${where}:`, error);
}

/** Calls `onError`; what it throws in turn is logged, never rethrown. */
export function report(
  onError: OnTcpError,
  error: unknown,
  conn: Deno.TcpConn | undefined,
): void {
  try {
    onError(error, conn);
  } catch (onErrorError) {
    console.error(onErrorError);
  }
}
