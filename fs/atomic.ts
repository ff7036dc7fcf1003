/**
 * Atomic file writes: readers, and the file after a crash, see the old
 * content or the new content, never a part of the new one.
 *
 * @module
 */

import { fsError } from "./_errors.ts";
import { basename, dirname, join, toPath } from "./_path.ts";
import {
  checkData,
  checkWriteOptions,
  discardData,
  inMemoryBytes,
  writeData,
} from "./_write.ts";

const WINDOWS = Deno.build.os === "windows";

/**
 * What {@linkcode writeFileAtomic} writes: a string (written as UTF-8),
 * bytes, or a stream or (async) iterable of string and byte chunks, which is
 * written chunk by chunk and never held in memory as a whole.
 *
 * @example Each kind of data
 * ```ts
 * import {
 *   writeFileAtomic,
 *   type WriteFileAtomicData,
 * } from "@aio/aio/fs/atomic";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("ab");
 * async function* chunks() {
 *   yield "a";
 *   yield bytes.subarray(1);
 * }
 * const sources: WriteFileAtomicData[] = [
 *   "ab",
 *   bytes,
 *   ReadableStream.from(["a", "b"]),
 *   ["a", bytes.subarray(1)],
 *   chunks(),
 * ];
 * await using dir = await makeTempDir();
 * for (const [index, data] of sources.entries()) {
 *   await writeFileAtomic(`${dir.path}/${index}.txt`, data);
 *   assertEquals(await Deno.readTextFile(`${dir.path}/${index}.txt`), "ab");
 * }
 * ```
 */
export type WriteFileAtomicData =
  | string
  | Uint8Array
  | ReadableStream<string | Uint8Array>
  | Iterable<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>;

/**
 * Options of {@linkcode writeFileAtomic}.
 *
 * @example A private file, and an abort in the middle of a stream
 * ```ts
 * import {
 *   writeFileAtomic,
 *   type WriteFileAtomicOptions,
 * } from "@aio/aio/fs/atomic";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using dir = await makeTempDir();
 * const path = `${dir.path}/token`;
 * const options: WriteFileAtomicOptions = { mode: 0o600, fsync: false };
 * await writeFileAtomic(path, "token-1", options);
 * assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
 *
 * const controller = new AbortController();
 * async function* chunks() {
 *   yield "token-";
 *   controller.abort(new Error("cancelled"));
 *   yield "2";
 * }
 * await assertRejects(
 *   () => writeFileAtomic(path, chunks(), { signal: controller.signal }),
 *   Error,
 *   "cancelled",
 * );
 * // The old file is untouched and no temporary file is left behind.
 * assertEquals(await Deno.readTextFile(path), "token-1");
 * assertEquals((await Array.fromAsync(Deno.readDir(dir.path))).length, 1);
 * ```
 */
