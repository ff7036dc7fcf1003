/**
 * Atomic file writes: readers, and the file after a crash, see the old
 * content or the new content, never a part of the new one.
 *
 * @module
 */

import { checkObject } from "../_show.ts";
import { delay } from "jsr:@std/async@^1.5.0/delay";
import { exists } from "jsr:@std/fs@^1.0.24/exists";
import { type Fail, fsCall, fsError, writeFailure } from "./_errors.ts";
import { toPath, WINDOWS } from "../_file_path.ts";
import { basename, dirname, join } from "./_path.ts";
import {
  checkData,
  checkWriteOptions,
  discardData,
  inMemoryBytes,
  writeData,
} from "./_write.ts";

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
   * `Deno.writeFile`. Kept setuid and setgid bits are dropped when the new
   * file belongs to another user or group than the old one (see
   * {@linkcode writeFileAtomic}); given ones are set. Ignored on Windows.
   *
   * @default {undefined}
   */
  mode?: number | undefined;
  /**
   * Flush the file and its directory to the disk before returning, so that
   * the new content also survives a power loss. Without it the write is
   * still atomic for readers and against a crash of the process, but a power
   * loss may leave the old or the new file, or an empty one on some file
   * systems, behind. The directory is opened before the rename, so one that
   * cannot be opened (not readable) fails the write with the target left as
   * it was. If flushing it fails after the rename (an I/O error), the
   * promise rejects although the new file is in place: readers see it, but
   * it may not survive a power loss.
   *
   * @default {true}
   */
  fsync?: boolean | undefined;
  /**
   * Aborts the write: the temporary file is removed, the target is left as
   * it was, and the promise rejects with `signal.reason`. Once the new file
   * has replaced the old one the write is done and the signal is ignored.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same
 * directory (named `.<name>.aio-<random>.tmp`), which is flushed to the disk and
 * then renamed over the target, and finally the directory is flushed too.
 * Readers see the old file or the new one, never a mix or a truncated file,
 * even if the process is killed in the middle.
 *
 * Streams and iterables are written chunk by chunk, so a large download can
 * go straight to disk. On any error or abort the temporary file is removed
 * and the target is left untouched (but see `fsync` for a flush of the
 * directory that fails after the rename). A symbolic link is followed, also
 * a chain of links, to the end (which is created if missing): that file is
 * replaced, the links stay. More than 40 links, as in a loop, are a
 * `Deno.errors.FilesystemLoop`, as with the kernel.
 *
 * The file is a new file (a new inode): hard links to the old file keep the
 * old content, and the owner is the user who writes. So that rewriting a
 * setuid program of another user (as root, say) does not make it run as the
 * writer, setuid and setgid bits kept from the old file are dropped unless
 * the new file has the same owner and group. A process killed with SIGKILL
 * cannot clean up; its temporary file, named as above, stays until a later
 * process writes into the same directory: a process's first write into a
 * directory removes the temporary files there if no other write is in
 * flight in it (each writer holds a shared lock on the directory, which the
 * sweep must get exclusively; data up to 1 MiB in memory without `fsync` is
 * written by one call without it, and again if a sweep took its file). A
 * writer that cannot lock the directory names its file `….tmp~`, which no
 * sweep removes. A target named like a temporary file is refused.
 *
 * Needs `--allow-write` and `--allow-read` for the file's directory (reading
 * is needed to see what is at the path now, to keep an old file's
 * permissions, and to flush the directory).
 *
 * @param path The file to write, as a path or a `file:` URL.
 * @param data A string, bytes, or a stream or (async) iterable of chunks.
 * @param options `mode`, `fsync` and `signal`.
 * @returns A promise that resolves once the new file is in place.
 * @throws {TypeError} When `path` (e.g. a `file:` URL with a host, or a
 * name like `.x.aio-0123456789ab.tmp`), `data`, a chunk, `options` or an
 * option is invalid.
 * @throws {RangeError} When `mode` is a number but not an integer from 0 to
 * 0o7777.
 * @throws {Deno.errors.NotFound} When the directory does not exist.
 * @throws {Deno.errors.IsADirectory} When `path` is a directory.
 * @throws {Deno.errors.PermissionDenied} When the directory is not writable
 * (or, with `fsync`, not readable).
 * @throws {Deno.errors.FilesystemLoop} When `path` is a loop of links.
 * @throws {Deno.errors.NotSupported} When `path` is a FIFO, a device or a
 * socket, which a rename would remove (write to it with
 * `writeLines(..., { atomic: false })` or `Deno.open`), or leads to an open
 * file descriptor (`/dev/stdout`, `/proc/self/fd/1`).
 * Every error of the file system keeps Deno's class, names the path, and
 * has Deno's error as its `cause`.
 * @throws {unknown} `signal.reason` itself when the signal aborts, or what
 * the data source throws, unchanged (even a Deno error).
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
    checkObject(options, context);
    const { mode, fsync = true, signal } = options;
    checkWriteOptions(context, mode, fsync, signal);
    checkData(data, context);
    signal?.throwIfAborted();
    const { destination, old } = await fsCall(
      inspect(target),
      atomicFailure(target, dirname(target)),
    );
    await replace(target, destination, data, {
      mode: mode ?? permissions(old),
      keptFrom: mode === undefined ? old : undefined,
      fsync,
      signal,
    });
  } catch (error) {
    // Data that was never read, e.g. a response body, is released (a source
    // that was read from is released by writeData already).
    await discardData(data, error);
    throw error;
  }
}

/** How {@linkcode replace} writes the new file. */
interface Plan {
  /** The exact permission bits, or undefined for the umask's default. */
  mode: number | undefined;
  /** The old file, when `mode` is kept from it rather than given. */
  keptFrom: Deno.FileInfo | undefined;
  fsync: boolean;
  signal: AbortSignal | undefined;
}

