/**
 * How the library's messages show the values they name: what an argument
 * error received (`Cannot gather: "concurrency" must be ..., received "5"`),
 * excerpts of text from a peer or a file, and network addresses; and what
 * every area's argument checks share: the error for a bad number, the checks
 * of an options object, of a `signal` option and of an HTTP method's
 * syntax. Private to the package.
 *
 * @module
 */

const MAX_SHOWN_CHARS = 60;

/**
 * `value` for the "received ..." of a message: strings quoted (`"5"` is not
 * `5`), cut to 60 characters and with invisible characters escaped; numbers,
 * booleans, `null`, `undefined` and symbols as they print, a bigint with its
 * `n`, and no object's contents: `a function`, `an array`, `an object`, or
 * `an instance of Map`.
 */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return escapeInvisible(
        JSON.stringify(excerpt(value, MAX_SHOWN_CHARS)),
      );
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object":
      return value === null ? "null" : showObject(value);
    default:
      return String(value);
  }
}

function showObject(value: object): string {
  try {
    if (Array.isArray(value)) return "an array";
    const prototype = Object.getPrototypeOf(value);
    const name = prototype?.constructor?.name;
    if (prototype !== Object.prototype && prototype !== null && name) {
      return `an instance of ${name}`;
    }
  } catch {
    // A revoked Proxy, or a constructor getter that throws.
  }
  return "an object";
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddr(addr: Deno.NetAddr): string {
  // A host name given as "[::1]" (Deno takes it so) has its brackets.
  const host = addr.hostname.includes(":") && !addr.hostname.startsWith("[")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${host}:${addr.port}`;
}

/**
 * The first `max` characters of `text` and an ellipsis if there are more,
 * not cutting a surrogate pair in two.
 */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  const high = text.charCodeAt(max - 1);
  const end = high >= 0xd800 && high <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/**
 * `text` with control characters (tab aside) and those that reorder or hide
 * text (bidirectional overrides, zero-width characters, soft hyphens)
 * written as escapes (`\u001b`), so that text from a server or a file cannot
 * put terminal escape sequences or spoofed text into a log through an error
 * message.
 */
export function escapeInvisible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}]/gu, (c) => {
    if (c === "\t") return c;
    const code = c.codePointAt(0)!;
    return code > 0xffff
      ? `\\u{${code.toString(16)}}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * Throws a `TypeError` unless `signal` is `undefined` or an `AbortSignal`;
 * `where` starts the message (`Cannot serve`).
 */
export function checkSignal(signal: unknown, where: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${where}: "signal" must be an AbortSignal, received ${show(signal)}`,
    );
  }
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
    `${where}: "${name}" must be ${must}, received ${show(value)}`,
  );
}

/**
 * Throws a `TypeError` unless `options` is an object (a string or `null`
 * would otherwise pass as no options, or fail deep inside); `where` starts
 * the message (`Cannot wait`).
 */
export function checkObject(
  options: unknown,
  where: string,
): asserts options is object {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${where}: "options" must be an object, received ${show(options)}`,
    );
  }
}

/** An HTTP method is a token (RFC 9110 §5.6.2): what this matches. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
