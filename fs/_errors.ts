// Turning Deno's file-system errors into errors that say which operation on
// which path failed.
//
// The error keeps its class (Deno.errors.NotFound stays NotFound, a plain
// Error with an errno `code` stays an Error with that code), so callers can
// keep writing `error instanceof Deno.errors.NotFound`; the message names the
// operation and the caller's path, and Deno's own error is the `cause`.

const REASONS: Record<string, string> = {
  NotFound: "no such file or directory",
  PermissionDenied: "permission denied",
  IsADirectory: "it is a directory",
  NotADirectory: "a parent of the path is not a directory",
  FilesystemLoop: "too many levels of symbolic links",
  AlreadyExists: "it already exists",
};

function isDenoError(error: Error): boolean {
  return Object.values(Deno.errors).some((type) => error instanceof type);
}

/**
 * An error like `error` whose message names `action` and `path`, with
 * `error` as its cause. Errors that do not come from the file system (a
 * TypeError from a bad chunk, an abort reason, our own errors) are returned
 * unchanged.
 *
 * @param error What was thrown.
 * @param action The operation, e.g. `write` or `read lines from`.
 * @param path The path the caller passed.
 * @param reasons Messages that fit the operation better than the generic
 * ones, by Deno error class name (e.g. `{ NotFound: "..." }`).
 */
export function fsError(
  error: unknown,
  action: string,
  path: string,
  reasons: Record<string, string> = {},
): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const fromDeno = isDenoError(error);
  if (!fromDeno && typeof code !== "string") return error;
  const name = error.constructor.name;
  const reason = reasons[name] ?? REASONS[name] ?? osReason(error.message);
  const Type = error.constructor as ErrorConstructor;
  const wrapped = new Type(`Cannot ${action} "${path}": ${reason}`, {
    cause: error,
  });
  if (typeof code === "string") {
    Object.defineProperty(wrapped, "code", {
      value: code,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return wrapped;
}

// "File name too long (os error 36): open '/x'" -> "file name too long".
function osReason(message: string): string {
  const text = message.replace(/ \(os error \d+\).*$/s, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}
