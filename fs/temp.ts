/**
 * Temporary directories that remove themselves, with `await using`.
 *
 * @module
 */

import { checkObject, show } from "../_show.ts";
import { fsError } from "./_errors.ts";
import { WINDOWS } from "../_file_path.ts";
import { join } from "./_path.ts";

/**
 * Options of {@linkcode makeTempDir}.
 *
 * @example Naming the directory and choosing its parent
 * ```ts
 * import { makeTempDir, type MakeTempDirOptions } from "@aio/aio/fs/temp";
 * import { assert } from "@std/assert";
 *
 * await using parent = await makeTempDir();
 * const options: MakeTempDirOptions = {
 *   prefix: "build-",
 *   suffix: ".cache",
 *   dir: parent.path,
 * };
 * await using dir = await makeTempDir(options);
 * assert(dir.path.startsWith(`${parent.path}/build-`));
 * assert(dir.path.endsWith(".cache"));
 * assert((await Deno.stat(dir.path)).isDirectory);
 * ```
 */
export interface MakeTempDirOptions {
  /**
   * The start of the directory's name, e.g. `"myapp-"`.
   *
   * @default {""}
   */
  prefix?: string | undefined;
  /**
   * The end of the directory's name.
   *
   * @default {""}
   */
  suffix?: string | undefined;
  /**
   * The directory to create it in.
   *
   * @default {undefined} (the system's temporary directory, `$TMPDIR` or
   * `/tmp` on Unix)
   */
  dir?: string | undefined;
}

/**
 * A temporary directory: its `path`, and disposal that removes it with all
 * it holds.
 *
 * @example Handing a directory to the caller, and removing it early
 * ```ts
 * import { makeTempDir, type TempDir } from "@aio/aio/fs/temp";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * async function fixture(): Promise<TempDir> {
 *   const dir = await makeTempDir({ prefix: "fixture-" });
 *   await Deno.writeTextFile(`${dir.path}/input.txt`, "42");
 *   return dir;
 * }
 *
 * await using dir = await fixture();
 * assertEquals(await Deno.readTextFile(`${dir.path}/input.txt`), "42");
 * // Removed by hand; the disposal at the end of the scope finds it gone,
 * // which is not an error.
 * await dir[Symbol.asyncDispose]();
 * await assertRejects(() => Deno.stat(dir.path), Deno.errors.NotFound);
 * ```
 */
export interface TempDir extends AsyncDisposable {
  /** The path of the directory (absolute unless `dir` is relative). */
  readonly path: string;
}

/**
 * Creates a new, empty temporary directory, removed with everything in it
 * when the `await using` scope that holds it ends, also when the scope ends
 * with an error. Removing a directory that is already gone is not an error.
 * As with Python's `TemporaryDirectory`, directories inside that were made
 * read-only are made writable (`u+rwx`) when the removal is refused, and it
 * is tried once more; symbolic links are not followed, so nothing outside
 * the directory is changed.
 *
 * Needs `--allow-write` for the parent directory, and `--allow-read` too
 * when a directory inside was made read-only (to make it writable again).
 *
 * @param options `prefix`, `suffix` and the parent `dir`.
 * @returns The directory's `path`, disposable with `await using`.
 * @throws {TypeError} When `options` is not an object or an option is not a
 * string.
 * @throws {Deno.errors.NotFound} When `dir` does not exist; every
 * file-system error keeps Deno's class, names the parent directory, and has
 * Deno's error as its `cause`.
 *
 * @example A scratch directory for one task
 * ```ts
 * import { makeTempDir } from "@aio/aio/fs/temp";
 * import { assert, assertEquals } from "@std/assert";
 *
 * let path: string;
 * {
 *   await using dir = await makeTempDir({ prefix: "report-" });
 *   path = dir.path;
 *   await Deno.writeTextFile(`${dir.path}/draft.txt`, "draft");
 *   assertEquals(await Deno.readTextFile(`${dir.path}/draft.txt`), "draft");
 * }
 * // The directory and its file are gone once the block ends.
 * const gone = await Deno.stat(path).then(() => false, () => true);
 * assert(gone);
 * ```
 */
export async function makeTempDir(
  options: MakeTempDirOptions = {},
): Promise<TempDir> {
  checkObject(options, "Cannot make a temporary directory");
  const { prefix = "", suffix = "", dir } = options;
  for (const [name, value] of [["prefix", prefix], ["suffix", suffix]]) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot make a temporary directory: "${name}" must be a string, received ${
          show(value)
        }`,
      );
    }
    if (/[/\\\0]/.test(value)) {
      throw new TypeError(
        `Cannot make a temporary directory: "${name}" must not contain a path separator or NUL, received ${
          JSON.stringify(value)
        }; use "dir" for the parent directory`,
      );
    }
    // Deno refuses them with a bare Error.
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(value)) {
      throw new TypeError(
        `Cannot make a temporary directory: "${name}" must not contain control characters, received ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  if (dir !== undefined && typeof dir !== "string") {
    throw new TypeError(
      `Cannot make a temporary directory: "dir" must be a string, received ${
        show(dir)
      }`,
    );
  }
  let path: string;
  try {
    path = await Deno.makeTempDir(
      dir === undefined ? { prefix, suffix } : { prefix, suffix, dir },
    );
  } catch (error) {
    throw fsError(error, "make a temporary directory in", dir ?? systemTemp());
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      try {
        await removeTree(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        throw fsError(error, "remove the temporary directory", path);
      }
    },
  };
}

/**
 * Removes `path` with all it holds. Like Python's `TemporaryDirectory`, when
 * that is refused because a directory inside was made read-only, the
 * directories are made writable and the removal is tried once more.
 */
async function removeTree(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied) || WINDOWS) {
      throw error;
    }
    // What cannot be made writable makes the second removal fail; a missing
    // --allow-read for it is what the caller has to fix, though.
    await makeWritable(path).catch((error) => {
      if (error instanceof Deno.errors.NotCapable) throw error;
    });
    await Deno.remove(path, { recursive: true });
  }
}

/**
 * Adds `u+rwx` to `path` and every directory under it, if `path` is a
 * directory. Symbolic links are not followed (lstat, and readDir's entries,
 * do not follow them), so nothing outside the tree is touched.
 */
async function makeWritable(path: string): Promise<void> {
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return;
  await Deno.chmod(path, (info.mode! & 0o7777) | 0o700);
  for await (const entry of Deno.readDir(path)) {
    if (entry.isDirectory) await makeWritable(join(path, entry.name));
  }
}

/**
 * Where Deno makes temporary directories when no `dir` is given: `$TMPDIR`'s
 * value when the process may read it without asking, or the system's
 * default (both named when `$TMPDIR` may not be read).
 */
function systemTemp(): string {
  const variable = "TMPDIR";
  const fallback = WINDOWS ? "%TEMP%" : "/tmp";
  if (
    Deno.permissions.querySync({ name: "env", variable }).state !== "granted"
  ) {
    return `$${variable} or ${fallback}`;
  }
  return Deno.env.get(variable) || fallback;
}
