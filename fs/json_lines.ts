/**
 * JSON Lines files (one JSON value per line, https://jsonlines.org), read
 * and written as streams.
 *
 * @module
 */

import { checkObject, escapeInvisible, excerpt, show } from "../_show.ts";
import { toPath } from "../_file_path.ts";
import { byKind, checkLinesOptions, discardData } from "./_write.ts";
import {
  type LineIterator,
  readLines,
  type ReadLinesOptions,
  writeLines,
  type WriteLinesOptions,
} from "./lines.ts";

/**
 * Options of {@linkcode readJsonLines}: those of `readLines`.
 *
 * @example Bounding the size of a record
 * ```ts
 * import {
 *   readJsonLines,
 *   type ReadJsonLinesOptions,
 * } from "@aio/aio/fs/json-lines";
 * import { LineTooLongError, makeTempDir } from "@aio/aio/fs";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/events.jsonl`;
 * const blob = "x".repeat(100);
 * await Deno.writeTextFile(path, `{"id":1}\n{"id":2,"blob":"${blob}"}\n`);
 *
 * const options: ReadJsonLinesOptions = { maxLineLength: 64 };
 * const ids: number[] = [];
 * const error = await assertRejects(async () => {
 *   for await (const event of readJsonLines<{ id: number }>(path, options)) {
 *     ids.push(event.id);
 *   }
 * }, LineTooLongError);
 * assertEquals(ids, [1]);
 * assertEquals(error.lineNumber, 2);
 * ```
 */
export type ReadJsonLinesOptions = ReadLinesOptions;

/**
 * Options of {@linkcode writeJsonLines}: those of `writeLines`.
 *
 * @example Permissions, and what a failed write leaves
 * ```ts
 * import {
 *   writeJsonLines,
 *   type WriteJsonLinesOptions,
 * } from "@aio/aio/fs/json-lines";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/users.jsonl`;
 * const options: WriteJsonLinesOptions = { mode: 0o600, fsync: false };
 * await writeJsonLines(path, [{ id: 1 }], options);
 * assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
 *
 * // A BigInt is not JSON: the atomic write leaves the file as it was...
 * await assertRejects(() => writeJsonLines(path, [{ id: 2n }]), TypeError);
 * assertEquals(await Deno.readTextFile(path), '{"id":1}\n');
 * // ...while one with `atomic: false` has truncated it already.
 * await assertRejects(
 *   () => writeJsonLines(path, [{ id: 2n }], { atomic: false }),
 *   TypeError,
 * );
 * assertEquals(await Deno.readTextFile(path), "");
 * ```
 */
export type WriteJsonLinesOptions = WriteLinesOptions;

/**
 * The values of a JSON Lines file: async iterable and disposable.
 *
 * @example Taking a header record, then the rest
 * ```ts
 * import {
 *   type JsonLinesIterator,
 *   readJsonLines,
 * } from "@aio/aio/fs/json-lines";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/export.jsonl`;
 * await Deno.writeTextFile(path, '\n{"version":2}\n{"id":1}\n\n{"id":2}\n');
 *
 * type Row = { version?: number; id?: number };
 * // `await using` closes the file also if the checks below throw.
 * await using rows: JsonLinesIterator<Row> = readJsonLines<Row>(path);
 * const header = await rows.next(); // the blank line is skipped
 * assertEquals(header, { done: false, value: { version: 2 } });
 * const ids = [];
 * for await (const row of rows) ids.push(row.id);
 * assertEquals(ids, [1, 2]);
 * assertEquals(await rows.next(), { done: true, value: undefined });
 * ```
 */
export type JsonLinesIterator<T> = AsyncIterableIterator<T> & AsyncDisposable;

const EXCERPT = 40;

// JSON's own white space; JSON.parse rejects any other (e.g. U+00A0).
const BLANK = /^[ \t\r\n]*$/;

/**
 * Reads a JSON Lines file value by value, streamed: each line is parsed
 * with `JSON.parse`; blank lines (empty, or only JSON's white space: spaces,
 * tabs and `\r`) are skipped.
 * The file is opened on the first `next()` and closed when the iteration
 * ends, throws, or is left early.
 *
 * Needs `--allow-read` for the file.
 *
 * @typeParam T The type the values are expected to have (not checked).
 * @param path The file to read, as a path or a `file:` URL.
 * @param options `maxLineLength` and `signal`, as for `readLines`.
 * @returns An async iterator of the parsed values.
 * @throws {SyntaxError} From the iteration, at a line that is not JSON; the
 * message names the file, the line number and the start of the line, and the
 * `cause` is `JSON.parse`'s error.
 * @throws {LineTooLongError} From the iteration, at a line longer than
 * `maxLineLength`.
 * @throws {Deno.errors.NotFound} From the iteration, when the file does not
 * exist; like every file-system error, with Deno's error as `cause`.
 * @throws {TypeError} When `path`, `options` or an option is invalid.
 * @throws {RangeError} When `maxLineLength` is a number other than a
 * positive integer or `Infinity`.
 *
 * @example Reading records
 * ```ts
 * import { readJsonLines } from "@aio/aio/fs/json-lines";
 * import { assertEquals } from "@std/assert";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"id":1}\n{"id":2}\n');
 * const ids: number[] = [];
 * for await (const record of readJsonLines<{ id: number }>(path)) {
 *   ids.push(record.id);
 * }
 * assertEquals(ids, [1, 2]);
 * await Deno.remove(path);
 * ```
 *
 * @example Finding a bad line
 * ```ts
 * import { readJsonLines } from "@aio/aio/fs/json-lines";
 * import { assertRejects } from "@std/assert";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"id":1}\n{"id":2,}\n');
 * await assertRejects(
 *   () => Array.fromAsync(readJsonLines(path)),
 *   SyntaxError,
 *   `Cannot parse line 2 of "${path}" as JSON`,
 * );
 * await Deno.remove(path);
 * ```
 */
