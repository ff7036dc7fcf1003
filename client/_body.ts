/**
 * Ways to consume a response inside an attempt's deadline: read it whole
 * (text, JSON, bytes, a response held in memory), at most the call's
 * `maxBodySize`, or hand it on with the deadline still guarding the body
 * ({@linkcode guardBody}). Private to `client/`.
 *
 * @module
 */

import { type Attempt, oneLine } from "./_send.ts";
import { BodyTooLargeError, ParseError } from "./errors.ts";

const PARSE_EXCERPT_CHARS = 100;

const UTF8 = new TextDecoder();

/** Responses whose body {@linkcode readWhole} holds in memory. */
const wholeResponses = new WeakSet<Response>();

/**
 * Reads the body as text, decoded by the charset its `Content-Type` names,
 * as aiohttp's `text()` does; UTF-8 (what `response.text()` decodes) when it
 * names none or one the runtime does not know.
 */
export async function readText(
  response: Response,
  attempt: Attempt,
): Promise<string> {
  const decoder = charsetDecoder(response.headers.get("content-type"));
  try {
    if (!fitsAsDeclared(response, attempt)) {
      return (decoder ?? UTF8).decode(await countedBytes(response, attempt));
    }
    return decoder === undefined
      ? await response.text()
      : decoder.decode(await response.bytes());
  } catch (error) {
    throw attempt.fail(error);
  }
}

/** A decoder for a `Content-Type`'s charset other than UTF-8. */
function charsetDecoder(type: string | null): TextDecoder | undefined {
  const label = type === null
    ? undefined
    : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
  // The common case, without building a decoder to learn it.
  if (label === undefined || /^utf-?8$/i.test(label)) return undefined;
  try {
    const decoder = new TextDecoder(label);
    return decoder.encoding === "utf-8" ? undefined : decoder;
  } catch {
    return undefined; // A label no decoder knows.
  }
}

/** Reads the body as bytes. */
export async function readBytes(
  response: Response,
  attempt: Attempt,
): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return fitsAsDeclared(response, attempt)
      ? await response.bytes()
      : await countedBytes(response, attempt);
  } catch (error) {
    throw attempt.fail(error);
  }
}

/**
 * Reads the body into memory and returns a response holding it, so that
 * a body cut off is retried like a failed request and `maxBodySize` holds.
 */
export async function readWhole(
  response: Response,
  attempt: Attempt,
): Promise<Response> {
  const bytes = await readBytes(response, attempt);
  const whole = copyResponse(response, bytes.byteLength === 0 ? null : bytes);
  wholeResponses.add(whole);
  return whole;
}

/** Whether `response` came from {@linkcode readWhole}. */
export function isWhole(response: Response): boolean {
  return wholeResponses.has(response);
}

/**
 * The body's bytes, counted as they arrive: at most `attempt.maxBodySize`
 * of them. For a body that {@linkcode fitsAsDeclared} does not take.
 */