const SETID = 0o6000;

/**
 * Writes `data` to a temporary file beside `destination` and renames it over
 * it; `target` is the caller's path, which the errors name.
 */
async function replace(
  target: string,
  destination: string,
  data: WriteFileAtomicData,
  plan: Plan,
): Promise<void> {
  const directory = dirname(destination);
  const fail = atomicFailure(target, directory);
  const name = basename(destination);
  if (TEMP_NAME.test(name)) {
    throw new TypeError(
      `Cannot write "${target}": names like "${name}" are kept for temporary files, which are removed after a crash`,
    );
  }
  await sweepOnce(directory, plan.signal);
  const setid = plan.mode !== undefined && (plan.mode & SETID) !== 0;
  const bytes = plan.fsync || setid ? undefined : inMemoryBytes(data);
  if (bytes && bytes.length <= ONE_CALL_LIMIT) {
    return await replaceInOneCall(
      directory,
      name,
      destination,
      bytes,
      plan,
      fail,
    );
  }
  // The directory, by its real path (a link on the way may be switched
  // meanwhile), opened before the rename: one that cannot be flushed leaves
  // the target as it was, instead of replaced and reported as not written.
  // Its shared lock, while the write is in flight, keeps sweeps away.
  let dir: Deno.FsFile | undefined;
  let real = directory;
  if (!WINDOWS) {
    try {
      real = await realDirectory(directory);
      dir = await Deno.open(real, { read: true });
    } catch (error) {
      if (plan.fsync) throw fail(error);
    }
  }
  using _dir = dir;
  const guarded = dir !== undefined &&
    await lockShared(dir, directory, plan.signal);
  if (guarded) ownWrites.set(directory, (ownWrites.get(directory) ?? 0) + 1);
  try {
    // Windows has no sweep: its files need no other name.
    const temp = join(real, tempName(name, guarded || WINDOWS));
    await writeTemp(temp, data, plan, target, fail);
    await renameOver(temp, join(real, name), plan.signal, fail);
    // The rename is durable only once the directory entry is on the disk.
    if (dir && plan.fsync) await fsCall(dir.sync(), fail);
  } finally {
    if (guarded) {
      const count = ownWrites.get(directory)! - 1;
      if (count === 0) ownWrites.delete(directory);
      else ownWrites.set(directory, count);
    }
  }
}

/**
 * {@linkcode replace} for data in memory without fsync (and no setuid or
 * setgid bit): one `Deno.writeFile` and a rename, without the directory's
 * lock. A sweep by another process may remove its file in between (each
 * process sweeps a directory once); the write is then done again.
 */
