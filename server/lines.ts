/**
 * Line protocols (one request per line, replies as lines) on
 * {@linkcode serveTcp}.
 *
 * @module
 */

import { TextLineStream } from "jsr:@std/streams@^1.1.2/text-line-stream";
import { checkObject, formatAddr, show } from "../_show.ts";
import { TimeoutError } from "../errors.ts";
import {
  isServedPeerReset,
  logError,
  type OnTcpError,
  report,
} from "./_connection.ts";
import { LineDecoder } from "../_line_decoder.ts";
import { type Timed, TimeoutSweep } from "./_timeout_sweep.ts";
import { assertFunction, assertLimit } from "./_validate.ts";
import { writeAll } from "./_write_all.ts";
import {
  serveTcp,
  type ServeTcpOptions,
  type TcpContext,
  type TcpServer,
} from "./tcp.ts";

/**
 * What a {@linkcode LineHandler} may return: a line to send back, nothing,
 * or several lines (an array, a generator, an async generator: each is sent
 * as it comes, so a long async reply streams). Each line is sent with `"\n"`
 * appended. Any other value, or a line that is not a string, is a
 * `TypeError` for `onError`, and the connection is closed.
 *
 * @example One line, several, a stream of them, or none
 * ```ts
 * import { type LineReply, serveLines } from "@aio/aio/server/lines";
 * import { assertEquals } from "@std/assert";
 *
 * // Each line is sent as the generator yields it.
 * async function* countdown(from: number) {
 *   for (let i = from; i > 0; i--) yield String(i);
 * }
 *
 * await using server = serveLines((line): LineReply => {
 *   const [command, argument = ""] = line.split(" ");
 *   if (command === "echo") return argument; // one line
 *   if (command === "split") return argument.split(","); // several lines
 *   if (command === "countdown") return countdown(Number(argument));
 *   // nothing: no reply
 * });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(
 *   new TextEncoder().encode("echo hi\nnoop\nsplit a,b\ncountdown 3\n"),
 * );
 * await conn.closeWrite();
 * assertEquals(
 *   await new Response(conn.readable).text(),
 *   "hi\na\nb\n3\n2\n1\n",
 * );
 * ```
 */
export type LineReply =
  | string
  | void
  | Iterable<string>
  | AsyncIterable<string>;

/**
 * What a {@linkcode LineHandler} gets beside the line.
 *
 * @example Numbering lines, and closing after the third
 * ```ts
 * import { type LineContext, serveLines } from "@aio/aio/server/lines";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveLines((line, context: LineContext) => {
 *   if (context.lineNumber === 3) context.close(); // after this reply
 *   return `${context.lineNumber}: ${line}`;
 * });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("a\nb\nc\nd\n"));
 * assertEquals(await new Response(conn.readable).text(), "1: a\n2: b\n3: c\n");
 * ```
 */
export interface LineContext extends TcpContext {
  /** The 1-based number of the line on its connection. */
  readonly lineNumber: number;
  /** Closes the connection once the reply to this line is sent. */
  close(): void;
}

/**
 * Answers one line. Lines of a connection are handled one at a time, in
 * order, each reply sent before the next line is read; connections are
 * served concurrently.
 *
 * @param line The line, without its `"\n"` or `"\r\n"`.
 * @param context The line number, `close()`, and the connection's
 * {@linkcode TcpContext}.
 *
 * @example A tiny key-value protocol
 * ```ts
 * import { type LineHandler, serveLines } from "@aio/aio/server/lines";
 * import { assertEquals } from "@std/assert";
 *
 * const store = new Map<string, string>();
 * const keyValue: LineHandler = (line) => {
 *   const [command, key = "", value = ""] = line.split(" ");
 *   if (command === "SET") {
 *     store.set(key, value);
 *     return "OK";
 *   }
 *   if (command === "GET") return store.get(key) ?? "(nil)";
 *   return `ERR unknown command ${command}`;
 * };
 *
 * await using server = serveLines(keyValue);
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("SET a 1\nGET a\nGET b\nDEL a\n"));
 * await conn.closeWrite();
 * assertEquals(
 *   await new Response(conn.readable).text(),
 *   "OK\n1\n(nil)\nERR unknown command DEL\n",
 * );
 * ```
 */
export type LineHandler = (
  line: string,
  context: LineContext,
) => LineReply | Promise<LineReply>;