export interface WriteFileAtomicOptions {
  /**
   * Permission bits of the written file (e.g. `0o600`), set exactly, not
   * masked by the umask. When not given, an existing file keeps its
   * permissions and a new file gets `0o666` minus the umask, as with
   * `Deno.writeFile`. Ignored on Windows.
   *
   * @default {undefined}
   */
  mode?: number;
  /**
   * Flush the file and its directory to the disk before returning, so that
   * the new content also survives a power loss. Without it the write is
   * still atomic for readers and against a crash of the process, but a power
   * loss may leave the old or the new file, or an empty one on some file
   * systems, behind.
   *
   * @default {true}
   */
  fsync?: boolean;
  /**
   * Aborts the write: the temporary file is removed, the target is left as
   * it was, and the promise rejects with `signal.reason`. Once the new file
   * has replaced the old one the write is done and the signal is ignored.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same
 * directory (named `.<name>.<random>.tmp`), which is flushed to the disk and
 * then renamed over the target, and finally the directory is flushed too.
 * Readers see the old file or the new one, never a mix or a truncated file,
 * even if the process is killed in the middle.
 *
 * Streams and iterables are written chunk by chunk, so a large download can
 * go straight to disk. On any error or abort the temporary file is removed
 * and the target is left untouched. A symbolic link is followed: the file it
 * points to is replaced, the link stays.
 *
 * The file is a new file (a new inode): hard links to the old file keep the
 * old content, and the owner is the user who writes. A process killed with
 * SIGKILL cannot clean up; its temporary file, named as above, stays.
 *
 * Needs `--allow-write` and `--allow-read` for the file's directory (reading
 * is needed to keep the old file's permissions and to flush the directory).
 *
 * @param path The file to write, as a path or a `file:` URL.
 * @param data A string, bytes, or a stream or (async) iterable of chunks.
 * @param options `mode`, `fsync` and `signal`.
 * @returns A promise that resolves once the new file is in place.
 * @throws {TypeError} When `path`, `data`, a chunk or an option is invalid.
 * @throws {RangeError} When `mode` is out of range.
 * @throws {Deno.errors.NotFound} When the directory does not exist.
 * @throws {Deno.errors.IsADirectory} When `path` is a directory.
 * @throws {Deno.errors.PermissionDenied} When the directory is not writable.
 * Every file-system error keeps Deno's class, names the path, and has
 * Deno's error as its `cause`.
 * @throws {unknown} `signal.reason` when the signal aborts, or what the data
 * source throws.
 *
 * @example Replacing a file
 * ```ts
 * import { writeFileAtomic } from "@aio/aio/fs/atomic";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/config.json`;
 * await writeFileAtomic(path, JSON.stringify({ version: 1 }));
 * await writeFileAtomic(path, JSON.stringify({ version: 2 }));
 * assertEquals(JSON.parse(await Deno.readTextFile(path)), { version: 2 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Streaming chunks to disk
 * ```ts
 * import { writeFileAtomic } from "@aio/aio/fs/atomic";
 * import { assertEquals } from "@std/assert";
 *
 * async function* report() {
 *   yield "name,total\n";
 *   for (const name of ["a", "b"]) yield `${name},${name.length}\n`;
 * }
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/report.csv`, report(), { mode: 0o600 });
 * assertEquals(
 *   await Deno.readTextFile(`${dir}/report.csv`),
 *   "name,total\na,1\nb,1\n",
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(
  path: string | URL,
  data: WriteFileAtomicData,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  try {
    const target = toPath(path, "write file");
    const context = `Cannot write "${target}"`;
    const { mode, fsync = true, signal } = options;
    checkWriteOptions(context, mode, fsync, signal);
    checkData(data, context);
    signal?.throwIfAborted();
    let destination: string;
    let fileMode: number | undefined;
    try {
      ({ destination, mode: fileMode } = await inspect(target));
    } catch (error) {
      throw fsError(error, "write", target);
    }
    await replace(target, destination, data, mode ?? fileMode, fsync, signal);
  } catch (error) {
    // Data that was never read, e.g. a response body, is released (a source
    // that was read from is released by writeData already).
    await discardData(data, error);
    throw error;
  }
}

async function replace(
  target: string,
  destination: string,
  data: WriteFileAtomicData,
  fileMode: number | undefined,
  fsync: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const directory = dirname(destination);
  const fail = (error: unknown) =>
    fsError(error, "write", target, {
      NotFound: `the directory "${directory}" does not exist`,
    });
  const temp = join(directory, tempName(basename(destination)));

  let created = false;
  try {
    const bytes = fsync ? undefined : inMemoryBytes(data);
    created = true;
    if (bytes) {
      // One operation; `mode` is applied exactly, not masked by the umask.
      await Deno.writeFile(temp, bytes, { createNew: true, mode: fileMode });
    } else {
      using file = await Deno.open(temp, {
        write: true,
        createNew: true,
        mode: fileMode,
      });
      // Deno.open masks `mode` with the umask; the old file's bits must stay.
      if (fileMode !== undefined && !WINDOWS) await Deno.chmod(temp, fileMode);
      await writeData(file, data, `Cannot write "${target}"`, signal);
      if (fsync) await file.syncData();
    }
    signal?.throwIfAborted();
    // Not @std/fs `move`: with `overwrite` it removes the target first, which
    // opens a window with no file at all. rename(2) replaces it atomically.
    await Deno.rename(temp, destination);
    created = false;
  } catch (error) {
    // A name collision means the file is someone else's.
    if (created && !(error instanceof Deno.errors.AlreadyExists)) {
      await Deno.remove(temp).catch(() => {});
    }
    throw fail(error);
  }
  if (fsync && !WINDOWS) {
    // The rename is durable only once the directory entry is on the disk.
    try {
      using dir = await Deno.open(directory, { read: true });
      await dir.sync();
    } catch (error) {
      throw fail(error);
    }
  }
}

/**
 * Where the data goes (a symbolic link is followed) and the permissions of
 * the file there now, if any.
 */
async function inspect(
  path: string,
): Promise<{ destination: string; mode: number | undefined }> {
  let info: Deno.FileInfo;
  let destination = path;
  try {
    info = await Deno.lstat(path);
    if (info.isSymlink) {
      destination = await resolveLink(path);
      info = await Deno.stat(destination);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { destination, mode: undefined };
    }
    throw error;
  }
  if (info.isDirectory) {
    throw new Deno.errors.IsADirectory(`Is a directory: "${destination}"`);
  }
  return {
    destination,
    mode: info.mode === null ? undefined : info.mode & 0o7777,
  };
}

/** The file a link points to, also when that file does not exist yet. */
async function resolveLink(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const link = await Deno.readLink(path);
    return link.startsWith("/") || (WINDOWS && /^[a-zA-Z]:/.test(link))
      ? link
      : join(dirname(path), link);
  }
}

function tempName(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  const hex = Array.from(random, (byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  // Keep the name within the 255-byte limit of most file systems.
  return `.${name.slice(0, 200)}.${hex}.tmp`;
}
