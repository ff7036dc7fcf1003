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
  // Some errno errors Deno leaves a plain Error without a code (ENXIO:
  // opening a socket file); their message ends with the OS error.
  const fromOs = isDenoError(error) || / \(os error \d+\)/.test(error.message);
  if (!fromOs && typeof code !== "string") return error;
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

/** Maps the error of a file-system call to the error to throw. */
export type Fail = (error: unknown) => unknown;

/**
 * Awaits a file-system call of the library's own, turning its error into
 * `fail(error)` (usually an {@linkcode fsError}). Only such calls are
 * wrapped: what a caller's data source throws passes through unchanged.
 *
 * @param call The pending call, e.g. `Deno.open(path)`.
 * @param fail Maps the call's error to the error to throw.
 */
export async function fsCall<T>(call: Promise<T>, fail: Fail): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw fail(error);
  }
}

/**
 * The `fail` of a writer's file-system calls: {@linkcode fsError} with a
 * NotFound that names the missing `directory`.
 */
export function writeFailure(
  action: string,
  path: string,
  directory: string,
): Fail {
  return (error) =>
    fsError(error, action, path, {
      NotFound: `the directory "${directory}" does not exist`,
    });
}

// "File name too long (os error 36): open '/x'" -> "file name too long".
function osReason(message: string): string {
  const text = message.replace(/ \(os error \d+\).*$/s, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}
