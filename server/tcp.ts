/**
 * TCP servers in the style of asyncio's `start_server`, on `Deno.listen`.
 *
 * @module
 */

import { delay } from "jsr:@std/async@^1.5.0/delay";
import { AioError, TimeoutError } from "../errors.ts";
import { checkObject, checkSignal, formatAddr } from "../_show.ts";
import {
  Connection,
  isPeerReset,
  isServedPeerReset,
  logError,
  type OnTcpError,
  report,
} from "./_connection.ts";
import { IdleSweep } from "./_idle.ts";
import {
  ACCEPT_RETRY_DELAY,
  assertBoolean,
  assertFunction,
  assertLimit,
  assertPort,
  assertString,
  listenFailure,
  MAX_TIMER_DELAY,
} from "./_validate.ts";

/**
 * What a {@linkcode TcpHandler} gets beside the connection.
 *
 * Reading `signal` creates it: a handler that never looks at it costs no
 * `AbortController`.
 *
 * @example Greeting a client, and saying goodbye when the server shuts down
 * ```ts
 * import { serveTcp, type TcpContext } from "@aio/aio/server/tcp";
 * import { TextLineStream } from "@std/streams/text-line-stream";
 * import { assertEquals } from "@std/assert";
 *
 * const encoder = new TextEncoder();
 * await using server = serveTcp(async (conn, context: TcpContext) => {
 *   const { remoteAddr, draining } = context;
 *   await conn.write(encoder.encode(`hello ${remoteAddr.port}\n`));
 *   if (!draining.aborted) {
 *     await new Promise((resolve) =>
 *       draining.addEventListener("abort", resolve, { once: true })
 *     );
 *   }
 *   await conn.write(encoder.encode("bye\n"));
 * });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * const lines: string[] = [];
 * for await (
 *   const line of conn.readable
 *     .pipeThrough(new TextDecoderStream())
 *     .pipeThrough(new TextLineStream())
 * ) {
 *   lines.push(line);
 *   if (lines.length === 1) void server.shutdown(); // aborts `draining`
 * }
 * assertEquals(lines, [`hello ${conn.localAddr.port}`, "bye"]);
 * ```
 */
export interface TcpContext {
  /**
   * Aborts when the connection has to stop now: the shutdown deadline
   * (`shutdownTimeout`) passed, the connection was idle for `idleTimeout`, a
   * read or write failed (a peer's reset fails the read waiting for it, or,
   * when the peer closed first, the next write), or the handler returned
   * and the connection was closed. The end of input does not abort it: the peer may
   * have half-closed and still wait for a reply.
   */
  readonly signal: AbortSignal;
  /**
   * Aborts when the server starts shutting down. A handler with natural
   * pauses (a line protocol between two lines) returns at the next pause;
   * `signal` aborts later, when `shutdownTimeout` runs out.
   */
  readonly draining: AbortSignal;
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** The local address the peer connected to. */
  readonly localAddr: Deno.NetAddr;
}

/**
 * Serves one connection. The server closes the connection when the returned
 * promise settles (what it resolves to is ignored, so
 * `(conn) => conn.write(bytes)` serves); a handler that throws or rejects
 * closes only its own connection, and its error goes to `onError`.
 *
 * @param conn The accepted connection.
 * @param context The connection's signal, the server's draining signal and
 * the addresses.
 *
 * @example A handler that counts what the client sent
 * ```ts
 * import { serveTcp, type TcpHandler } from "@aio/aio/server/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const countBytes: TcpHandler = async (conn) => {
 *   const buffer = new Uint8Array(1024);
 *   let total = 0;
 *   for (let n; (n = await conn.read(buffer)) !== null;) total += n;
 *   await conn.write(new TextEncoder().encode(`${total} bytes\n`));
 * }; // the server closes the connection when the handler returns
 *
 * await using server = serveTcp(countBytes);
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("hello"));
 * await conn.closeWrite();
 * assertEquals(await new Response(conn.readable).text(), "5 bytes\n");
 * ```
 */
export type TcpHandler = (
  conn: Deno.TcpConn,
  context: TcpContext,
) => unknown;

