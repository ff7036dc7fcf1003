/**
 * Request bodies limited while they arrive.
 *
 * @module
 */

/**
 * Passes `body` through while its running size stays within `limit` bytes.
 * The chunk that would go past the limit is dropped, the stream errors with
 * `onExceeded()`'s error, and the source is cancelled, so nothing past the
 * limit is buffered. A read of the source that fails (the client went away
 * mid-body) is handed to `onBroken` before the stream errors with it: Deno
 * aborts no signal for a client that leaves while its body is being read
 * (denoland/deno#21653).
 *
 * Nothing is read ahead, and the source is locked only by the first read:
 * Deno lets go of a body that nobody locked once the request is answered.
 *
 * `LimitedBytesTransformStream` from `@std/streams` errors the same way, but
 * the server must learn that the limit was hit even when a handler swallows
 * the error, to answer 413 instead of the handler's reply.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  limit: number,
  onExceeded: () => Error,
  onBroken: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= body.getReader();
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (error) {
        onBroken(error);
        throw error;
      }
      if (step.done) {
        controller.close();
        return;
      }
      size += step.value.byteLength;
      if (size > limit) {
        const error = onExceeded();
        controller.error(error);
        await reader.cancel(error).catch(() => {});
        return;
      }
      controller.enqueue(step.value);
    },
    cancel(reason) {
      return (reader ?? body).cancel(reason);
    },
  }, { highWaterMark: 0 });
}
