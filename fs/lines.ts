/**
 * Reading and writing text files line by line, streamed, with a bound on
 * the length of a line.
 *
 * @module
 */

import { abortable } from "jsr:@std/async@^1.5.0/abortable";
import { TextLineStream } from "jsr:@std/streams@^1.1.2/text-line-stream";
import { badNumber, checkObject, checkSignal, show } from "../_show.ts";
import { type Fail, fsCall, fsError, writeFailure } from "./_errors.ts";
import { type LineCount, lineSource } from "./_line_source.ts";
import { toPath, WINDOWS } from "../_file_path.ts";
import { dirname } from "./_path.ts";
import { byKind, checkLinesOptions, discardData, writeData } from "./_write.ts";
import { writeFileAtomic } from "./atomic.ts";

const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/**
 * Options of {@linkcode readLines}.
 *
 * @example Bounding the line length and stopping on abort
 * ```ts
 * import { readLines, type ReadLinesOptions } from "@aio/aio/fs/lines";
 * import { LineTooLongError, makeTempDir } from "@aio/aio/fs";
 * import {
 *   assertEquals,
 *   assertRejects,
 *   assertStrictEquals,
 * } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/input.txt`;
 * await Deno.writeTextFile(path, "ok\n" + "x".repeat(20) + "\n");
 *
 * const bounded: ReadLinesOptions = { maxLineLength: 10 };
 * const error = await assertRejects(
 *   () => Array.fromAsync(readLines(path, bounded)),
 *   LineTooLongError,
 * );
 * assertEquals([error.lineNumber, error.maxLineLength], [2, 10]);
 *
 * const controller = new AbortController();
 * const lines = readLines(path, { signal: controller.signal });
 * assertEquals(await lines.next(), { done: false, value: "ok" });
 * const reason = new Error("shutting down");
 * controller.abort(reason);
 * assertStrictEquals(await assertRejects(() => lines.next()), reason);
 * ```
 */
