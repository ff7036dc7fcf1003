/**
 * Argument checks shared by the concurrency tools of `client/`. Private to
 * `client/`.
 *
 * @module
 */

import { checkObject, checkSignal, show } from "../_show.ts";

/**
 * Throws a `TypeError` unless `value` is a boolean: a string such as
 * `"false"` would otherwise count as true.
 */
export function checkBoolean(
  where: string,
  name: string,
  value: unknown,
): void {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `${where}: "${name}" must be a boolean, received ${show(value)}`,
    );
  }
}

/**
 * Returns `options` if it is an object whose `signal`, if any, is an
 * `AbortSignal`; `where` starts the message (`Cannot wait`).
 *
 * @throws {TypeError} Otherwise.
 */
export function checkOptions<
  T extends { signal?: AbortSignal | undefined },
>(
  options: T,
  where: string,
): T {
  checkObject(options, where);
  checkSignal(options.signal, where);
  return options;
}

/**
 * Throws a `TypeError` for an option of another library that this one does
 * not take (`foreign` maps its name to what to do instead).
 */
export function refuseForeign(
  options: object,
  foreign: Record<string, string>,
  where: string,
): void {
  for (const name in foreign) {
    // Own properties only: a Request given as options has `json()`.
    if (
      Object.hasOwn(options, name) &&
      (options as Record<string, unknown>)[name] !== undefined
    ) {
      throw new TypeError(
        `${where}: "${name}" is not an option here: ${foreign[name]}`,
      );
    }
  }
}