async function countedBytes(
  response: Response,
  attempt: Attempt,
): Promise<Uint8Array<ArrayBuffer>> {
  const limit = attempt.maxBodySize;
  // Not null: fitsAsDeclared() takes a response without a body.
  const reader = response.body!.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(attempt, `${size} bytes arrived`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Whether the body can be read whole without counting: no limit, or a
 * `Content-Length` within it that is the body's size (not compressed, not
 * overridden by a transfer coding). A declared size over the limit fails
 * at once, the body cancelled.
 *
 * @throws {BodyTooLargeError} For a `Content-Length` over the limit.
 */
function fitsAsDeclared(response: Response, attempt: Attempt): boolean {
  const limit = attempt.maxBodySize;
  // No body (HEAD, 204, 304): a Content-Length there is a GET's.
  if (limit === Infinity || response.body === null) return true;
  const length = declaredLength(response);
  if (length === undefined) return false;
  if (length <= limit) return true;
  response.body?.cancel().catch(() => {});
  throw tooLarge(attempt, `Content-Length: ${length}`);
}

/**
 * The body's size as its `Content-Length` gives it, unless the body is
 * compressed (Deno's fetch decodes it) or sent with a transfer coding,
 * which overrides the length (RFC 9112 §6.3).
 */
export function declaredLength(response: Response): number | undefined {
  const { headers } = response;
  const length = headers.get("content-length");
  if (
    length === null || !/^\d+$/.test(length) ||
    headers.has("transfer-encoding") ||
    !/^(identity)?$/i.test(headers.get("content-encoding")?.trim() ?? "")
  ) {
    return undefined;
  }
  return Number(length);
}

/** The error of a body past the limit; `seen` says how it was found. */
function tooLarge(attempt: Attempt, seen: string): BodyTooLargeError {
  const { url, method } = attempt.target;
  const maxBodySize = attempt.maxBodySize;
  return new BodyTooLargeError(
    `Cannot ${method} "${url}": the response body is larger than the ${maxBodySize} bytes maxBodySize (${seen})`,
    { url, method, attempts: attempt.number, maxBodySize },
  );
}

/**
 * Reads the body as JSON.
 *
 * @throws {ParseError} If it is not JSON, quoting the start of the body.
 */
export async function readJson(
  response: Response,
  attempt: Attempt,
): Promise<unknown> {
  const text = await readText(response, attempt);
  try {
    return JSON.parse(text);
  } catch (error) {
    const { url, method } = attempt.target;
    const start = oneLine(text, PARSE_EXCERPT_CHARS);
    throw new ParseError(
      `Cannot parse the body of ${method} "${url}" as JSON: ${
        start ? `it starts with "${start}"` : "it is empty"
      }`,
      {
        url,
        method,
        attempts: attempt.number,
        body: text.slice(0, PARSE_EXCERPT_CHARS),
        cause: error,
      },
    );
  }
}

/**
 * Returns the response with its body still under the attempt's deadline,
 * signal and slots: they are released when the body is read to the end,
 * cancelled, fails, or the attempt aborts (the body then errors with the
 * abort reason, a `TimeoutError` for the deadline).
 */
export function guardBody(
  response: Response,
  attempt: Attempt,
): Promise<Response> {
  if (response.body === null) return Promise.resolve(response);
  const guarded = mapBodyErrors(response, attempt, true);
  attempt.keep();
  attempt.park(true);
  return Promise.resolve(guarded);
}

/**
 * {@linkcode mapBodyErrors} for a body that a caller's parser reads whole:
 * it also errors with a `BodyTooLargeError` past `maxBodySize`.
 *
 * @throws {BodyTooLargeError} For a `Content-Length` over the limit.
 */
export function limitBody(response: Response, attempt: Attempt): Response {
  const limit = fitsAsDeclared(response, attempt)
    ? Infinity
    : attempt.maxBodySize;
  return mapBodyErrors(response, attempt, false, limit);
}

/**
 * A copy of `response` whose body errors as {@linkcode Attempt.fail} maps
 * what reading it throws: a cut connection is a `NetworkError` naming the
 * URL (so it is retried), the deadline a `TimeoutError`; and with a
 * `limit`, a `BodyTooLargeError` once more bytes arrive. A `kept` attempt
 * is parked between reads and released once the body is read to the end,
 * fails or is cancelled.
 */
function mapBodyErrors(
  response: Response,
  attempt: Attempt,
  kept: boolean,
  limit = Infinity,
): Response {
  const source = response.body;
  if (source === null) return response;
  const reader = source.getReader();
  const ended = () => {
    if (kept) attempt.release();
  };
  let size = 0;
  const body = new ReadableStream<Uint8Array>({
    // Deno's fetch reaches the body through a weak reference to its
    // Response when the signal aborts: once the original is collected, a
    // deadline never reaches a body that stalls. The copy's body keeps it,
    // as long as anything reads it (the copy, a clone, the stream alone).
    original: response,
    async pull(controller) {
      if (kept) attempt.park(false);
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (error) {
        const failure = attempt.fail(error);
        ended();
        throw failure;
      }
      if (step.done) {
        ended();
        controller.close();
        return;
      }
      size += step.value.byteLength;
      if (size > limit) {
        ended();
        reader.cancel().catch(() => {});
        throw tooLarge(attempt, `${size} bytes arrived`);
      }
      controller.enqueue(step.value);
      if (kept) attempt.park(true);
    },
    cancel(reason) {
      ended();
      return reader.cancel(reason);
    },
  } as UnderlyingDefaultSource<Uint8Array>, { highWaterMark: 0 });
  return copyResponse(response, body);
}

/**
 * A new `Response` with `response`'s status, headers and URL and `body`. A
 * status Deno's fetch accepts but `new Response()` refuses (600 to 999) is
 * kept too, and all of it by the copy's `clone()`.
 */
export function copyResponse(
  response: Response,
  body: BodyInit | null,
): Response {
  const { status } = response;
  const copy = new Response(body, {
    status: isUsual(status) ? status : 200,
    statusText: response.statusText,
    headers: response.headers,
  });
  return asCopyOf(copy, response);
}

/** Whether new Response() takes `status` (it takes 200 to 599, and 101). */
function isUsual(status: number): boolean {
  return status >= 200 && status <= 599;
}

/**
 * `copy` with what a constructed Response lacks of `response`: its URL (so
 * that relative links in the body or in `Link` headers still resolve), and
 * an unusual status.
 */
function asCopyOf(copy: Response, response: Response): Response {
  const own: PropertyDescriptorMap = {
    url: { value: response.url },
    redirected: { value: response.redirected },
    clone: { value: cloneCopy },
  };
  if (!isUsual(response.status)) {
    own.status = { value: response.status };
    own.ok = { value: false };
  }
  return Object.defineProperties(copy, own);
}

/** `clone()` of a copy: the clone is a copy too. */
function cloneCopy(this: Response): Response {
  const clone = Response.prototype.clone.call(this);
  return asCopyOf(clone, this);
}
