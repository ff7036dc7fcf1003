/**
 * The download loop behind `download()` and `Client.download()`. Private to
 * `client/`.
 *
 * @module
 */

import { writeFileAtomic } from "../fs/atomic.ts";
import { toPath } from "../_file_path.ts";
import { badNumber, checkObject, show } from "../_show.ts";
import { checkBoolean } from "./_args.ts";
import { declaredLength } from "./_body.ts";
import type { Attempt, Sender } from "./_send.ts";
import type { DownloadOptions, DownloadResult } from "./download.ts";
import { NetworkError } from "./errors.ts";

const WHERE = "Cannot download";

/**
 * Checks the arguments, then downloads `url` to `path` through `sender`.
 *
 * @throws {TypeError} If `path` or an option has the wrong type.
 * @throws {RangeError} If `fileMode` is out of range.
 */
export async function downloadWith(
  sender: Sender,
  url: string | URL,
  path: string | URL,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  checkObject(options, WHERE);
  const { onProgress, fileMode, fsync = true, ...requestOptions } = options;
  const target = toPath(path, "download");
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new TypeError(
      `${WHERE}: "onProgress" must be a function, received ${show(onProgress)}`,
    );
  }
  if (
    fileMode !== undefined &&
    !(Number.isInteger(fileMode) && fileMode >= 0 && fileMode <= 0o7777)
  ) {
    throw badNumber(WHERE, "fileMode", "an integer from 0 to 0o7777", fileMode);
  }
  checkBoolean(WHERE, "fsync", fsync);
  return await sender.call(
    url,
    requestOptions,
    async (response: Response, attempt: Attempt): Promise<DownloadResult> => {
      const total = expectedLength(response, attempt.target.method);
      const chunks = counted(response, attempt, total, onProgress);
      try {
        await writeFileAtomic(path, chunks.stream, {
          mode: fileMode,
          fsync,
          signal: attempt.signal,
        });
      } catch (error) {
        // A write that failed on the disk side leaves the body unread.
        await chunks.cancel();
        throw attempt.signal?.aborted ? attempt.fail(error) : error;
      }
      return {
        url: response.url || attempt.target.url,
        path: target,
        size: chunks.loaded(),
        headers: response.headers,
      };
    },
  );
}

/**
 * The size `Content-Length` promises for the decoded body (see
 * `declaredLength`). A HEAD, 204 or 304 response has no body whatever the
 * header says.
 */
function expectedLength(
  response: Response,
  method: string,
): number | undefined {
  if (method === "HEAD" || response.status === 204 || response.status === 304) {
    return undefined;
  }
  return declaredLength(response);
}

/**
 * The body as a stream that counts bytes, reports progress, maps read errors
 * (a timeout, a cut connection) and fails if the body ends short of `total`,
 * so the partial file is thrown away. Whatever ends it early cancels the
 * response body too.
 */
function counted(
  response: Response,
  attempt: Attempt,
  total: number | undefined,
  onProgress: DownloadOptions["onProgress"],
): {
  stream: ReadableStream<Uint8Array>;
  loaded: () => number;
  cancel: () => Promise<void>;
} {
  let loaded = 0;
  const reader = response.body?.getReader();
  const cancel = async (reason?: unknown) => {
    await reader?.cancel(reason).catch(() => {});
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let step: ReadableStreamReadResult<Uint8Array> | undefined;
      try {
        step = await reader?.read();
      } catch (error) {
        await cancel(error);
        throw attempt.fail(error);
      }
      if (step === undefined || step.done) {
        if (total !== undefined && loaded !== total) {
          const { url, method } = attempt.target;
          throw new NetworkError(
            `Cannot ${method} "${url}": the body ended after ${loaded} of ${total} bytes`,
            { url, method, attempts: attempt.number },
          );
        }
        controller.close();
        return;
      }
      loaded += step.value.length;
      try {
        onProgress?.({ loaded, total });
      } catch (error) {
        // The caller's own error: thrown as it is, and never retried.
        await cancel(error);
        throw error;
      }
      controller.enqueue(step.value);
    },
    cancel,
  }, { highWaterMark: 0 });
  return { stream, loaded: () => loaded, cancel };
}