/**
 * Options of {@linkcode serveLines}: those of {@linkcode serveTcp}, plus:
 *
 * @example A line longer than `maxLineLength` closes its connection
 * ```ts
 * import { serveLines, type ServeLinesOptions } from "@aio/aio/server/lines";
 * import { LineTooLongError } from "@aio/aio/errors";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const errors: unknown[] = [];
 * const options: ServeLinesOptions = {
 *   maxLineLength: 5,
 *   onError: (error) => errors.push(error),
 * };
 * await using server = serveLines((line) => line, options);
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("short\ntoo long\n"));
 * assertEquals(
 *   await new Response(conn.readable).text(),
 *   "short\nerror: line 2 is longer than 5 characters\n",
 * );
 * assertEquals(errors.length, 1);
 * assertInstanceOf(errors[0], LineTooLongError);
 * ```
 */
export interface ServeLinesOptions extends ServeTcpOptions {
  /**
   * The longest line accepted, in characters (UTF-16 code units), not
   * counting the line break. It is enforced while the bytes arrive: a
   * longer line gets one `error: ...` line back and its connection is
   * closed, with a `LineTooLongError` (from `@aio/aio/errors`) going to
   * `onError`; the server and other connections go on. `Infinity` removes
   * the bound (a peer can then fill the memory with one line).
   *
   * @default {65536}
   */
  maxLineLength?: number | undefined;
  /**
   * Milliseconds a line may take to arrive, from its first byte to its line
   * break, while the server waits for it (the handler's turn with the line
   * before does not count). A slower line gets
   * `error: line N timed out after T ms` back and its connection is closed,
   * with a {@linkcode TimeoutError} going to `onError`, as for a line that is
   * too long. It bounds what `idleTimeout` cannot: a peer that sends a byte
   * now and then is never idle, and the handler sees no line to set a
   * deadline on. One sweep per server checks it, every tenth of the timeout
   * (5 ms to 1 s): the error comes never before the timeout, and at most a
   * sweep later. `Infinity`: no limit.
   *
   * @default {Infinity}
   */
  lineTimeout?: number | undefined;
}

const encoder = new TextEncoder();
const BATCH_BYTES = 16 * 1024;

/**
 * Serves a line protocol: reads UTF-8 lines (`\n` or `\r\n`), passes each to
 * `handler`, and writes back what it returns. A byte order mark is data
 * here: a leading U+FEFF stays in the first line.
 *
 * A connection ends when the peer stops sending (every reply is sent
 * first), when the handler calls `context.close()`, or when the server
 * shuts down: a connection waiting for its next line closes at once (also
 * when part of that line has arrived), one busy with a line closes after its
 * reply (or at `shutdownTimeout`).
 *
 * Bad input closes only its own connection, after one error line:
 * `error: line N is longer than M characters` (see `maxLineLength`),
 * `error: line N is not valid UTF-8` (a `Deno.errors.InvalidData` goes to
 * `onError`, as `readLines()` throws for a file), or
 * `error: line N timed out after T ms` (see `lineTimeout`).
 * Lines before the bad one are all answered. The connection then closes;
 * if the peer is still sending, it is half-closed first and what the peer
 * sends is read and dropped for up to 3 s (until it closes, or is quiet for
 * 0.5 s), so that the peer gets the line rather than a reset.
 *
 * Needs `--allow-net` for the address it listens on (e.g.
 * `--allow-net=127.0.0.1:8080`; port 0 takes `127.0.0.1:0`).
 *
 * @param handler Answers one line; see {@linkcode LineHandler}.
 * @param options Those of {@linkcode serveTcp}, plus `maxLineLength` and
 * `lineTimeout`.
 * @returns The running server.
 * @throws {TypeError} If `handler` is not a function or an option has the
 * wrong type (see {@linkcode serveTcp}).
 * @throws {RangeError} If `maxLineLength` is not a positive integer or
 * `Infinity`, `lineTimeout` is not positive, or a {@linkcode serveTcp}
 * option is out of range.
 *
 * @example An upper-casing server and a client
 * ```ts
 * import { serveLines } from "@aio/aio/server/lines";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveLines((line) => line.toUpperCase());
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("hello\nworld\n"));
 * await conn.closeWrite();
 * assertEquals(await new Response(conn.readable).text(), "HELLO\nWORLD\n");
 * ```
 *
 * @example Several lines per reply, and a command that closes
 * ```ts
 * import { serveLines } from "@aio/aio/server/lines";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveLines((line, context) => {
 *   if (line === "QUIT") {
 *     context.close();
 *     return "bye";
 *   }
 *   return line.split(" ");
 * });
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("a b c\nQUIT\nignored\n"));
 * assertEquals(await new Response(conn.readable).text(), "a\nb\nc\nbye\n");
 * ```
 */