async function replaceInOneCall(
  directory: string,
  name: string,
  destination: string,
  bytes: Uint8Array,
  { mode, signal }: Plan,
  fail: Fail,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const temp = join(directory, tempName(name, true));
    await writeTempBytes(temp, bytes, mode, fail);
    try {
      return await renameOver(temp, destination, signal, fail);
    } catch (error) {
      // The file is gone: swept, or the directory is (then writeFile fails).
      if (!(error instanceof Deno.errors.NotFound) || attempt === 8) {
        throw error;
      }
    }
  }
}

/**
 * The `fail` of an atomic write's calls. A missing permission names the
 * directory, which the write needs as a whole: Deno's message names the
 * path it checked, often the temporary file, whose name changes every time.
 */
function atomicFailure(target: string, directory: string): Fail {
  const fail = writeFailure("write", target, directory);
  return (error) => {
    if (!(error instanceof Deno.errors.NotCapable)) return fail(error);
    const [, kind = "write", checked] =
      /\b(read|write) access to "(.*)"/i.exec(error.message) ?? [];
    // The path Deno checked is the directory itself, or a file in it: the
    // temporary file, the target, or where a link on the way leads.
    const dir = checked === undefined || checked === directory
      ? directory
      : dirname(checked);
    return fsError(error, "write", target, {
      NotCapable:
        `requires ${kind} access to its directory "${dir}", run again with --allow-${kind}=${dir}`,
    });
  };
}

/**
 * The real path of `directory`, since a link on the way may be switched
 * meanwhile; or `directory` itself when this process may not read and write
 * the real path: Deno checks a permission such as `--allow-write=link`
 * against the path as given, not against the link's target.
 */
async function realDirectory(directory: string): Promise<string> {
  const real = await Deno.realPath(directory);
  for (const name of ["read", "write"] as const) {
    const { state } = await Deno.permissions.query({ name, path: real });
    if (state !== "granted") return directory;
  }
  return real;
}

/** Renames `temp` over `destination`, or removes it if that fails. */
async function renameOver(
  temp: string,
  destination: string,
  signal: AbortSignal | undefined,
  fail: Fail,
): Promise<void> {
  try {
    signal?.throwIfAborted();
    // Not @std/fs `move`: with `overwrite` it removes the target first, which
    // opens a window with no file at all. rename(2) replaces it atomically.
    await Deno.rename(temp, destination);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error === signal?.reason) throw error;
    throw await removedTemp(error, temp, destination) ?? fail(error);
  }
}

/**
 * For a `NotFound` while the directory is there: the error that says that
 * something removed the temporary file being written.
 */
async function removedTemp(
  error: unknown,
  temp: string,
  destination: string,
): Promise<unknown> {
  if (!(error instanceof Deno.errors.NotFound)) return undefined;
  const there = await exists(dirname(temp), { isDirectory: true })
    .catch(() => false);
  return there
    ? fsError(error, "write", destination, {
      NotFound: `its temporary file "${temp}" was removed by someone else`,
    })
    : undefined;
}

/**
 * Creates `temp` holding `data`, with `mode` (see {@linkcode safeMode});
 * removes it again if anything fails.
 */
