// Path and argument helpers private to fs/: @std/path is not among our
// dependencies, and these few operations on the caller's own path are all
// the area needs. `toPath` is in ../_file_path.ts: download() needs it too.

import { WINDOWS } from "../_file_path.ts";

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
