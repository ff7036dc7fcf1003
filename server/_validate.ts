/**
 * Option checks shared by the servers, the longest timeout a timer can
 * wait, the pause after a failed accept, and the error of an address that
 * cannot be listened on. Messages read `Cannot serve: "<name>" must be ...,
 * received <value>`.
 *
 * @module
 */

import { badNumber, formatAddr, show } from "../_show.ts";

/**
 * The longest delay `setTimeout` honours; a longer one fires at once. A
 * timeout above it is treated as `Infinity`.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * How long a server waits to accept again after accepting failed (EMFILE:
 * out of file descriptors), so as not to spin.
 */
export const ACCEPT_RETRY_DELAY = 100;

/**
 * Throws a `TypeError` unless `value` is a function; `must` says what else
 * passes (`a boolean or a function`).
 */
export function assertFunction(
  name: string,
  value: unknown,
  must = "a function",
): void {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot serve: "${name}" must be ${must}, received ${show(value)}`,
    );
  }
}

/** Throws a `TypeError` unless `value` is a non-empty string. */
export function assertString(name: string, value: unknown): void {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot serve: "${name}" must be a non-empty string, received ${
        show(value)
      }`,
    );
  }
}

/** Throws a `TypeError` unless `value` is a boolean. */
export function assertBoolean(name: string, value: unknown): void {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot serve: "${name}" must be a boolean, received ${show(value)}`,
    );
  }
}

/**
 * Throws unless `value` is an integer from 0 to 65535: a `RangeError` for
 * another number, a `TypeError` for anything else (`"80"`).
 */
export function assertPort(value: unknown): void {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 0 ||
    value > 65535
  ) {
    throw badNumber(
      "Cannot serve",
      "port",
      "an integer from 0 to 65535",
      value,
    );
  }
}

/**
 * Throws unless `value` is a positive number (`zero`: or 0), an integer if
 * `integer` is set, or `Infinity` unless `infinity` is `false`. A number out
 * of range is a `RangeError`, anything else (`"5"`) a `TypeError`; `action`
 * names what cannot be done.
 */
export function assertLimit(
  name: string,
  value: unknown,
  { integer = false, zero = false, infinity = true, action = "serve" } = {},
): void {
  const ok = typeof value === "number" &&
    ((infinity && value === Infinity) ||
      (Number.isFinite(value) && (zero ? value >= 0 : value > 0) &&
        (!integer || Number.isInteger(value))));
  if (!ok) {
    const kind = `${zero ? "non-negative" : "positive"} ${
      integer ? "integer" : "number"
    }`;
    throw badNumber(
      `Cannot ${action}`,
      name,
      `a ${kind}${infinity ? " or Infinity" : ""}`,
      value,
    );
  }
}

/**
 * An error of `Deno.listen` or `Deno.serve` (address in use, not available,
 * a host name that does not resolve) with a message that names the address,
 * which Deno's does not: the same class and `code`, Deno's error as
 * `cause`. Argument errors and permission errors (whose message names the
 * address already) are returned as they are.
 */
export function listenFailure(
  error: unknown,
  hostname: string,
  port: number,
): unknown {
  if (
    !(error instanceof Error) || error instanceof TypeError ||
    error instanceof RangeError || error instanceof Deno.errors.NotCapable
  ) {
    return error;
  }
  const Class = error.constructor as new (
    message: string,
    options: ErrorOptions,
  ) => Error;
  const address = formatAddr({ transport: "tcp", hostname, port });
  const failure = new Class(`Cannot listen on ${address}: ${error.message}`, {
    cause: error,
  });
  const { code } = error as { code?: unknown };
  if (code !== undefined) Object.assign(failure, { code });
  return failure;
}
