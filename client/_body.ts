/**
 * Ways to consume a response inside an attempt's deadline: read it whole
 * (text, JSON, bytes), or hand it on with the deadline still guarding the
 * body ({@linkcode guardBody}). Private to `client/`.
 *
 * @module
 */

import { type Attempt, oneLine } from "./_send.ts";
import { ParseError } from "./errors.ts";

const PARSE_EXCERPT_CHARS = 100;

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
): Promise<Uint8Array> {
  try {
    return await response.bytes();
  } catch (error) {
    throw attempt.fail(error);
  }
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
  const guarded = mapBodyErrors(response, attempt, () => attempt.release());
  attempt.keep();
  return Promise.resolve(guarded);
}

/**
 * A copy of `response` whose body errors as {@linkcode Attempt.fail} maps
 * what reading it throws: a cut connection is a `NetworkError` naming the
 * URL (so it is retried), the deadline a `TimeoutError`. `ended` runs once
 * the body is read to the end, fails or is cancelled.
 */
export function mapBodyErrors(
  response: Response,
  attempt: Attempt,
  ended: () => void = () => {},
): Response {
  const source = response.body;
  if (source === null) return response;
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>({
    // Deno's fetch reaches the body through a weak reference to its
    // Response when the signal aborts: once the original is collected, a
    // deadline never reaches a body that stalls. The copy's body keeps it,
    // as long as anything reads it (the copy, a clone, the stream alone).
    original: response,
    async pull(controller) {
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
      } else {
        controller.enqueue(step.value);
      }
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
