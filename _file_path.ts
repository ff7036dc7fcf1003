/**
 * A caller's path argument (a string or a `file:` URL) as the path string
 * Deno's file functions take, for the `fs/` helpers and `download()`.
 * Private to the package.
 *
 * @module
 */

import { show } from "./_show.ts";

/** Whether paths are Windows paths. */
export const WINDOWS = Deno.build.os === "windows";

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
      show(path)
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
