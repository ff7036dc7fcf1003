// Path helpers private to fs/: @std/path is not among our dependencies, and
// these few operations on the caller's own path are all the area needs.

const WINDOWS = Deno.build.os === "windows";

/**
 * `path` as a string: a `file:` URL becomes its path, a string is returned as
 * it is.
 */
export function toPath(path: string | URL, action: string): string {
  if (typeof path === "string") {
    if (path.length === 0) {
      throw new TypeError(`Cannot ${action}: "path" must not be empty`);
    }
    return path;
  }
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(
        `Cannot ${action}: "path" must be a file URL, received "${path.href}"`,
      );
    }
    const decoded = decodeURIComponent(path.pathname);
    // "file:///C:/x" has the pathname "/C:/x".
    return WINDOWS ? decoded.slice(1).replaceAll("/", "\\") : decoded;
  }
  throw new TypeError(
    `Cannot ${action}: "path" must be a string or a URL, received ${
      describe(path)
    }`,
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
