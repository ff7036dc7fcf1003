/**
 * {@linkcode download}: a URL streamed to a file, atomically (a temporary
 * file in the same directory, renamed over the target at the end), checked
 * against `Content-Length`, and never left half-written.
 *
 * @example Downloading a file
 * ```ts
 * import { download } from "@aio/aio/client/download";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("a,b\n1,2\n"),
 * );
 * const dir = await Deno.makeTempDir();
 * try {
 *   const result = await download(
 *     `http://127.0.0.1:${server.addr.port}/data.csv`,
 *     `${dir}/data.csv`,
 *   );
 *   assertEquals(result.size, 8);
 *   assertEquals(await Deno.readTextFile(`${dir}/data.csv`), "a,b\n1,2\n");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 *
 * @module
 */

import { downloadWith } from "./_download.ts";
import { DEFAULT_SENDER } from "./_send.ts";
import type { RequestOptions } from "./request.ts";

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { HttpError, NetworkError, TimeoutError } from "./errors.ts";

/**
 * What {@linkcode DownloadOptions.onProgress} is told.
 *
 * @example Progress of a body of unknown size
 * ```ts
 * import { download, type DownloadProgress } from "@aio/aio/client/download";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const chunk = new Uint8Array(1_000);
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   // A streamed body is sent without a Content-Length.
 *   () => new Response(ReadableStream.from([chunk, chunk, chunk])),
 * );
 * await using dir = await makeTempDir();
 * const seen: DownloadProgress[] = [];
 * await download(`http://127.0.0.1:${server.addr.port}/`, `${dir.path}/log.bin`, {
 *   onProgress: (progress) => seen.push({ ...progress }),
 * });
 * assertEquals(seen.at(-1), { loaded: 3_000, total: undefined });
 * assert(seen.every((p, i) => i === 0 || p.loaded > seen[i - 1]!.loaded));
 * ```
 */
export interface DownloadProgress {
  /** Bytes written so far (after decompression, if any). */
  loaded: number;
  /** The expected size from `Content-Length`, when the server sent one. */
  total: number | undefined;
}

/**
 * Options of {@linkcode download}.
 *
 * @example A private file, not flushed to the disk
 * ```ts
 * import { download, type DownloadOptions } from "@aio/aio/client/download";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("token=abc\n"),
 * );
 * await using dir = await makeTempDir();
 * const options: DownloadOptions = { fileMode: 0o600, fsync: false, timeout: 5_000 };
 * await download(`http://127.0.0.1:${server.addr.port}/`, `${dir.path}/app.env`, options);
 * const info = await Deno.stat(`${dir.path}/app.env`);
 * assertEquals(info.mode! & 0o777, 0o600);
 * assertEquals(await Deno.readTextFile(`${dir.path}/app.env`), "token=abc\n");
 * ```
 */
export interface DownloadOptions extends RequestOptions {
  /**
   * Called after each chunk is received. If it throws, the download fails
   * with that error and no file is left.
   *
   * @default {undefined}
   */
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  /**
   * Permission bits of the file (e.g. `0o600`); when left out an existing
   * file keeps its permissions and a new one gets `0o666` minus the umask.
   *
   * @default {undefined}
   */
  fileMode?: number | undefined;
  /**
   * Whether to flush the file and its directory to the disk before
   * resolving, so the download also survives a power loss.
   *
   * @default {true}
   */
  fsync?: boolean | undefined;
}

/**
 * What {@linkcode download} resolves to.
 *
 * @example Where a redirect led, and what came back
 * ```ts
 * import { download, type DownloadResult } from "@aio/aio/client/download";
 * import { makeTempDir } from "@aio/aio/fs";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) =>
 *     new URL(req.url).pathname === "/latest"
 *       ? Response.redirect(new URL("/v2.csv", req.url), 302)
 *       : new Response("a,b\n", { headers: { "content-type": "text/csv" } }),
 * );
 * await using dir = await makeTempDir();
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const result: DownloadResult = await download(`${base}/latest`, `${dir.path}/data.csv`);
 * assertEquals(result.url, `${base}/v2.csv`);
 * assertEquals(result.path, `${dir.path}/data.csv`);
 * assertEquals(result.size, 4);
 * assertEquals(result.headers.get("content-type"), "text/csv");
 * ```
 */
export interface DownloadResult {
  /** The URL the file came from, after redirects. */
  url: string;
  /** Where the file was written. */
  path: string;
  /** How many bytes were written. */
  size: number;
  /** The response headers (`content-type`, `etag`, ...). */
  headers: Headers;
}

/**
 * Downloads `url` to the file `path`, streaming the body to disk chunk by
 * chunk (never holding it whole in memory). The body goes to a temporary
 * file in the same directory that replaces `path` only once every byte has
 * arrived, so `path` holds the old content or the complete new one, never a
 * part. When the server sent a `Content-Length` (and no `Content-Encoding`),
 * the byte count must match it.
 *
 * On any failure (status, network, timeout, abort, short body) the temporary
 * file is removed and `path` is left as it was. With `retry`, a failed attempt
 * starts over from the first byte. `timeout` covers the whole transfer of
 * one attempt: raise it (or pass `Infinity`) for large files.
 *
 * Needs `--allow-net` for the URL and `--allow-read` and `--allow-write` for
 * the directory of `path`.
 *
 * @param url The absolute URL to download.
 * @param path The file to write, as a path or a `file:` URL; its directory
 * must exist.
 * @param options `onProgress`, `fileMode`, `fsync`, and {@linkcode RequestOptions}
 * (`timeout`, `retry`, `signal`, `headers`, ...).
 * @returns Where the file came from, where it went and its size.
 * @throws {NetworkError} If the connection fails or the body is shorter than
 * its `Content-Length`.
 * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
 * @throws {TimeoutError} If an attempt or the whole call runs out of time.
 * @throws {TypeError} If `url` or `path` is not valid, or an option has the
 * wrong type.
 * @throws {RangeError} If a timeout, retry or `fileMode` option is out of
 * range.
 * @throws {Deno.errors.NotSupported} If `path` is a FIFO, a device or a
 * socket, which the atomic rename would remove.
 * @throws {Deno.errors.NotFound} If the directory of `path` does not exist.
 * @throws {unknown} `signal.reason` when `signal` aborts, or what
 * `onProgress` throws.
 *
 * @example Watching the progress
 * ```ts
 * import { download } from "@aio/aio/client/download";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response(new Uint8Array(100_000)),
 * );
 * const dir = await Deno.makeTempDir();
 * try {
 *   let last = { loaded: 0, total: undefined as number | undefined };
 *   await download(`http://127.0.0.1:${server.addr.port}/`, `${dir}/zeros.bin`, {
 *     onProgress: (progress) => last = progress,
 *   });
 *   assertEquals(last, { loaded: 100_000, total: 100_000 });
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function download(
  url: string | URL,
  path: string | URL,
  options?: DownloadOptions,
): Promise<DownloadResult> {
  return downloadWith(DEFAULT_SENDER, url, path, options);
}
