/**
 * Request bodies limited while they arrive.
 *
 * @module
 */

/**
 * Passes `body` through while its running size stays within `limit` bytes.
 * The chunk that would go past the limit is dropped, the stream errors with
 * `onExceeded()`'s error, and the source is cancelled, so nothing past the
 * limit is buffered.
 *
 * `LimitedBytesTransformStream` from `@std/streams` errors the same way, but
 * the server must learn that the limit was hit even when a handler swallows
 * the error, to answer 413 instead of the handler's reply.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  limit: number,
  onExceeded: () => Error,
): ReadableStream<Uint8Array> {
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > limit) {
          controller.error(onExceeded());
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}
