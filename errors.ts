/**
 * Errors shared by every area of `@aio/aio`.
 *
 * Every error the library throws on purpose extends {@linkcode AioError}, so
 * one `instanceof` check tells "the library refused or gave up" apart from a
 * programming error. Bad arguments are plain `TypeError`s and `RangeError`s.
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
 * Base class of every error `@aio/aio` throws on purpose.
 *
 * @example Catching every library error at once
 * ```ts
 * import { AioError } from "@aio/aio/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new AioError("Cannot serve: the server is shut down");
 * assertEquals(error.name, "AioError");
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

/** Options of {@linkcode TimeoutError}. */
export interface TimeoutErrorOptions extends ErrorOptions {
  /** The limit that was exceeded, in milliseconds. */
  timeout: number;
  /**
   * The URL of the request that timed out, when there was one.
   *
   * @default {undefined}
   */
  url?: string;
  /**
   * The HTTP method of the request that timed out, when there was one.
   *
   * @default {undefined}
   */
  method?: string;
}

/**
 * An operation took longer than the time it was given.
 *
 * Thrown by the client when a request's `timeout` fires, and by the
 * concurrency helpers when their `timeout` runs out.
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

/** Options of {@linkcode LineTooLongError}. */
export interface LineTooLongErrorOptions extends ErrorOptions {
  /** The limit that was exceeded, in characters. */
  maxLineLength: number;
  /**
   * The 1-based number of the offending line, when known.
   *
   * @default {undefined}
   */
  lineNumber?: number;
  /**
   * The file the line was read from, when it came from a file.
   *
   * @default {undefined}
   */
  path?: string;
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
