/**
 * Retry policy of the HTTP client: which failures are retried, how long to
 * wait between attempts ({@linkcode exponentialBackoff}, or the server's
 * `Retry-After`, read with {@linkcode parseRetryAfter}), and the defaults.
 *
 * Pass a {@linkcode RetryOptions} (or a number of attempts) as the `retry`
 * option of `request`, `fetchText`, `fetchJson`, `fetchBytes`, `paginate`,
 * `download` or `Client`.
 *
 * @example Retrying a flaky endpoint
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * let calls = 0;
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => ++calls < 3 ? new Response("busy", { status: 503 }) : new Response("ok"),
 * );
 * const text = await fetchText(`http://127.0.0.1:${server.addr.port}/`, {
 *   retry: { attempts: 3, backoff: () => 10 },
 * });
 * assertEquals(text, "ok");
 * assertEquals(calls, 3);
 * ```
 *
 * @module
 */

import { badNumber, checkObject, show } from "../_show.ts";

/**
 * The statuses retried by default: 408 Request Timeout, 429 Too Many
 * Requests, 500 Internal Server Error, 502 Bad Gateway, 503 Service
 * Unavailable and 504 Gateway Timeout.
 *
 * @example Retrying one more status than the defaults
 * ```ts
 * import { Client } from "@aio/aio/client/client";
 * import { RETRY_STATUSES } from "@aio/aio/client/retry";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(RETRY_STATUSES, [408, 429, 500, 502, 503, 504]);
 * let calls = 0;
 * await using client = new Client({
 *   // A stub for the server: 409 Conflict once, then the answer.
 *   fetch: () => Promise.resolve(new Response("ok", { status: ++calls === 1 ? 409 : 200 })),
 *   retry: { retryOn: [...RETRY_STATUSES, 409], backoff: () => 10 },
 * });
 * assertEquals(await client.text("http://api.test/lock"), "ok");
 * assertEquals(calls, 2);
 * ```
 */
export const RETRY_STATUSES: readonly number[] = Object.freeze([
  408,
  429,
  500,
  502,
  503,
  504,
]);

/**
 * The methods retried by default: the idempotent ones of RFC 9110 §9.2.2,
 * which a server may safely receive twice.
 *
 * @example Retrying POST too, for a server that can take it twice
 * ```ts
 * import { Client } from "@aio/aio/client/client";
 * import { IDEMPOTENT_METHODS } from "@aio/aio/client/retry";
 * import { assert, assertEquals } from "@std/assert";
 *
 * assert(IDEMPOTENT_METHODS.includes("PUT"));
 * assert(!IDEMPOTENT_METHODS.includes("POST"));
 * const seen: string[] = [];
 * await using client = new Client({
 *   // A stub for the server: 503 once, then the answer.
 *   fetch: (_input, init) => {
 *     seen.push(String(init?.body));
 *     return Promise.resolve(new Response("created", { status: seen.length === 1 ? 503 : 201 }));
 *   },
 *   retry: { methods: [...IDEMPOTENT_METHODS, "POST"], backoff: () => 10 },
 * });
 * const body = JSON.stringify({ id: "order-1" });
 * assertEquals(await client.text("http://api.test/orders", { method: "POST", body }), "created");
 * assertEquals(seen, [body, body]);
 * ```
 */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze([
  "GET",
  "HEAD",
  "OPTIONS",
  "PUT",
  "DELETE",
  "TRACE",
]);

/**
 * What {@linkcode RetryOptions.onRetry} is told before each wait.
 *
 * @example Logging each retry
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { HttpError } from "@aio/aio/client/errors";
 * import type { RetryInfo } from "@aio/aio/client/retry";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * let calls = 0;
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => ++calls === 1 ? new Response("busy", { status: 503 }) : new Response("ok"),
 * );
 * const retries: RetryInfo[] = [];
 * const text = await fetchText(`http://127.0.0.1:${server.addr.port}/`, {
 *   retry: { backoff: () => 10, onRetry: (info) => retries.push(info) },
 * });
 * assertEquals(text, "ok");
 * assertEquals(retries.length, 1);
 * assertEquals(retries[0]!.attempt, 1);
 * assertEquals(retries[0]!.delay, 10);
 * assertInstanceOf(retries[0]!.error, HttpError);
 * assertEquals(retries[0]!.error.status, 503);
 * ```
 */
export interface RetryInfo {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** Why it failed: an `HttpError`, a `NetworkError` or a `TimeoutError`. */
  error: unknown;
  /** How long the client waits before the next attempt, in milliseconds. */
  delay: number;
}

