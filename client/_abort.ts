/**
 * Abort reasons for the concurrency helpers. Private to `client/`.
 *
 * @module
 */

/**
 * An `AbortError` `DOMException`, the conventional abort reason (what
 * `AbortSignal.abort()` uses), with an optional `cause` telling why.
 *
 * @param message "Cannot <action>: <why>".
 * @param cause The error that made the helper abort, if any.
 * @returns The reason to abort with.
 */
export function abortError(message: string, cause?: unknown): DOMException {
  const error = new DOMException(message, "AbortError");
  if (cause !== undefined) {
    // The `DOMException(message, { name, cause })` form is not in Deno's
    // types yet.
    Object.defineProperty(error, "cause", {
      value: cause,
      writable: true,
      configurable: true,
    });
  }
  return error;
}