/**
 * Options of {@linkcode serveTcp}.
 *
 * @example Closing connections that stay idle
 * ```ts
 * import { echo, serveTcp, type ServeTcpOptions } from "@aio/aio/server";
 * import { assertEquals } from "@std/assert";
 *
 * const errors: unknown[] = [];
 * const options: ServeTcpOptions = {
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   maxConnections: 100,
 *   idleTimeout: 50, // close a connection quiet for 50 ms
 *   shutdownTimeout: 1000,
 *   onError: (error) => errors.push(error),
 * };
 * await using server = serveTcp(echo, options);
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * // The client sends nothing, so the server closes the connection.
 * assertEquals(await conn.read(new Uint8Array(16)), null);
 * assertEquals(errors, []); // an idle close is not an error
 * ```
 */
export interface ServeTcpOptions {
  /**
   * The address to listen on. Use `"0.0.0.0"` or `"::"` to accept
   * connections from other machines.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string | undefined;
  /**
   * The port to listen on; `0` picks a free port (read it from `addr`).
   *
   * @default {0}
   */
  port?: number | undefined;
  /**
   * Shuts the server down when aborted, like calling `shutdown()`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
  /**
   * Called once with the address the server listens on, before the first
   * connection is accepted. If it throws, the listener is closed and
   * `serveTcp()` throws its error.
   *
   * @default {undefined}
   */
  onListen?: ((addr: Deno.NetAddr) => void) | undefined;
  /**
   * Called with an error a handler threw (the connection is then closed) or
   * an error accepting a connection (`conn` is `undefined`; accepting resumes
   * after 100 ms). Errors that follow the server stopping a connection
   * (idle, shutdown deadline) or the peer resetting it, even before it was
   * accepted, are not reported.
   *
   * @default {logs the error and the peer's address with console.error}
   */
  onError?:
    | ((error: unknown, conn: Deno.TcpConn | undefined) => void)
    | undefined;
  /**
   * The most connections served at once. At the limit the server stops
   * accepting: new connections wait in the kernel's listen backlog (511 by
   * default; beyond it Linux drops their handshakes, so those clients wait
   * on TCP's retransmissions or time out, none is refused) and are accepted,
   * in order, as served connections close. Existing connections are
   * unaffected, and memory stays bounded. `Infinity` removes the limit.
   *
   * @default {1024}
   */
  maxConnections?: number | undefined;
  /**
   * Milliseconds without a completed read or write after which a connection
   * is closed (its `signal` aborts with a {@linkcode TimeoutError} first).
   * One sweep per server checks timestamps, every `idleTimeout / 8` (5 ms
   * to 1 s), so the close comes between `idleTimeout` and two sweeps after
   * it: `idleTimeout * 1.25` (at most 2 s late), or up to 10 ms late below
   * an `idleTimeout` of 40 ms, plus the event loop's timer lag. A read
   * counts when it reaches JavaScript, which under heavy load can be later
   * than the sweep: keep it well above the event loop's lag (seconds).
   * `Infinity`: no idle limit.
   *
   * @default {Infinity}
   */
  idleTimeout?: number | undefined;
  /**
   * How long `shutdown()` lets handlers finish, in milliseconds, before it
   * aborts their signals and closes what remains. `Infinity` (or anything
   * above 2147483647, about 24.8 days) waits for every handler.
   *
   * @default {5000}
   */
  shutdownTimeout?: number | undefined;
  /**
   * Sets `SO_REUSEPORT`, so several processes can listen on the same port
   * and Linux spreads connections across them. Deno 2.9 treats this as
   * unstable: the process must run with `--unstable-net` (without it Deno
   * would exit the process, so `serveTcp` throws a `TypeError` instead).
   *
   * @default {false}
   */
  reusePort?: boolean | undefined;
}

/**
 * A running TCP server, returned by {@linkcode serveTcp}.
 *
 * @example Counting connections, and a shutdown that waits for them
 * ```ts
 * import { serveTcp, type TcpServer } from "@aio/aio/server/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const accepted = Promise.withResolvers<void>();
 * await using server: TcpServer = serveTcp(async (conn) => {
 *   accepted.resolve();
 *   await conn.read(new Uint8Array(1)); // until the client hangs up
 * });
 * assertEquals(server.addr.hostname, "127.0.0.1");
 *
 * const conn = await Deno.connect({ port: server.addr.port });
 * await accepted.promise;
 * assertEquals(server.connections, 1);
 *
 * const stopped = server.shutdown(); // the handler may finish
 * conn.close();
 * await stopped;
 * await server.finished;
 * assertEquals(server.connections, 0);
 * ```
 */