export function readJsonLines<T = unknown>(
  path: string | URL,
  options: ReadJsonLinesOptions = {},
): JsonLinesIterator<T> {
  const file = toPath(path, "read JSON lines");
  checkObject(options, `Cannot read JSON lines from "${file}"`);
  return new JsonLines<T>(file, readLines(file, options));
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

class JsonLines<T> implements AsyncIterableIterator<T>, AsyncDisposable {
  #path: string;
  #lines: LineIterator;
  #lineNumber = 0;

  constructor(path: string, lines: LineIterator) {
    this.#path = path;
    this.#lines = lines;
  }

  async next(): Promise<IteratorResult<T>> {
    while (true) {
      const result = await this.#lines.next();
      if (result.done) return DONE;
      this.#lineNumber++;
      const line = result.value;
      if (BLANK.test(line)) continue;
      try {
        return { done: false, value: JSON.parse(line) };
      } catch (error) {
        await this.#lines.return!();
        // Quoted as it is in the file, to be found there, but for
        // characters that would act on a terminal or hide in a log.
        const start = escapeInvisible(excerpt(line, EXCERPT));
        throw new SyntaxError(
          `Cannot parse line ${this.#lineNumber} of "${this.#path}" as JSON: ${
            (error as Error).message
          }; the line starts with: ${start}`,
          { cause: error },
        );
      }
    }
  }

  /** Stops reading and closes the file. */
  async return(): Promise<IteratorResult<T>> {
    await this.#lines.return!();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Closes the file, like `return()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#lines.return!();
  }
}

/**
 * Writes values to a JSON Lines file, one `JSON.stringify`'d value per line,
 * streamed and by default atomically, like `writeLines`; values that cannot
 * be written (a missing directory, a bad option) are released, as there.
 *
 * Needs `--allow-write` and `--allow-read` for the file's directory; with
 * `atomic: false`, only `--allow-write` for the file.
 *
 * @param path The file to write, as a path or a `file:` URL.
 * @param values The values, from an iterable or an async iterable.
 * @param options `atomic`, `mode`, `fsync` and `signal`, as for `writeLines`.
 * @returns A promise that resolves once every value is written.
 * @throws {TypeError} When a value cannot be written as JSON (`undefined`, a
 * function, a BigInt, a cycle; the message names the value's position), or
 * an argument or `options` is invalid. An atomic write then leaves the file
 * as it was.
 * @throws {RangeError} When `mode` is a number but not an integer from 0 to
 * 0o7777.
 * @throws {Deno.errors.NotFound} When the directory does not exist; like
 * every file-system error, with Deno's error as `cause`.
 * @throws {Deno.errors.NotSupported} When `atomic` and `path` is a FIFO, a
 * device or a socket, which the rename would remove.
 * @throws {unknown} `signal.reason` itself when the signal aborts, or what
 * the iterable throws, unchanged.
 *
 * @example Writing records
 * ```ts
 * import { readJsonLines, writeJsonLines } from "@aio/aio/fs/json-lines";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/events.jsonl`;
 * await writeJsonLines(path, [{ type: "start" }, { type: "stop", code: 0 }]);
 * assertEquals(
 *   await Deno.readTextFile(path),
 *   '{"type":"start"}\n{"type":"stop","code":0}\n',
 * );
 * assertEquals(await Array.fromAsync(readJsonLines(path)), [
 *   { type: "start" },
 *   { type: "stop", code: 0 },
 * ]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeJsonLines(
  path: string | URL,
  values: Iterable<unknown> | AsyncIterable<unknown>,
  options: WriteJsonLinesOptions = {},
): Promise<void> {
  try {
    const file = toPath(path, "write JSON lines");
    const context = `Cannot write JSON lines to "${file}"`;
    checkLinesOptions(options, context);
    const lines = byKind(
      values,
      "values",
      context,
      (items) => stringify(items, context),
      (items) => stringifyAsync(items, context),
    );
    await writeLines(file, lines, options);
  } catch (error) {
    // Values that were never read are released, as by writeLines.
    await discardData(values, error);
    throw error;
  }
}

function toJson(value: unknown, index: number, context: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    const reason = error instanceof Error
      ? error.message
      : `JSON.stringify threw ${show(error)}`;
    throw new TypeError(
      `${context}: value ${index} cannot be written as JSON: ${reason}`,
      { cause: error },
    );
  }
  if (json === undefined) {
    throw new TypeError(
      `${context}: value ${index} cannot be written as JSON, received ${
        show(value)
      }`,
    );
  }
  return json;
}

function* stringify(values: Iterable<unknown>, context: string) {
  let index = 0;
  for (const value of values) yield toJson(value, ++index, context);
}

async function* stringifyAsync(
  values: AsyncIterable<unknown>,
  context: string,
) {
  let index = 0;
  for await (const value of values) yield toJson(value, ++index, context);
}
