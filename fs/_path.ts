// Path and argument helpers private to fs/: @std/path is not among our
// dependencies, and these few operations on the caller's own path are all
// the area needs.

const WINDOWS = Deno.build.os === "windows";

/**
 * `path` as a string: a `file:` URL becomes its path, as Deno's own
 * functions read it (a `%` not followed by two hex digits stands for
 * itself), a string is returned as it is.
 */
export function toPath(path: string | URL, action: string): string {
  if (typeof path === "string") {
    if (path.length === 0) {
      throw new TypeError(`Cannot ${action}: "path" must not be empty`);
    }
    return path;
  }
  if (path instanceof URL) return fileUrlPath(path, action);
  throw new TypeError(
    `Cannot ${action}: "path" must be a string or a URL, received ${
      describe(path)
    }`,
  );
}

function fileUrlPath(url: URL, action: string): string {
  const fail = (problem: string) =>
    new TypeError(
      `Cannot ${action}: "path" must be a file URL${problem}, received "${url.href}"`,
    );
  if (url.protocol !== "file:") throw fail("");
  // A host names another machine: a UNC path on Windows, an error elsewhere.
  if (url.hostname !== "" && !WINDOWS) throw fail(" without a host");
  let decoded: string;
  try {
    decoded = decodeURIComponent(
      url.pathname.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"),
    );
  } catch {
    throw fail(" whose path is valid UTF-8");
  }
  if (!WINDOWS) return decoded;
  // "file:///C:/x" has the pathname "/C:/x".
  const path = decoded.replaceAll("/", "\\");
  return url.hostname === "" ? path.slice(1) : `\\\\${url.hostname}${path}`;
}

/**
 * Throws a TypeError unless `options` is an object; `context` starts the
 * message, e.g. `Cannot write "a.txt"`.
 */
export function checkOptions(
  options: unknown,
  context: string,
): asserts options is object {
  if (options !== null && typeof options === "object") return;
  throw new TypeError(
    `${context}: "options" must be an object, received ${describe(options)}`,
  );
}

function lastSeparator(path: string): number {
  const slash = path.lastIndexOf("/");
  return WINDOWS ? Math.max(slash, path.lastIndexOf("\\")) : slash;
}

/** The directory part of `path` ("." when it has none). */
export function dirname(path: string): string {
  const index = lastSeparator(path);
  if (index === -1) return ".";
  if (index === 0) return path.slice(0, 1);
  return path.slice(0, index);
}

/** The last component of `path`. */
export function basename(path: string): string {
  return path.slice(lastSeparator(path) + 1);
}

/** `directory` joined with a file `name`. */
export function join(directory: string, name: string): string {
  if (directory === ".") return name;
  const separator = WINDOWS ? "\\" : "/";
  return directory.endsWith("/") || directory.endsWith(separator)
    ? directory + name
    : directory + separator + name;
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = value.constructor?.name;
    return name ? `an instance of ${name}` : "an object";
  }
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `bigint ${value}n`;
  return `${typeof value} ${String(value)}`;
}