export interface TcpServer extends AsyncDisposable {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /** How many connections are being served now. */
  readonly connections: number;
  /** Resolves once the server is shut down and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting at once, lets handlers finish within `shutdownTimeout`,
   * then aborts and closes the connections that remain. Calling it again
   * returns the same promise. It resolves once every handler has returned:
   * a handler that ignores both its `signal` and its closed connection keeps
   * it pending.
   *
   * @returns A promise that resolves like `finished`.
   */
  shutdown(): Promise<void>;
  /** Same as `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Listens on a TCP port and calls `handler` for every connection, each
 * concurrently, the way asyncio's `start_server` runs a coroutine per client.
 *
 * The server is ready when `serveTcp` returns (`addr` holds the port).
 * Connections are bounded by `maxConnections`; writes done with `conn.write`
 * or `conn.writable` wait for the peer, so a slow reader slows its handler
 * down rather than filling memory.
 *
 * Needs `--allow-net` for the address it listens on (e.g.
 * `--allow-net=127.0.0.1:8080`; port 0 takes `127.0.0.1:0`).
 *
 * @param handler Serves one connection; see {@linkcode TcpHandler}.
 * @param options Address, limits, timeouts and callbacks.
 * @returns The running server.
 * @throws {TypeError} If `handler` is not a function, an option has the
 * wrong type, or `reusePort` is set without `--unstable-net`.
 * @throws {RangeError} If `port`, `maxConnections`, `idleTimeout` or
 * `shutdownTimeout` is out of range.
 * @throws {Deno.errors.AddrInUse} If the port is taken (the message names
 * the address, Deno's error is the `cause`).
 * @throws {Error} If the address cannot be listened on otherwise: not
 * available (`Deno.errors.AddrNotAvailable`), or a host name that does not
 * resolve (a plain `Error`); the message names the address, Deno's error is
 * the `cause`.
 * @throws {unknown} What `onListen` throws, after the listener is closed.
 *
 * @example A server that greets each client
 * ```ts
 * import { serveTcp } from "@aio/aio/server/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveTcp(async (conn, context) => {
 *   const hello = `hello ${context.remoteAddr.hostname}\n`;
 *   await conn.write(new TextEncoder().encode(hello));
 * });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * const text = await new Response(conn.readable).text();
 * assertEquals(text, "hello 127.0.0.1\n");
 * ```
 */
export function serveTcp(
  handler: TcpHandler,
  options: ServeTcpOptions = {},
): TcpServer {
  checkObject(options, "Cannot serve");
  const {
    hostname = "127.0.0.1",
    port = 0,
    signal,
    onListen,
    onError = logError,
    maxConnections = 1024,
    idleTimeout = Infinity,
    shutdownTimeout = 5000,
    reusePort = false,
  } = options;
  assertFunction("handler", handler);
  assertString("hostname", hostname);
  assertPort(port);
  checkSignal(signal, "Cannot serve");
  if (onListen !== undefined) assertFunction("onListen", onListen);
  assertFunction("onError", onError);
  assertLimit("maxConnections", maxConnections, { integer: true });
  assertLimit("idleTimeout", idleTimeout);
  assertLimit("shutdownTimeout", shutdownTimeout, { zero: true });
  assertBoolean("reusePort", reusePort);
  // Without --unstable-net, Deno.listen({ reusePort }) exits the process.
  // Deno.listenDatagram exists exactly when the net APIs are unstable-enabled.
  if (reusePort && !("listenDatagram" in Deno)) {
    throw new TypeError(
      'Cannot serve: "reusePort" needs the --unstable-net flag on Deno 2.9',
    );
  }
  const listenOptions: Deno.TcpListenOptions & { reusePort?: boolean } = {
    hostname,
    port,
  };
  if (reusePort) listenOptions.reusePort = true;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen(listenOptions);
  } catch (error) {
    throw listenFailure(error, hostname, port);
  }
  try {
    onListen?.(listener.addr);
  } catch (error) {
    listener.close();
    throw error;
  }
  return new Server(listener, handler, {
    signal,
    onError,
    maxConnections,
    idleTimeout,
    shutdownTimeout,
  });
}

interface ServerOptions {
  signal: AbortSignal | undefined;
  onError: OnTcpError;
  maxConnections: number;
  idleTimeout: number;
  shutdownTimeout: number;
}

