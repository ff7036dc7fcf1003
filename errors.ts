/**
 * Errors shared by every area of `@aio/aio`.
 *
 * When a request, a connection or a limit makes the library give up, the
 * error extends {@linkcode AioError} (a timeout, an HTTP error status, a
 * failed network call, a line over its limit, a pagination cycle, a
 * connection closed under a server's handler), so one `instanceof` check
 * tells "the library gave up" apart from a bug. The rest keep the classes
 * JavaScript and Deno use: bad arguments are `TypeError`s and `RangeError`s,
 * a call at the wrong moment (spawning into a closed task group) a plain
 * `Error`, a file-system failure Deno's own class (`Deno.errors.NotFound`),
 * and invalid data what a parser throws for it (`SyntaxError` for a bad JSON
 * line, `Deno.errors.InvalidData` for invalid UTF-8).
 *
 * @example Telling errors apart
 * ```ts
 * import { AioError, TimeoutError } from "@aio/aio/errors";
 * import { assert } from "@std/assert";
 *
 * const error = new TimeoutError("Cannot fetch \"http://127.0.0.1/\": no response after 10 ms", {
 *   timeout: 10,
 * });
 * assert(error instanceof AioError);
 * ```
 *
 * @module
 */

/**
 * Base class of the errors `@aio/aio` throws when it gives up on a request,
 * a connection or a limit (see the module's documentation for the rest).
 *
 * @example The library's own error classes are AioErrors
 * ```ts
 * import { AioError, LineTooLongError, TimeoutError } from "@aio/aio/errors";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const errors = [
 *   new AioError("Cannot serve: the server is shut down"),
 *   new TimeoutError("Cannot finish: 10 ms have passed", { timeout: 10 }),
 *   new LineTooLongError("Cannot read line 3: longer than 8 bytes", {
 *     lineNumber: 3,
 *     maxLineLength: 8,
 *   }),
 * ];
 * assert(errors.every((error) => error instanceof AioError));
 * assertEquals(errors.map((error) => error.name), [
 *   "AioError",
 *   "TimeoutError",
 *   "LineTooLongError",
 * ]);
 * ```
 *
 * @example Telling a failed call from a bug in the caller
 * ```ts
 * import { AioError } from "@aio/aio/errors";
 * import { Client } from "@aio/aio/client";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using client = new Client({
 *   fetch: () => Promise.resolve(new Response("gone", { status: 410 })),
 * });
 * async function outcome(call: () => Promise<unknown>): Promise<string> {
 *   try {
 *     await call();
 *     return "done";
 *   } catch (error) {
 *     if (error instanceof AioError) return `gave up: ${error.name}`;
 *     throw error;
 *   }
 * }
 * assertEquals(await outcome(() => client.text("http://api.test/old")), "gave up: HttpError");
 * // A relative URL without a baseUrl is a TypeError, not a library failure.
 * await assertRejects(() => outcome(() => client.text("old")), TypeError);
 * ```
 */
export class AioError extends Error {
  /**
   * Creates an error.
   *
   * @param message What failed, as "Cannot <action>: <current state>".
   * @param options `cause`: the underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Options of {@linkcode TimeoutError}.
 *
 * @example A timeout that is not a request's
 * ```ts
 * import { TimeoutError, type TimeoutErrorOptions } from "@aio/aio/errors";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const options: TimeoutErrorOptions = {
 *   timeout: 50,
 *   cause: new DOMException("The operation timed out.", "TimeoutError"),
 * };
 * const error = new TimeoutError("Cannot read the queue: nothing arrived within 50 ms", options);
 * assertEquals(error.timeout, 50);
 * assertEquals(error.url, undefined);
 * assertEquals(error.method, undefined);
 * assertInstanceOf(error.cause, DOMException);
 * ```
 */
export interface TimeoutErrorOptions extends ErrorOptions {
  /** The limit that was exceeded, in milliseconds. */
  timeout: number;
  /**
   * The URL of the request that timed out, when there was one.
   *
   * @default {undefined}
   */
  url?: string | undefined;
  /**
   * The HTTP method of the request that timed out, when there was one.
   *
   * @default {undefined}
   */
  method?: string | undefined;
}

/**
 * An operation took longer than the time it was given.
 *
 * Thrown by the client when a request's `timeout` or `totalTimeout` fires;
 * the reason a server handler's signal aborts with when its request or
 * connection times out. (`wait()`'s `timeout` does not throw: it returns the
 * pending tasks.)
 *
 * @example Reading the limit and the URL
 * ```ts
 * import { TimeoutError } from "@aio/aio/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new TimeoutError(
 *   "Cannot fetch \"http://127.0.0.1:8888/\": no response after 500 ms",
 *   { timeout: 500, url: "http://127.0.0.1:8888/", method: "GET" },
 * );
 * assertEquals(error.name, "TimeoutError");
 * assertEquals(error.timeout, 500);
 * assertEquals(error.url, "http://127.0.0.1:8888/");
 * ```
 *
 * @example A server that does not answer in time
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { TimeoutError } from "@aio/aio/errors";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const { promise: released, resolve: release } = Promise.withResolvers<void>();
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   async () => {
 *     await released;
 *     return new Response("too late");
 *   },
 * );
 * const url = `http://127.0.0.1:${server.addr.port}/slow`;
 * try {
 *   const error = await fetchText(url, { timeout: 50 }).catch((error) => error);
 *   assertInstanceOf(error, TimeoutError);
 *   assertEquals([error.timeout, error.url, error.method], [50, url, "GET"]);
 * } finally {
 *   release();
 * }
 * ```
 */
export class TimeoutError extends AioError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeout: number;
  /** The URL of the request that timed out, if any. */
  readonly url: string | undefined;
  /** The HTTP method of the request that timed out, if any. */
  readonly method: string | undefined;