/**
 * Options of the `retry` option of every client call.
 *
 * @example Giving up after two attempts
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { HttpError } from "@aio/aio/client/errors";
 * import type { RetryOptions } from "@aio/aio/client/retry";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * let calls = 0;
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => {
 *     calls++;
 *     return new Response("down", { status: 503, headers: { "retry-after": "3600" } });
 *   },
 * );
 * // Wait at most 20 ms, whatever Retry-After asks for.
 * const retry: RetryOptions = { attempts: 2, maxRetryAfter: 20 };
 * const error = await assertRejects(
 *   () => fetchText(`http://127.0.0.1:${server.addr.port}/`, { retry }),
 *   HttpError,
 * );
 * assertEquals(error.status, 503);
 * assertEquals(error.attempts, 2);
 * assertEquals(calls, 2);
 * ```
 */
export interface RetryOptions {
  /**
   * How many attempts in all, the first one included. 1 turns retrying off.
   *
   * @default {3}
   */
  attempts?: number | undefined;
  /**
   * Response statuses that are retried. Network errors and per-attempt
   * timeouts are always retried.
   *
   * @default {RETRY_STATUSES}
   */
  retryOn?: readonly number[] | undefined;
  /**
   * Methods that are retried, compared case-insensitively. Add `"POST"` or
   * `"PATCH"` only when the server can take the same request twice.
   *
   * @default {IDEMPOTENT_METHODS}
   */
  methods?: readonly string[] | undefined;
  /**
   * The wait before retry number `retry` (1 before the second attempt), in
   * milliseconds.
   *
   * @default {exponentialBackoff()}
   */
  backoff?: ((retry: number) => number) | undefined;
  /**
   * Whether a `Retry-After` header on a retried response (seconds or an HTTP
   * date) replaces the backoff.
   *
   * @default {true}
   */
  respectRetryAfter?: boolean | undefined;
  /**
   * The longest wait taken from `Retry-After`, in milliseconds; a longer
   * one is cut to this.
   *
   * @default {60_000}
   */
  maxRetryAfter?: number | undefined;
  /**
   * Called before each wait, for logging or metrics. What it throws (or an
   * async one rejects with) is logged with `console.error` and changes
   * nothing about the call.
   *
   * @default {undefined}
   */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/**
 * Options of {@linkcode exponentialBackoff}.
 *
 * @example Tripling waits, half of each random
 * ```ts
 * import { type ExponentialBackoffOptions, exponentialBackoff } from "@aio/aio/client/retry";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const options: ExponentialBackoffOptions = { delay: 50, multiplier: 3, maxDelay: 1_000 };
 * const exact = exponentialBackoff({ ...options, jitter: 0 });
 * assertEquals([1, 2, 3, 4].map(exact), [50, 150, 450, 1_000]);
 *
 * const jittered = exponentialBackoff({ ...options, jitter: 0.5 });
 * for (const retry of [1, 2, 3, 4]) {
 *   const wait = jittered(retry);
 *   assert(wait > exact(retry) / 2 && wait <= exact(retry));
 * }
 * ```
 */
export interface ExponentialBackoffOptions {
  /**
   * The wait before the first retry, before jitter, in milliseconds.
   *
   * @default {300}
   */
  delay?: number | undefined;
  /**
   * The factor each further retry multiplies the wait by.
   *
   * @default {2}
   */
  multiplier?: number | undefined;
  /**
   * The longest wait, before jitter, in milliseconds.
   *
   * @default {10_000}
   */
  maxDelay?: number | undefined;
  /**
   * The fraction of the wait that is random, from 0 (none: exactly `delay`,
   * `delay × multiplier`, ...) to 1 ("full jitter": anywhere between 0 and
   * the wait), so that many clients do not retry in lockstep.
   *
   * @default {1}
   */
  jitter?: number | undefined;
}

/**
 * Makes a backoff function: the wait before retry `n` is
 * `min(delay × multiplierⁿ⁻¹, maxDelay)`, of which the `jitter` fraction is
 * random.
 *
 * @param options The first wait, the growth, the cap and the jitter.
 * @returns A function from the retry number (1, 2, ...) to a wait in
 * milliseconds, for {@linkcode RetryOptions.backoff}.
 * @throws {TypeError} If an option is not a number.
 * @throws {RangeError} If an option is negative, `multiplier` is below 1 or
 * `jitter` is above 1.
 *
 * @example Waits without jitter
 * ```ts
 * import { exponentialBackoff } from "@aio/aio/client/retry";
 * import { assertEquals } from "@std/assert";
 *
 * const backoff = exponentialBackoff({ delay: 100, maxDelay: 500, jitter: 0 });
 * assertEquals([1, 2, 3, 4].map(backoff), [100, 200, 400, 500]);
 * ```
 */
export function exponentialBackoff(
  options: ExponentialBackoffOptions = {},
): (retry: number) => number {
  const where = "Cannot create backoff";
  checkObject(options, where);
  const { delay = 300, multiplier = 2, maxDelay = 10_000, jitter = 1 } =
    options;
  nonNegative(where, "delay", delay);
  nonNegative(where, "maxDelay", maxDelay);
  if (
    typeof multiplier !== "number" || !(multiplier >= 1) ||
    multiplier === Infinity
  ) {
    throw badNumber(where, "multiplier", "a finite number >= 1", multiplier);
  }
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw badNumber(where, "jitter", "between 0 and 1", jitter);
  }
  return (retry) => {
    // 0 × Infinity (a large retry number) would be NaN.
    const wait = delay === 0
      ? 0
      : Math.min(delay * multiplier ** (retry - 1), maxDelay);
    return wait * (1 - jitter * Math.random());
  };
}

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): a number of seconds, or an
 * HTTP date.
 *
 * @param value The header's value, or `null` when there is none.
 * @param now The current time for the date form, in ms since the epoch.
 * @returns How long to wait in milliseconds (0 for a date in the past), or
 * `undefined` when there is no header or it is not valid.
 * @throws {TypeError} If `value` is neither a string nor `null`, or `now`
 * not a number.
 * @throws {RangeError} If `now` is `NaN` or infinite.
 *
 * @example Both forms
 * ```ts
 * import { parseRetryAfter } from "@aio/aio/client/retry";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseRetryAfter("120"), 120_000);
 * const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
 * assertEquals(parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), 30_000);
 * assertEquals(parseRetryAfter("soon"), undefined);
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot parse Retry-After: the value must be a string or null, received ${
        show(value)
      }`,
    );
  }
  if (!Number.isFinite(now)) {
    throw badNumber(
      "Cannot parse Retry-After",
      "now",
      "a finite number of milliseconds",
      now,
    );
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

const DAYS = "Sun|Mon|Tue|Wed|Thu|Fri|Sat";
const LONG_DAYS = "Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday";
const MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec";
const TIME = "(?<h>\\d{2}):(?<m>\\d{2}):(?<s>\\d{2})";
/**
 * The three formats of an HTTP date (RFC 9110 section 5.6.7): the one
 * senders use, "Sun, 06 Nov 1994 08:49:37 GMT"; the obsolete RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT"; and asctime's "Sun Nov  6 08:49:37
 * 1994", which means GMT.
 */
const HTTP_DATES = [
  `^(?:${DAYS}), (?<d>\\d{2}) (?<mon>${MONTHS}) (?<y>\\d{4}) ${TIME} GMT$`,
  `^(?:${LONG_DAYS}), (?<d>\\d{2})-(?<mon>${MONTHS})-(?<y>\\d{2}) ${TIME} GMT$`,
  `^(?:${DAYS}) (?<mon>${MONTHS}) (?<d>[ \\d]\\d) ${TIME} (?<y>\\d{4})$`,
].map((source) => new RegExp(source));

/** An HTTP date as a time value, or `undefined` for anything else. */
function parseHttpDate(text: string, now: number): number | undefined {
  const groups = HTTP_DATES.map((format) => format.exec(text)?.groups)
    .find((found) => found !== undefined);
  if (groups === undefined) return undefined;
  let year = Number(groups.y);
  if (groups.y!.length === 2) {
    // A two-digit year more than 50 years ahead is in the past century.
    year += 2000;
    while (year > new Date(now).getUTCFullYear() + 50) year -= 100;
  }
  const [day, hours, minutes, seconds] = [
    groups.d,
    groups.h,
    groups.m,
    groups.s,
  ]
    .map(Number) as [number, number, number, number];
  const month = MONTHS.split("|").indexOf(groups.mon!);
  const at = Date.UTC(year, month, day, hours, minutes, seconds);
  // Date.UTC rolls "31 Feb" or "25:00" over; a real date survives the trip.
  const date = new Date(at);
  if (
    date.getUTCDate() !== day || date.getUTCHours() !== hours ||
    date.getUTCMinutes() !== minutes || date.getUTCSeconds() !== seconds
  ) return undefined;
  return at;
}

function nonNegative(where: string, name: string, value: number): void {
  if (typeof value !== "number" || !(value >= 0)) {
    throw badNumber(where, name, "a number >= 0", value);
  }
}