class Server implements TcpServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #listener: Deno.TcpListener;
  #handler: TcpHandler;
  #options: ServerOptions;
  #connections = new Set<Connection>();
  #draining = new AbortController();
  #sweep: IdleSweep<Connection> | undefined;
  #accepting: Promise<void>;
  #slotFreed: PromiseWithResolvers<void> | undefined;
  #emptied: PromiseWithResolvers<void> | undefined;
  #shutdown: Promise<void> | undefined;
  #finish: () => void;
  #onAbort = () => void this.shutdown();

  constructor(
    listener: Deno.TcpListener,
    handler: TcpHandler,
    options: ServerOptions,
  ) {
    this.addr = listener.addr;
    this.#listener = listener;
    this.#handler = handler;
    this.#options = options;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.finished = promise;
    this.#finish = resolve;
    const { idleTimeout, signal } = options;
    if (idleTimeout !== Infinity) {
      this.#sweep = new IdleSweep(
        idleTimeout,
        this.#connections,
        (connection) => {
          if (connection.stopped) return;
          connection.stop(
            new TimeoutError(
              `Cannot keep the connection from ${
                formatAddr(connection.remoteAddr)
              } open: idle for ${idleTimeout} ms`,
              { timeout: idleTimeout },
            ),
          );
        },
      );
    }
    this.#accepting = this.#accept();
    if (signal?.aborted) {
      void this.shutdown();
    } else {
      signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  get connections(): number {
    return this.#connections.size;
  }

  shutdown(): Promise<void> {
    return this.#shutdown ??= this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #accept(): Promise<void> {
    const draining = this.#draining.signal;
    while (!draining.aborted) {
      if (this.#connections.size >= this.#options.maxConnections) {
        // Accepting pauses: further peers wait in the kernel's backlog.
        this.#slotFreed = Promise.withResolvers();
        await this.#slotFreed.promise;
        continue;
      }
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (draining.aborted) return;
        // A peer that reset while it waited in the backlog (Deno then fails
        // with NotConnected): a health check or a port scan, not a failure.
        if (isPeerGone(error)) continue;
        // E.g. EMFILE: report, then retry without spinning.
        this.#report(error, undefined);
        try {
          await delay(ACCEPT_RETRY_DELAY, { signal: draining });
        } catch {
          return;
        }
        continue;
      }
      if (draining.aborted) {
        conn.close();
        return;
      }
      const connection = new Connection(conn, draining, performance.now());
      this.#connections.add(connection);
      this.#sweep?.wake();
      void this.#serve(connection);
    }
  }

  async #serve(connection: Connection): Promise<void> {
    try {
      await this.#handler(connection.conn, connection);
    } catch (error) {
      // A peer that resets or stops reading is not the handler's failure.
      if (!connection.stopped && !isServedPeerReset(error)) {
        this.#report(error, connection.conn);
      }
    } finally {
      connection.close();
      this.#connections.delete(connection);
      this.#slotFreed?.resolve();
      if (this.#connections.size === 0) this.#emptied?.resolve();
    }
  }

  #report(error: unknown, conn: Deno.TcpConn | undefined): void {
    report(this.#options.onError, error, conn);
  }

  async #close(): Promise<void> {
    const { signal, shutdownTimeout } = this.#options;
    signal?.removeEventListener("abort", this.#onAbort);
    this.#draining.abort(
      new AioError(
        `Cannot accept connections on ${
          formatAddr(this.addr)
        }: the server is shutting down`,
      ),
    );
    this.#listener[Symbol.dispose]();
    this.#slotFreed?.resolve();
    await this.#accepting;
    if (this.#connections.size > 0) {
      this.#emptied = Promise.withResolvers();
      if (shutdownTimeout <= MAX_TIMER_DELAY) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, shutdownTimeout);
        });
        await Promise.race([this.#emptied.promise, deadline]);
        clearTimeout(timer);
        const reason = new AioError(
          `Cannot finish serving on ${
            formatAddr(this.addr)
          }: the server shut down and its ${shutdownTimeout} ms shutdownTimeout passed`,
        );
        for (const connection of this.#connections) connection.stop(reason);
      }
      await this.#emptied.promise;
    }
    this.#sweep?.[Symbol.dispose]();
    this.#finish();
  }
}

/** Whether accepting failed because the peer already reset the connection. */
function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected || isPeerReset(error);
}