export function serveLines(
  handler: LineHandler,
  options: ServeLinesOptions = {},
): TcpServer {
  checkObject(options, "Cannot serve");
  const {
    maxLineLength = 65536,
    lineTimeout = Infinity,
    onError = logError,
    ...tcpOptions
  } = options;
  assertFunction("handler", handler);
  assertLimit("maxLineLength", maxLineLength, { integer: true });
  assertLimit("lineTimeout", lineTimeout);
  const limits: LineLimits = {
    maxLineLength,
    lineTimeout,
    clock: lineTimeout === Infinity ? undefined : new LineClock(lineTimeout),
    onError,
  };
  return serveTcp(
    (conn, context) => serveConnection(conn, context, handler, limits),
    { ...tcpOptions, onError },
  );
}

/** What `serveLines` holds its connections to. */
interface LineLimits {
  maxLineLength: number;
  lineTimeout: number;
  /** Times the lines in progress; `undefined` without a `lineTimeout`. */
  clock: LineClock | undefined;
  onError: OnTcpError;
}

/** A line in progress that the server waits for, on a {@linkcode LineClock}. */
class LineWatch implements Timed<LineWatch> {
  since = 0;
  prev: LineWatch | undefined;
  next: LineWatch | undefined;
  /** Whether it is on the clock. */
  watched = false;
  /** Set when the line took too long. */
  timedOut = false;

  constructor(readonly onTimeout: () => void) {}
}

/**
 * The lines in progress of one server's connections, timed by one sweep.
 * Its timer runs while lines are on the clock, and stops at the first sweep
 * that finds none or when the server's last connection ends (not at every
 * line: a stream of lines that each end a read would set a timer per line).
 */
class LineClock {
  #sweep: TimeoutSweep<LineWatch>;
  #connections = 0;

  constructor(timeout: number) {
    this.#sweep = new TimeoutSweep(timeout, (watch) => {
      watch.watched = false;
      watch.timedOut = true;
      watch.onTimeout();
    });
  }

  /** Counts a connection in; {@linkcode leave} counts it out. */
  join(): void {
    this.#connections++;
  }

  /** Counts a connection out, taking its line off the clock. */
  leave(watch: LineWatch): void {
    this.stop(watch);
    if (--this.#connections === 0) this.#sweep[Symbol.dispose]();
  }

  /** Starts (or starts again) the time of `watch`'s line. */
  start(watch: LineWatch): void {
    if (watch.watched) this.#sweep.delete(watch);
    watch.watched = true;
    this.#sweep.add(watch);
  }

  /** Takes `watch` off the clock. */
  stop(watch: LineWatch): void {
    if (!watch.watched) return;
    watch.watched = false;
    this.#sweep.delete(watch);
  }
}

class LineConnection implements LineContext {
  lineNumber = 0;
  closing = false;
  #tcp: TcpContext;

  constructor(tcp: TcpContext) {
    this.#tcp = tcp;
  }

  get signal(): AbortSignal {
    return this.#tcp.signal;
  }

  get draining(): AbortSignal {
    return this.#tcp.draining;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#tcp.remoteAddr;
  }

  get localAddr(): Deno.NetAddr {
    return this.#tcp.localAddr;
  }

  close(): void {
    this.closing = true;
  }
}

async function serveConnection(
  conn: Deno.TcpConn,
  tcp: TcpContext,
  handler: LineHandler,
  { maxLineLength, lineTimeout, clock, onError }: LineLimits,
): Promise<void> {
  const { draining } = tcp;
  if (draining.aborted) return;
  const from = `from ${formatAddr(tcp.remoteAddr)}`;
  let waiting = false;
  // The time of a line counts from its first byte while the server waits
  // for it (again from the wait's start after the handler's turn).
  const watch = new LineWatch(() => reader.cancel().catch(() => {}));
  const decoder = new LineDecoder(
    maxLineLength,
    from,
    clock &&
      ((begun) => {
        if (!begun) clock.stop(watch);
        else if (waiting) clock.start(watch);
      }),
  );
  const reader = conn.readable
    .pipeThrough(decoder)
    .pipeThrough(new TextLineStream())
    .getReader();
  const context = new LineConnection(tcp);
  clock?.join();
  // Shutdown closes a connection that waits for its next line at once.
  const onDraining = () => {
    if (waiting) reader.cancel().catch(() => {});
  };
  draining.addEventListener("abort", onDraining, { once: true });
  try {
    while (true) {
      waiting = true;
      if (decoder.pending) clock?.start(watch);
      const { done, value } = await reader.read();
      waiting = false;
      clock?.stop(watch);
      if (done) break;
      context.lineNumber++;
      await writeReply(conn, await handler(value, context), context);
      // Bad input after this line is never read, so it is not reported.
      if (context.closing || draining.aborted) return;
    }
  } catch (error) {
    if (isServedPeerReset(error)) return;
    throw error;
  } finally {
    draining.removeEventListener("abort", onDraining);
    clock?.leave(watch);
    reader.cancel().catch(() => {});
  }
  const line = decoder.lines + 1;
  let error: Error;
  let why: string;
  if (decoder.error instanceof Deno.errors.InvalidData) {
    [error, why] = [decoder.error, "is not valid UTF-8"];
  } else if (decoder.error) {
    [error, why] = [
      decoder.error,
      `is longer than ${maxLineLength} characters`,
    ];
  } else if (watch.timedOut && !draining.aborted) {
    error = new TimeoutError(
      `Cannot read line ${line} ${from}: not complete after ${lineTimeout} ms`,
      { timeout: lineTimeout },
    );
    why = `timed out after ${lineTimeout} ms`;
  } else {
    return;
  }
  await writeAll(conn, encoder.encode(`error: line ${line} ${why}\n`));
  report(onError, error, conn);
  await linger(conn, draining);
}