  /**
   * Creates a timeout error.
   *
   * @param message What timed out and after how long.
   * @param options The limit, and the request's URL and method if any.
   */
  constructor(message: string, options: TimeoutErrorOptions) {
    super(message, options);
    this.timeout = options.timeout;
    this.url = options.url;
    this.method = options.method;
  }
}

/**
 * Options of {@linkcode LineTooLongError}.
 *
 * @example A reader of short lines that fails like the library's
 * ```ts
 * import { LineTooLongError, type LineTooLongErrorOptions } from "@aio/aio/errors";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * function shortLines(text: string, maxLineLength: number): string[] {
 *   const lines = text.split("\n");
 *   lines.forEach((line, i) => {
 *     if (line.length > maxLineLength) {
 *       const options: LineTooLongErrorOptions = { maxLineLength, lineNumber: i + 1 };
 *       throw new LineTooLongError(`Cannot read line ${i + 1}: longer than ${maxLineLength} characters`, options);
 *     }
 *   });
 *   return lines;
 * }
 * assertEquals(shortLines("a\nbb", 2), ["a", "bb"]);
 * const error = assertThrows(() => shortLines("a\nbbb", 2), LineTooLongError);
 * assertEquals([error.lineNumber, error.maxLineLength, error.path], [2, 2, undefined]);
 * ```
 */
export interface LineTooLongErrorOptions extends ErrorOptions {
  /** The limit that was exceeded, in characters. */
  maxLineLength: number;
  /**
   * The 1-based number of the offending line, when known.
   *
   * @default {undefined}
   */
  lineNumber?: number | undefined;
  /**
   * The file the line was read from, when it came from a file.
   *
   * @default {undefined}
   */
  path?: string | undefined;
}

/**
 * A line was longer than the limit set for it.
 *
 * Thrown by the line readers of the server and file areas while the bytes
 * arrive, before the whole line is buffered.
 *
 * @example Reading where the long line was
 * ```ts
 * import { LineTooLongError } from "@aio/aio/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new LineTooLongError(
 *   "Cannot read line 3 of \"data.txt\": longer than 1024 characters",
 *   { maxLineLength: 1024, lineNumber: 3, path: "data.txt" },
 * );
 * assertEquals(error.lineNumber, 3);
 * assertEquals(error.maxLineLength, 1024);
 * ```
 */
export class LineTooLongError extends AioError {
  /** The limit that was exceeded, in characters. */
  readonly maxLineLength: number;
  /** The 1-based number of the offending line, if known. */
  readonly lineNumber: number | undefined;
  /** The file the line came from, if any. */
  readonly path: string | undefined;

  /**
   * Creates a line-too-long error.
   *
   * @param message Which line, where, and the limit.
   * @param options The limit, and the line number and path if known.
   */
  constructor(message: string, options: LineTooLongErrorOptions) {
    super(message, options);
    this.maxLineLength = options.maxLineLength;
    this.lineNumber = options.lineNumber;
    this.path = options.path;
  }
}