export interface ReadLinesOptions {
  /**
   * The longest line accepted, in characters (UTF-16 code units) without
   * the line break. A longer line ends the iteration with a
   * `LineTooLongError` (after every line before it was yielded) as soon as
   * the bytes read of it are over the limit, without reading the rest of it
   * (bytes that are not UTF-8 are found then too, at the latest once there
   * are 3 per allowed character). `Infinity` removes the bound.
   *
   * @default {1048576}
   */
  maxLineLength?: number | undefined;
  /**
   * Aborts the reading: the file is closed and the iteration rejects with
   * `signal.reason`. An open that stalls (a FIFO without a writer) is not
   * waited for: the iteration rejects at once and the file is closed as soon
   * as its open completes.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

/**
 * The lines of a file, read lazily: an async iterable that is also
 * disposable, so `await using` closes the file of an iteration left early.
 *
 * @example Reading only the start of a file
 * ```ts
 * import { type LineIterator, readLines } from "@aio/aio/fs/lines";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/people.csv`;
 * await Deno.writeTextFile(path, "name,age\nada,36\ngrace,85\n");
 *
 * // `await using` closes the file although only one line is read.
 * async function header(path: string): Promise<string | undefined> {
 *   await using lines: LineIterator = readLines(path);
 *   return (await lines.next()).value;
 * }
 * assertEquals(await header(path), "name,age");
 *
 * // `next()` by hand, then a loop over the rest; `break` closes the file.
 * const lines: LineIterator = readLines(path);
 * await lines.next();
 * const rows: string[] = [];
 * for await (const row of lines) {
 *   rows.push(row);
 *   break;
 * }
 * assertEquals(rows, ["ada,36"]);
 * assertEquals(await lines.next(), { done: true, value: undefined });
 * ```
 */
export type LineIterator = AsyncIterableIterator<string> & AsyncDisposable;

/**
 * Reads a UTF-8 text file line by line, streamed: the file is read in
 * chunks, split with `TextLineStream` from `@std/streams`, and never held in
 * memory as a whole. Lines end with `\n` or `\r\n`; the line breaks are not
 * part of the lines, a line break at the end of the file does not start an
 * empty line, and a byte order mark at the start is dropped.
 *
 * The file is opened on the first `next()` and closed when the iteration
 * ends, throws, or is left early (`break` in a `for await` loop calls
 * `return()`). As with an async generator, an error is thrown once: to the
 * first of the pending `next()` calls, and the iterator is done after it.
 * Unlike one, `return()` does not wait for a pending `next()`: it closes the
 * file at once, and that `next()` resolves with `done: true` (so a read that
 * stalls, as from a FIFO without a writer, cannot hold the loop open).
 *
 * Needs `--allow-read` for the file.
 *
 * @param path The file to read, as a path or a `file:` URL.
 * @param options `maxLineLength` and `signal`.
 * @returns An async iterator of the lines.
 * @throws {TypeError} When `path`, `options` or an option is invalid (thrown
 * by `readLines` itself, not by the iteration).
 * @throws {RangeError} When `maxLineLength` is a number other than a
 * positive integer or `Infinity`.
 * @throws {LineTooLongError} From the iteration, at a line longer than
 * `maxLineLength`; it names the file and the line number.
 * @throws {Deno.errors.InvalidData} From the iteration, at a line that is
 * not valid UTF-8; the message names the file and the line number.
 * @throws {Deno.errors.NotFound} From the iteration, when the file does not
 * exist. Every file-system error keeps Deno's class (also
 * `PermissionDenied`, `IsADirectory`), names the file, and has Deno's error
 * as its `cause`.
 * @throws {unknown} `signal.reason` from the iteration, when the signal
 * aborts.
 *
 * @example Counting the lines of a file
 * ```ts
 * import { readLines } from "@aio/aio/fs/lines";
 * import { assertEquals } from "@std/assert";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "alpha\r\nbeta\n\ngamma");
 * const lines = [];
 * for await (const line of readLines(path)) lines.push(line);
 * assertEquals(lines, ["alpha", "beta", "", "gamma"]);
 * await Deno.remove(path);
 * ```
 *
 * @example Refusing a line that is too long
 * ```ts
 * import { readLines } from "@aio/aio/fs/lines";
 * import { LineTooLongError } from "@aio/aio/errors";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "short\n" + "x".repeat(100) + "\n");
 * const seen: string[] = [];
 * const error = await assertRejects(async () => {
 *   for await (const line of readLines(path, { maxLineLength: 80 })) {
 *     seen.push(line);
 *   }
 * }, LineTooLongError);
 * assertEquals(seen, ["short"]);
 * assertEquals(error.lineNumber, 2);
 * await Deno.remove(path);
 * ```
 */
export function readLines(
  path: string | URL,
  options: ReadLinesOptions = {},
): LineIterator {
  const file = toPath(path, "read lines");
  const context = `Cannot read lines from "${file}"`;
  checkObject(options, context);
  const { maxLineLength = DEFAULT_MAX_LINE_LENGTH, signal } = options;
  if (
    typeof maxLineLength !== "number" ||
    !(Number.isInteger(maxLineLength) || maxLineLength === Infinity) ||
    maxLineLength < 1
  ) {
    throw badNumber(
      context,
      "maxLineLength",
      "a positive integer or Infinity",
      maxLineLength,
    );
  }
  checkSignal(signal, context);
  return new Lines(file, maxLineLength, signal);
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class Lines implements AsyncIterableIterator<string>, AsyncDisposable {
  #path: string;
  #maxLineLength: number;
  #signal: AbortSignal | undefined;
  #count: LineCount = { lines: 0, error: undefined };
  #reader: ReadableStreamDefaultReader<string> | undefined;
  #opening: Promise<ReadableStreamDefaultReader<string>> | undefined;
  #piping: Promise<void> | undefined;
  #served = 0;
  #closing: Promise<void> | undefined;
  /** Read to the end, closed by `return()`, or failed. */
  #ended = false;
  #onAbort = () => this.#close(this.#signal?.reason);

  constructor(path: string, maxLineLength: number, signal?: AbortSignal) {
    this.#path = path;
    this.#maxLineLength = maxLineLength;
    this.#signal = signal;
  }

  next(): Promise<IteratorResult<string>> {
    // The hot path: a line the source has counted is on its way to the
    // reader (counted as it leaves the source), so this read yields it and
    // cannot meet the end or an error that was recorded after it. Only a
    // cancel can end it first: an abort, which #next() turns into the
    // reason, so a reader with a signal takes #next() for every line (a
    // line read done by an abort would look like the end of the file).
    if (
      this.#reader !== undefined && this.#served < this.#count.lines &&
      !this.#ended && this.#signal === undefined
    ) {
      this.#served++;
      return this.#reader.read() as Promise<IteratorResult<string>>;
    }
    return this.#next();
  }

  async #next(): Promise<IteratorResult<string>> {
    try {
      // An iterator that ended stays done, whatever aborts later.
      if (this.#ended) return DONE;
      this.#signal?.throwIfAborted();
      if (this.#closing) return DONE;
      const reader = this.#reader ?? await this.#opened();
      this.#served++;
      const result = await reader.read();
      this.#signal?.throwIfAborted();
      if (!result.done) return result;
      if (this.#count.error) throw this.#count.error;
      this.#ended = true;
      await this.#close();
      return DONE;
    } catch (error) {
      // An error is thrown once, to the first of the pending calls; the
      // others, and later ones, are done, as with an async generator.
      if (this.#ended) return DONE;
      this.#ended = true;
      await this.#close(error);
      throw error;
    }
  }

  /**
   * The reader, once the file is open. An open can stall (a FIFO without a
   * writer, a hung mount) and cannot be cancelled: an abort does not wait
   * for it, and the file is closed when it opens (see `#open()`).
   */
  #opened(): Promise<ReadableStreamDefaultReader<string>> {
    this.#opening ??= this.#open();
    return this.#signal
      ? abortable(this.#opening, this.#signal)
      : this.#opening;
  }

  async #open(): Promise<ReadableStreamDefaultReader<string>> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#path, { read: true });
    } catch (error) {
      throw fsError(error, "read lines from", this.#path);
    }
    const source = lineSource(
      file,
      this.#path,
      this.#maxLineLength,
      this.#count,
    );
    const lines = new TextLineStream();
    // pipeTo (not pipeThrough) so that closing can wait until the source is
    // cancelled and the file closed.
    this.#piping = source.pipeTo(lines.writable).catch(() => {});
    this.#reader = lines.readable.getReader();
    if (this.#closing) {
      // Closed while opening: by an abort that did not wait (cancelled here),
      // or by `return()`, which waits and cancels it too.
      this.#reader.cancel(this.#signal?.reason).catch(() => {});
    } else {
      this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
    return this.#reader;
  }

  #close(reason?: unknown): Promise<void> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      const opening = this.#opening && this.#reader === undefined
        ? this.#opened().catch(() => undefined)
        : undefined;
      const reader = this.#reader ?? await opening;
      await reader?.cancel(reason).catch(() => {});
      await this.#piping;
    })();
    return this.#closing;
  }

  /** Stops reading and closes the file. */
  async return(): Promise<IteratorResult<string>> {
    this.#ended = true;
    await this.#close();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Closes the file, like `return()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#close();
  }
}

/**
 * Options of {@linkcode writeLines}.
 *
 * @example Writing in place, with set permissions
 * ```ts
 * import { writeLines, type WriteLinesOptions } from "@aio/aio/fs/lines";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/hosts.txt`;
 * await writeLines(path, ["10.0.0.1 db"]);
 * await Deno.link(path, `${dir.path}/hosts.link`);
 *
 * // The same file is rewritten, so a hard link to it sees the new lines.
 * const options: WriteLinesOptions = {
 *   atomic: false,
 *   mode: 0o600,
 *   fsync: false,
 * };
 * await writeLines(path, ["10.0.0.2 db"], options);
 * assertEquals(
 *   await Deno.readTextFile(`${dir.path}/hosts.link`),
 *   "10.0.0.2 db\n",
 * );
 * assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
 * ```
 *
 * @example An aborted write leaves the old file
 * ```ts
 * import { writeLines, type WriteLinesOptions } from "@aio/aio/fs/lines";
 * import { makeTempDir } from "@aio/aio/fs";
 * import {
 *   assertEquals,
 *   assertRejects,
 *   assertStrictEquals,
 * } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/hosts.txt`;
 * await writeLines(path, ["10.0.0.1 db"]);
 *
 * const reason = new Error("shutting down");
 * const options: WriteLinesOptions = { signal: AbortSignal.abort(reason) };
 * const error = await assertRejects(() =>
 *   writeLines(path, ["10.0.0.2 db"], options)
 * );
 * assertStrictEquals(error, reason);
 * assertEquals(await Deno.readTextFile(path), "10.0.0.1 db\n");
 * ```
 */
export interface WriteLinesOptions {
  /**
   * Write through {@linkcode writeFileAtomic}: a temporary file renamed over
   * the target, so the old file stays until the new one is complete. With
   * `false` the file is truncated and written in place (after `mode` is
   * set), or a FIFO or a device written into (`fsync` then does nothing).
   *
   * @default {true}
   */
  atomic?: boolean | undefined;
  /**
   * Permission bits of the file, set exactly. When not given, an existing
   * file keeps its permissions and a new one gets `0o666` minus the umask.
   *
   * @default {undefined}
   */
  mode?: number | undefined;
  /**
   * Flush the file (and, when atomic, its directory) to the disk before
   * returning.
   *
   * @default {true}
   */
  fsync?: boolean | undefined;
  /**
   * Aborts the write; an atomic write then leaves the old file untouched.
   * In place, an open that stalls (a FIFO without a reader) is not waited
   * for: the write rejects at once and the file is closed once it opens.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

const BATCH_CHARS = 64 * 1024;

/** Joins lines into chunks of about {@linkcode BATCH_CHARS} characters. */
class Batcher {
  #context: string;
  #lines: string[] = [];
  #chars = 0;
  #index = 0;

  constructor(context: string) {
    this.#context = context;
  }

  /** Adds a line; returns a chunk when enough lines have gathered. */
  add(line: unknown): string | undefined {
    if (typeof line !== "string") {
      throw new TypeError(
        `${this.#context}: line ${this.#index + 1} must be a string, received ${
          show(line)
        }`,
      );
    }
    // Either would read back as a different number of lines.
    if (line.includes("\n") || line.endsWith("\r")) {
      throw new TypeError(
        `${this.#context}: line ${this.#index + 1} contains a line break`,
      );
    }
    this.#index++;
    this.#lines.push(line);
    this.#chars += line.length + 1;
    return this.#chars >= BATCH_CHARS ? this.end() : undefined;
  }

  /** The lines not returned yet, as a chunk, if there are any. */
  end(): string | undefined {
    if (this.#lines.length === 0) return undefined;
    this.#lines.push("");
    const chunk = this.#lines.join("\n");
    this.#lines = [];
    this.#chars = 0;
    return chunk;
  }
}

function* batches(
  lines: Iterable<unknown>,
  context: string,
): Generator<string> {
  const batcher = new Batcher(context);
  for (const line of lines) {
    const chunk = batcher.add(line);
    if (chunk !== undefined) yield chunk;
  }
  const rest = batcher.end();
  if (rest !== undefined) yield rest;
}

async function* batchesAsync(
  lines: AsyncIterable<unknown>,
  context: string,
): AsyncGenerator<string> {
  const batcher = new Batcher(context);
  for await (const line of lines) {
    const chunk = batcher.add(line);
    if (chunk !== undefined) yield chunk;
  }
  const rest = batcher.end();
  if (rest !== undefined) yield rest;
}

/**
 * Writes lines to a file, each followed by `\n`, streamed: the lines are
 * joined into chunks of about 64 KiB, so neither the whole text nor one
 * write per line is needed. By default the write is atomic (see
 * {@linkcode writeFileAtomic}). Lines that cannot be written (a missing
 * directory, a bad option) are released: a stream is cancelled, an iterator
 * closed, so that e.g. the lines of a response body do not keep its
 * connection open.
 *
 * A first line that starts with U+FEFF writes a byte order mark (which some
 * programs want in a CSV file); {@linkcode readLines} drops it, so that line
 * reads back without it.
 *
 * Needs `--allow-write` and `--allow-read` for the file's directory; with
 * `atomic: false`, only `--allow-write` for the file.
 *
 * @param path The file to write, as a path or a `file:` URL.
 * @param lines The lines, without line breaks, from an iterable or an async
 * iterable.
 * @param options `atomic`, `mode`, `fsync` and `signal`.
 * @returns A promise that resolves once every line is written.
 * @throws {TypeError} When a line is not a string or contains a line break
 * (the file is then left as it was when `atomic`), or `options` or an
 * option is invalid.
 * @throws {RangeError} When `mode` is a number but not an integer from 0 to
 * 0o7777.
 * @throws {Deno.errors.NotFound} When the directory does not exist; every
 * error of the file system keeps Deno's class, names the path, and has
 * Deno's error as its `cause`.
 * @throws {Deno.errors.NotSupported} When `atomic` and `path` is a FIFO, a
 * device or a socket, which the rename would remove.
 * @throws {unknown} `signal.reason` itself when the signal aborts, or what
 * the iterable throws, unchanged.
 *
 * @example Writing and reading back
 * ```ts
 * import { readLines, writeLines } from "@aio/aio/fs/lines";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * await writeLines(`${dir}/names.txt`, ["ada", "grace", "linus"]);
 * assertEquals(await Deno.readTextFile(`${dir}/names.txt`), "ada\ngrace\nlinus\n");
 * assertEquals(await Array.fromAsync(readLines(`${dir}/names.txt`)), [
 *   "ada",
 *   "grace",
 *   "linus",
 * ]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeLines(
  path: string | URL,
  lines: Iterable<string> | AsyncIterable<string>,
  options: WriteLinesOptions = {},
): Promise<void> {
  try {
    const file = toPath(path, "write lines");
    const context = `Cannot write lines to "${file}"`;
    const { atomic, mode, fsync, signal } = checkLinesOptions(
      options,
      context,
    );
    const chunks = byKind(
      lines,
      "lines",
      context,
      (items) => batches(items, context),
      (items) => batchesAsync(items, context),
    );
    if (atomic) {
      return await writeFileAtomic(file, chunks, { mode, fsync, signal });
    }
    await writeInPlace(file, chunks, context, { mode, fsync, signal });
  } catch (error) {
    // Lines that were never read, e.g. those of a response body, are
    // released, as writeFileAtomic releases its data.
    await discardData(lines, error);
    throw error;
  }
}

async function writeInPlace(
  path: string,
  chunks: Iterable<string> | AsyncIterable<string>,
  context: string,
  { mode, fsync, signal }: {
    mode: number | undefined;
    fsync: boolean;
    signal: AbortSignal | undefined;
  },
): Promise<void> {
  const fail = writeFailure("write lines to", path, dirname(path));
  signal?.throwIfAborted();
  // Not truncated yet: a `mode` that cannot be set leaves the file as it
  // was.
  const opening = fsCall(
    Deno.open(
      path,
      mode === undefined
        ? { write: true, create: true }
        : { write: true, create: true, mode },
    ),
    fail,
  );
  let opened: Deno.FsFile;
  try {
    opened = signal ? await abortable(opening, signal) : await opening;
  } catch (error) {
    // An open that stalls (a FIFO without a reader) cannot be cancelled: the
    // abort does not wait for it, and the file is closed once it opens.
    if (error === signal?.reason) {
      opening.then((file) => file.close(), () => {});
    }
    throw error;
  }
  using file = opened;
  if (mode !== undefined && !WINDOWS) {
    await fsCall(Deno.chmod(path, mode), fail);
  }
  await unlessSpecial(file.truncate(), fail);
  await writeData(file, chunks, { context, signal, fail });
  // Writing clears the setuid and setgid bits (for a writer without
  // CAP_FSETID): set once more.
  if (
    mode !== undefined && (mode & 0o6000) !== 0 && !WINDOWS
  ) {
    await fsCall(Deno.chmod(path, mode), fail);
  }
  if (fsync) await unlessSpecial(file.syncData(), fail);
}

/**
 * Awaits a truncate or a flush, which a FIFO or a device (a pipe,
 * `/dev/null`) refuses with EINVAL: it has no length, nor data to flush.
 * (Telling the kind of file first would need `--allow-read`.)
 */
async function unlessSpecial(call: Promise<void>, fail: Fail): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as { code?: unknown }).code !== "EINVAL") throw fail(error);
  }
}