async function writeTemp(
  temp: string,
  data: WriteFileAtomicData,
  { mode, keptFrom, fsync, signal }: Plan,
  target: string,
  fail: Fail,
): Promise<void> {
  const setid = mode !== undefined && (mode & SETID) !== 0;
  // Never more open than `mode` while the data is written: the umask only
  // takes bits away.
  const file = await fsCall(
    Deno.open(
      temp,
      mode === undefined
        ? { write: true, createNew: true }
        : { write: true, createNew: true, mode: mode & 0o777 },
    ),
    fail,
  );
  try {
    using _file = file;
    const context = `Cannot write "${target}"`;
    await writeData(file, data, { context, signal, fail });
    // The exact bits, after the data: a write by a user other than root
    // clears setuid and setgid bits.
    const exact = setid && keptFrom
      ? await fsCall(safeMode(file, mode, keptFrom), fail)
      : mode;
    if (exact !== undefined && !WINDOWS) {
      await Deno.chmod(temp, exact).catch(async (error) => {
        throw await removedTemp(error, temp, target) ?? fail(error);
      });
    }
    if (fsync) await fsCall(file.syncData(), fail);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Data in memory without fsync, and no setuid or setgid bit (which
 * Deno.writeFile sets before writing): one operation, and `mode` is applied
 * exactly, not masked by the umask.
 */
async function writeTempBytes(
  temp: string,
  bytes: Uint8Array,
  mode: number | undefined,
  fail: Fail,
): Promise<void> {
  try {
    await Deno.writeFile(
      temp,
      bytes,
      mode === undefined ? { createNew: true } : { createNew: true, mode },
    );
  } catch (error) {
    // A name collision means the file is someone else's.
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      await Deno.remove(temp).catch(() => {});
    }
    throw fail(error);
  }
}

/**
 * `mode`, kept from the `old` file, without its setuid and setgid bits when
 * the new `file` has another owner or group: a user's setuid program
 * rewritten by root would otherwise run as root.
 */
async function safeMode(
  file: Deno.FsFile,
  mode: number,
  old: Deno.FileInfo,
): Promise<number> {
  // fstat tells who writes without needing --allow-sys for Deno.uid().
  const { uid, gid } = await file.stat();
  return uid === old.uid && gid === old.gid ? mode : mode & ~SETID;
}

/** The permission bits of `info`, if there is a file with any. */
function permissions(info: Deno.FileInfo | undefined): number | undefined {
  return info?.mode == null ? undefined : info.mode & 0o7777;
}

// Like the kernel's limit on the links in one path (ELOOP).
const MAX_LINKS = 40;

/**
 * The links of a process's open files, by the names they go by:
 * /dev/stdout leads to /proc/self/fd/1, /dev/fd is /proc/self/fd.
 */
const FD_LINK = /^\/(?:proc\/[^/]+(?:\/task\/\d+)?|dev)\/fd\/\d+$/;

/**
 * Where the data goes and the file there now, if any. A chain of symbolic
 * links is followed to its end, which is created if it does not exist.
 */
async function inspect(
  path: string,
): Promise<{ destination: string; old: Deno.FileInfo | undefined }> {
  let destination = path;
  for (let links = 0;; links++) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(destination);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { destination, old: undefined };
      }
      throw error;
    }
    if (!info.isSymlink) {
      refuseUnlessFile(info, destination);
      return { destination, old: info };
    }
    if (FD_LINK.test(destination)) {
      // Not a path: "pipe:[7]", or a file's name, which may be another one
      // now ("... (deleted)"); a file opened for appending (`>> log`)
      // would be replaced rather than appended to.
      throw new Deno.errors.NotSupported(
        `It is an open file descriptor ("${destination}"), which a rename cannot replace`,
      );
    }
    if (links === MAX_LINKS) {
      throw withCode(
        new Deno.errors.FilesystemLoop(
          `Too many levels of symbolic links: "${path}"`,
        ),
        "ELOOP",
      );
    }
    destination = await linkTarget(destination);
  }
}

/**
 * Throws unless `info` is a regular file's: a rename would put a file in
 * place of a directory's name (which fails), or of a FIFO, a device or a
 * socket (which would work, and remove it).
 */
function refuseUnlessFile(info: Deno.FileInfo, path: string): void {
  if (info.isFile) return;
  if (info.isDirectory) {
    throw withCode(
      new Deno.errors.IsADirectory(`Is a directory: "${path}"`),
      "EISDIR",
    );
  }
  const kind = info.isFifo
    ? "a FIFO"
    : info.isCharDevice
    ? "a character device"
    : info.isBlockDevice
    ? "a block device"
    : info.isSocket
    ? "a socket"
    : "not a file";
  throw new Deno.errors.NotSupported(
    `It is ${kind}, which a new file would replace: an atomic write needs a regular file or none`,
  );
}

/** `error` with an errno `code`, as Deno's own errors have. */
function withCode<T extends Error>(error: T, code: string): T {
  return Object.assign(error, { code });
}

/** The path a symbolic link points to, relative to the link's directory. */
async function linkTarget(link: string): Promise<string> {
  const target = await Deno.readLink(link);
  return target.startsWith("/") || (WINDOWS && /^[a-zA-Z]:/.test(target))
    ? target
    : join(dirname(link), target);
}

/**
 * Data up to this size (in memory, without fsync) is written by one
 * `Deno.writeFile`, in about a millisecond.
 */
