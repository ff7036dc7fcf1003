/**
 * Argument checks shared by the concurrency tools of `client/`. Private to
 * `client/`.
 *
 * @module
 */

/** `typeof value`, with `null` named, for the "received ..." of messages. */
export function kind(value: unknown): string {
  return value === null ? "null" : typeof value;
}

/**
 * `value` for the "received ..." of a message about a bad option: strings
 * quoted (`"5"` is not `5`), objects by their kind, the rest as they print.
 */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return "object";
  }
  return typeof value === "function" ? "function" : String(value);
}

/**
 * The error for a bad numeric option, `${where}: "${name}" must be ${must},
 * received ...`: a `RangeError` for a number out of range, a `TypeError`
 * for anything else (`"5"`).
 */
export function badNumber(
  where: string,
  name: string,
  must: string,
  value: unknown,
): Error {
  const Class = typeof value === "number" ? RangeError : TypeError;
  return new Class(
    `${where}: "${name}" must be ${must}, received ${shown(value)}`,
  );
}

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
      `${where}: "${name}" must be a boolean, received ${shown(value)}`,
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
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${where}: "options" must be an object, received ${kind(options)}`,
    );
  }
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${where}: "signal" must be an AbortSignal, received ${kind(signal)}`,
    );
  }
  return options;
}
