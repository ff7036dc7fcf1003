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
 * (denoland/deno#21653). Aborting `signal` cancels the source and errors the
 * stream with its reason: Deno leaves the resource of a body it no longer
 * owns open until then.
 *
 * `LimitedBytesTransformStream` from `@std/streams` errors the same way, but
 * the server must learn that the limit was hit even when a handler swallows
 * the error, to answer 413 instead of the handler's reply.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  limit: number,
  signal: AbortSignal,
  onExceeded: () => Error,
  onBroken: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  signal.addEventListener(
    "abort",
    () => reader.cancel(signal.reason).catch(() => {}),
    { once: true },
  );
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (error) {
        onBroken(error);
        throw error;
      }
      // Cut off, not ended: what was read must not pass for the whole body.
      signal.throwIfAborted();
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
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
