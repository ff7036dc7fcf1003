/**
 * File helpers that never leave a half-written file or an open handle
 * behind. The seed writes files inside `async with aiofiles.open(...)`, so
 * the handle is closed whatever happens; these go further:
 *
 * - {@linkcode writeFileAtomic}: a temporary file in the same directory,
 *   flushed, renamed over the target: readers, and the file after a crash or
 *   a `kill -9`, see the old content or the new one, never a part. Streams
 *   and async iterables are written chunk by chunk.
 * - {@linkcode readLines} / {@linkcode writeLines}: lines streamed with
 *   `TextLineStream`, a bound on the line length enforced while the bytes
 *   arrive, invalid UTF-8 an error, the file closed when a loop ends early.
 * - {@linkcode readJsonLines} / {@linkcode writeJsonLines}: JSON Lines; a bad
 *   line is an error naming the file, the line number and its start.
 * - {@linkcode makeTempDir}: a temporary directory removed with all it holds
 *   when its `await using` scope ends, also on an error.
 *
 * Errors: a file-system error keeps Deno's class (`Deno.errors.NotFound`,
 * `PermissionDenied`, `IsADirectory`, `NotCapable` for a missing `--allow-*`
 * flag, ...), so `instanceof` checks work as with Deno's own functions; its
 * message names the operation and the path the caller gave, and Deno's own
 * error is its `cause`. A line over the limit is a
 * {@linkcode LineTooLongError}, invalid UTF-8 is `Deno.errors.InvalidData`, a
 * line that is not JSON a `SyntaxError`.
 *
 * For everything else use `@std/fs` as it is: `ensureDir` before writing into
 * a directory that may not exist yet, `exists`, `walk`, `copy`, `emptyDir`.
 * Its `move` with `overwrite: true` removes the target before renaming, so
 * to replace a file's content use {@linkcode writeFileAtomic}.
 *
 * @example A job that keeps its state in a file and logs to JSON Lines
 * ```ts
 * import {
 *   makeTempDir,
 *   readJsonLines,
 *   readLines,
 *   writeFileAtomic,
 *   writeJsonLines,
 * } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using dir = await makeTempDir({ prefix: "job-" });
 * const state = `${dir.path}/state.json`;
 * const log = `${dir.path}/log.jsonl`;
 *
 * await writeFileAtomic(state, JSON.stringify({ done: 0 }));
 * await writeJsonLines(log, [{ step: 1, ok: true }, { step: 2, ok: false }]);
 * const { done } = JSON.parse(await Deno.readTextFile(state));
 * await writeFileAtomic(state, JSON.stringify({ done: done + 2 }));
 *
 * const failed = [];
 * for await (const entry of readJsonLines<{ step: number; ok: boolean }>(log)) {
 *   if (!entry.ok) failed.push(entry.step);
 * }
 * assertEquals(failed, [2]);
 * assertEquals(await Array.fromAsync(readLines(state)), ['{"done":2}']);
 * ```
 *
 * @module
 */

export * from "../errors.ts";
export * from "./atomic.ts";
export * from "./json_lines.ts";
export * from "./lines.ts";
export * from "./temp.ts";