const ONE_CALL_LIMIT = 1024 * 1024;

/** The name of a temporary file that a sweep may remove. */
const TEMP_NAME = /^\..+\.aio-[0-9a-f]{12}\.tmp$/s;

/**
 * The directories this process has swept, or tried to sweep as often as
 * it does (a bounded map to the number of tries).
 */
const sweeps = new Map<string, number>();
const SWEEP_TRIES = 8;
/** Sweeps in progress in this process. */
const sweeping = new Set<string>();
/** This process's locked writes in flight, per directory. */
const ownWrites = new Map<string, number>();
/** Until when a directory's lock is not waited for (someone holds it). */
const heldElsewhere = new Map<string, number>();

/**
 * Removes, once per directory and process, the temporary files that writers
 * killed in the middle (SIGKILL, a crash, a power loss) left there, so that
 * they do not pile up. Each writer of this library holds a shared lock on
 * the directory while its write is in flight (one-call writes aside, which
 * write again if their file is swept): when the sweep gets the lock
 * exclusively, no other locked write is in flight there, and the
 * `.<name>.aio-<random>.tmp` files are taken for dead writers'. They are
 * removed by name, never opened. Best effort: nothing is swept while other
 * writes are in flight (later writes try again, up to
 * {@linkcode SWEEP_TRIES} times), and what fails is left. Locks that are
 * local to a host (NFS without lockd) do not see other hosts' writers.
 */
async function sweepOnce(
  directory: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const tries = sweeps.get(directory) ?? 0;
  if (
    WINDOWS || tries >= SWEEP_TRIES || sweeping.has(directory) ||
    ownWrites.has(directory)
  ) return;
  if (sweeps.size >= 10_000) sweeps.clear();
  sweeping.add(directory);
  let dir: Deno.FsFile | undefined;
  try {
    const real = await realDirectory(directory);
    dir = await Deno.open(real, { read: true });
    if (!(await dir.tryLock(true))) {
      sweeps.set(directory, tries + 1);
      return;
    }
    for await (const entry of Deno.readDir(real)) {
      if (signal?.aborted) return; // not a try: the next write goes on
      if (entry.isFile && TEMP_NAME.test(entry.name)) {
        await Deno.remove(join(real, entry.name)).catch(() => {});
      }
    }
    sweeps.set(directory, SWEEP_TRIES);
  } catch {
    // Not readable, gone, or without locks: nothing to sweep.
    sweeps.set(directory, tries + 1);
  } finally {
    sweeping.delete(directory);
    dir?.close();
  }
}

/**
 * Takes a shared lock on `dir` (the open `directory`), waiting up to half a
 * second for a sweep that holds it exclusively to end. `false` if it cannot:
 * someone holds it exclusively (for the next 30 s, the lock is then only
 * tried, not waited for), or the file system has no locks.
 *
 * @throws {unknown} `signal.reason` if the signal aborts the wait.
 */
async function lockShared(
  dir: Deno.FsFile,
  directory: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const patient = (heldElsewhere.get(directory) ?? 0) < Date.now();
  for (let wait = 1;; wait *= 2) {
    try {
      if (await dir.tryLock(false)) return true;
    } catch {
      return false;
    }
    if (!patient || wait > 256) break;
    await delay(wait, signal ? { signal } : {});
  }
  if (heldElsewhere.size >= 10_000) heldElsewhere.clear();
  heldElsewhere.set(directory, Date.now() + 30_000);
  return false;
}

/**
 * `.<name>.aio-<random>.tmp`, or with `.tmp~` at the end when no sweep may
 * remove it (its writer could not lock the directory).
 */
function tempName(name: string, sweepable: boolean): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  const hex = Array.from(random, (byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return `.${shortened(name)}.aio-${hex}.tmp${sweepable ? "" : "~"}`;
}

/**
 * `name` cut to at most 200 bytes of UTF-8, at a character's boundary, so
 * that the temporary name stays within the 255-byte limit of most file
 * systems.
 */
function shortened(name: string): string {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length <= 200) return name;
  let end = 200;
  while ((bytes[end]! & 0xc0) === 0x80) end--; // not inside a character
  return new TextDecoder().decode(bytes.subarray(0, end));
}