/**
 * How long a connection closed for a bad line waits to see whether its peer
 * is still sending; one that is not is closed then.
 */
const LINGER_PROBE_MS = 100;
/** The longest a connection whose peer is still sending lingers. */
const LINGER_MS = 3_000;
/** How long it lingers without receiving anything. */
const LINGER_QUIET_MS = 500;

/**
 * After an error line: if the peer is still sending (its input arrives
 * within {@linkcode LINGER_PROBE_MS}), half-closes `conn` (the peer reads
 * the line, then the end) and reads and drops what the peer sends until it
 * closes its side, stops sending for {@linkcode LINGER_QUIET_MS},
 * {@linkcode LINGER_MS} pass, or the server shuts down. Closing with input
 * unread would reset the connection, and a peer still sending the rest of a
 * long line (a client that writes all its input before reading) would get
 * the reset instead of the line. A peer that sent nothing more is closed
 * then, so it sees the end only once the connection is gone.
 */
async function linger(conn: Deno.Conn, draining: AbortSignal): Promise<void> {
  const buffer = new Uint8Array(65_536);
  const end = performance.now() + LINGER_MS;
  let stop!: () => void;
  const stopped = new Promise<null>((resolve) => stop = () => resolve(null));
  draining.addEventListener("abort", stop, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let quiet = LINGER_PROBE_MS;
  try {
    while (!draining.aborted) {
      const wait = Math.min(quiet, end - performance.now());
      if (wait <= 0) return;
      const reading = conn.read(buffer);
      // Still pending when the wait ends: closing the connection settles it.
      reading.catch(() => {});
      timer = setTimeout(stop, wait);
      if (await Promise.race([reading, stopped]) === null) return;
      clearTimeout(timer);
      if (quiet === LINGER_PROBE_MS) {
        await conn.closeWrite();
        quiet = LINGER_QUIET_MS;
      }
    }
  } catch {
    // Reset by the peer, or stopped by the server (idle sweep): done.
  } finally {
    clearTimeout(timer);
    draining.removeEventListener("abort", stop);
  }
}

async function writeReply(
  conn: Deno.Conn,
  reply: LineReply,
  context: LineContext,
): Promise<void> {
  if (reply === undefined || (reply as unknown) === null) return;
  if (typeof reply === "string") {
    await writeAll(conn, encoder.encode(reply + "\n"));
  } else if (typeof reply === "object" && reply !== null) {
    if (Symbol.asyncIterator in reply) {
      for await (const line of reply) {
        if (typeof line !== "string") throw badItem(line, context);
        await writeAll(conn, encoder.encode(line + "\n"));
      }
    } else if (Symbol.iterator in reply) {
      // Batched, so that an array of short lines is not one write each;
      // the lines before an item that fails are sent, as they come.
      let batch = "";
      try {
        for (const line of reply) {
          if (typeof line !== "string") throw badItem(line, context);
          batch += line + "\n";
          if (batch.length >= BATCH_BYTES) {
            await writeAll(conn, encoder.encode(batch));
            batch = "";
          }
        }
      } finally {
        if (batch) await writeAll(conn, encoder.encode(batch));
      }
    } else {
      throw badReply(reply, context);
    }
  } else {
    throw badReply(reply, context);
  }
}

function badReply(reply: unknown, context: LineContext): TypeError {
  return new TypeError(
    `Cannot reply to line ${context.lineNumber} from ${
      formatAddr(context.remoteAddr)
    }: the handler returned ${
      show(reply)
    }, expected a string, nothing, or an iterable of strings`,
  );
}

function badItem(item: unknown, context: LineContext): TypeError {
  return new TypeError(
    `Cannot reply to line ${context.lineNumber} from ${
      formatAddr(context.remoteAddr)
    }: the handler returned an iterable holding ${
      show(item)
    }, expected an iterable of strings`,
  );
}
