/**
 * Errors of the HTTP client: {@linkcode RequestError} and its kinds
 * ({@linkcode HttpError}, {@linkcode NetworkError}, {@linkcode ParseError}),
 * and {@linkcode PaginationCycleError}. A request that runs out of time throws
 * the shared {@linkcode TimeoutError}, re-exported here so that one import
 * covers everything a client caller catches.
 *
 * @example Telling a server's answer apart from a network failure
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { HttpError, NetworkError } from "@aio/aio/client/errors";
 * import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("no such page", { status: 404 }),
 * );
 * const error = await assertRejects(
 *   () => fetchText(`http://127.0.0.1:${server.addr.port}/missing`),
 *   HttpError,
 * );
 * assertEquals(error.status, 404);
 * assertEquals(error.body, "no such page");
 * assertEquals(error instanceof NetworkError, false);
 * ```
 *
 * @module
 */

import { AioError, TimeoutError } from "../errors.ts";

export { AioError, TimeoutError };

/**
 * Options of {@linkcode RequestError}.
 *
 * @example A test double that fails like an unreachable host
 * ```ts
 * import { NetworkError, RequestError, type RequestErrorOptions } from "@aio/aio/client/errors";
 * import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
 *
 * // Stands in for `fetchText` in a test of the code that calls it.
 * function unreachable(url: string): Promise<string> {
 *   const options: RequestErrorOptions = {
 *     url,
 *     method: "GET",
 *     attempts: 3,
 *     cause: new TypeError("connection refused"),
 *   };
 *   return Promise.reject(new NetworkError(`Cannot GET "${url}": connection refused`, options));
 * }
 * const error = await assertRejects(() => unreachable("http://api.test/"), RequestError);
 * assertEquals([error.url, error.method, error.attempts], ["http://api.test/", "GET", 3]);
 * assertInstanceOf(error.cause, TypeError);
 * ```
 */
export interface RequestErrorOptions extends ErrorOptions {
  /** The URL of the request. */
  url: string;
  /** The HTTP method of the request, in upper case. */
  method: string;
  /**
   * How many attempts were made, retries included.
   *
   * @default {1}
   */
  attempts?: number | undefined;
}

/**
 * A request failed: the base class of {@linkcode HttpError},
 * {@linkcode NetworkError}, {@linkcode ParseError} and
 * {@linkcode BodyTooLargeError}, for callers that
 * handle every failed request the same way (the seed's
 * `except aiohttp.ClientError`). Timeouts are {@linkcode TimeoutError}s.
 *
 * @example Catching any failed request
 * ```ts
 * import { HttpError, RequestError } from "@aio/aio/client/errors";
 * import { assert } from "@std/assert";
 *
 * const error = new HttpError("Cannot GET \"http://127.0.0.1/\": 500 Internal Server Error", {
 *   url: "http://127.0.0.1/",
 *   method: "GET",
 *   status: 500,
 * });
 * assert(error instanceof RequestError);
 * assert(error.url === "http://127.0.0.1/");
 * ```
 */
export class RequestError extends AioError {
  /** The URL of the request. */
  readonly url: string;
  /** The HTTP method of the request, in upper case. */
  readonly method: string;
  /** How many attempts were made, retries included. */
  readonly attempts: number;

  /**
   * Creates a request error.
   *
   * @param message What failed, as "Cannot <METHOD> "<url>": <reason>".
   * @param options The request's URL and method, the attempts made, and the
   * underlying error as `cause`.
   */
  constructor(message: string, options: RequestErrorOptions) {
    super(message, options);
    this.url = options.url;
    this.method = options.method;
    this.attempts = options.attempts ?? 1;
  }
}

/**
 * Options of {@linkcode HttpError}.
 *
 * @example An HttpError built from a stubbed response
 * ```ts
 * import { HttpError, type HttpErrorOptions } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const response = new Response("slow down", { status: 429, headers: { "retry-after": "5" } });
 * const options: HttpErrorOptions = {
 *   url: "http://api.test/items",
 *   method: "GET",
 *   status: response.status,
 *   headers: response.headers,
 *   body: await response.text(),
 * };
 * const error = new HttpError(`Cannot GET "${options.url}": 429`, options);
 * assertEquals(error.status, 429);
 * assertEquals(error.statusText, "");
 * assertEquals(error.headers.get("retry-after"), "5");
 * assertEquals(error.body, "slow down");
 * ```
 */
export interface HttpErrorOptions extends RequestErrorOptions {
  /** The response's status code. */
  status: number;
  /**
   * The response's status text.
   *
   * @default {""}
   */
  statusText?: string | undefined;
  /**
   * The response's headers.
   *
   * @default {new Headers()}
   */
  headers?: Headers | undefined;
  /**
   * The start of the response body, decoded as UTF-8.
   *
   * @default {""}
   */
  body?: string | undefined;
}

/**
 * The server answered with a status the caller did not accept (by default
 * anything outside 200–299). The response body has been read up to a short
 * excerpt, kept in {@linkcode HttpError.body}, and the rest cancelled.
 *
 * @example Reading the status and the body excerpt
 * ```ts
 * import { HttpError } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new HttpError("Cannot GET \"http://127.0.0.1/a\": 404 Not Found", {
 *   url: "http://127.0.0.1/a",
 *   method: "GET",
 *   status: 404,
 *   statusText: "Not Found",
 *   body: "no such page",
 * });
 * assertEquals(error.status, 404);
 * assertEquals(error.body, "no such page");
 * ```
 */
export class HttpError extends RequestError {
  /** The response's status code. */
  readonly status: number;
  /** The response's status text. */
  readonly statusText: string;
  /** The response's headers. */
  readonly headers: Headers;
  /** The start of the response body (up to 1 KiB, decoded as UTF-8). */
  readonly body: string;

  /**
   * Creates an HTTP error.
   *
   * @param message What failed, with the status.
   * @param options The request, the status, the headers and a body excerpt.
   */
  constructor(message: string, options: HttpErrorOptions) {
    super(message, options);
    this.status = options.status;
    this.statusText = options.statusText ?? "";
    this.headers = options.headers ?? new Headers();
    this.body = options.body ?? "";
  }
}

/**
 * The request could not be sent or its response could not be read in full:
 * refused or reset connection, DNS failure, or a body cut off before its
 * `Content-Length`. The underlying error is the `cause`.
 *
 * @example Wrapping the runtime's error
 * ```ts
 * import { NetworkError } from "@aio/aio/client/errors";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const error = new NetworkError(
 *   "Cannot GET \"http://127.0.0.1:9/\": connection refused",
 *   { url: "http://127.0.0.1:9/", method: "GET", cause: new TypeError("refused") },
 * );
 * assertInstanceOf(error.cause, TypeError);
 * ```
 */
export class NetworkError extends RequestError {}

/**
 * Options of {@linkcode BodyTooLargeError}.
 *
 * @example A test double that refuses a large body
 * ```ts
 * import { BodyTooLargeError, type BodyTooLargeErrorOptions } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const options: BodyTooLargeErrorOptions = {
 *   url: "http://127.0.0.1/dump",
 *   method: "GET",
 *   maxBodySize: 1024,
 * };
 * const error = new BodyTooLargeError("Cannot GET \"http://127.0.0.1/dump\": too large", options);
 * assertEquals(error.maxBodySize, 1024);
 * ```
 */
export interface BodyTooLargeErrorOptions extends RequestErrorOptions {
  /** The limit the body went past, in bytes. */
  maxBodySize: number;
}

/**
 * A response body was larger than the `maxBodySize` of a call that reads it
 * whole (`fetchText`, `fetchJson`, `fetchBytes`, a `Client`'s `text`, `json`
 * and `bytes`, `paginate`'s pages, `gather`'s URL tasks): found from its
 * `Content-Length` before reading, or while its bytes arrived, with nothing
 * past the limit kept. Not retried: the same URL would send the same body.
 *
 * @example Reading a larger body: raise the limit, or stream it
 * ```ts
 * import { BodyTooLargeError, fetchText } from "@aio/aio/client";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("x".repeat(2_000)),
 * );
 * const url = `http://127.0.0.1:${server.addr.port}/`;
 * const error = await assertRejects(
 *   () => fetchText(url, { maxBodySize: 1_000 }),
 *   BodyTooLargeError,
 * );
 * assertEquals(error.maxBodySize, 1_000);
 * assertEquals((await fetchText(url, { maxBodySize: 2_000 })).length, 2_000);
 * ```
 */
export class BodyTooLargeError extends RequestError {
  /** The limit the body went past, in bytes. */
  readonly maxBodySize: number;

  /**
   * Creates a body-too-large error.
   *
   * @param message What failed, naming the URL and the limit.
   * @param options The request's URL and method, the attempts made, and the
   * limit.
   */
  constructor(message: string, options: BodyTooLargeErrorOptions) {
    super(message, options);
    this.maxBodySize = options.maxBodySize;
  }
}

/**
 * Options of {@linkcode ParseError}.
 *
 * @example Building a parse error for a custom format
 * ```ts
 * import { ParseError, type ParseErrorOptions } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const options: ParseErrorOptions = {
 *   url: "http://127.0.0.1/feed",
 *   method: "GET",
 *   body: "not xml",
 * };
 * assertEquals(new ParseError("Cannot parse the feed", options).body, "not xml");
 * ```
 */
export interface ParseErrorOptions extends RequestErrorOptions {
  /** The start of the body that could not be parsed. */
  body: string;
}

/**
 * A response body was not in the expected format (for example not JSON for
 * `fetchJson`). {@linkcode ParseError.body} holds the start of the body, and
 * the parser's error is the `cause`.
 *
 * @example Seeing what came instead of JSON
 * ```ts
 * import { ParseError } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new ParseError(
 *   "Cannot parse the JSON body of GET \"http://127.0.0.1/\": it starts with \"<html>\"",
 *   { url: "http://127.0.0.1/", method: "GET", body: "<html>" },
 * );
 * assertEquals(error.body, "<html>");
 * ```
 */
export class ParseError extends RequestError {
  /** The start of the body that could not be parsed. */
  readonly body: string;

  /**
   * Creates a parse error.
   *
   * @param message What could not be parsed, quoting the start of the body.
   * @param options The request, the start of the body, and the parser's
   * error as `cause`.
   */
  constructor(message: string, options: ParseErrorOptions) {
    super(message, options);
    this.body = options.body;
  }
}

/**
 * Options of {@linkcode PaginationCycleError}.
 *
 * @example A hand-written link follower that stops at a loop
 * ```ts
 * import {
 *   PaginationCycleError,
 *   type PaginationCycleErrorOptions,
 * } from "@aio/aio/client/errors";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * function follow(links: Map<string, string>, start: string): string[] {
 *   const seen = [start];
 *   for (let url = links.get(start); url !== undefined; url = links.get(url)) {
 *     if (seen.includes(url)) {
 *       const options: PaginationCycleErrorOptions = { url, page: seen.length };
 *       throw new PaginationCycleError(`Cannot paginate: page ${seen.length} links back to "${url}"`, options);
 *     }
 *     seen.push(url);
 *   }
 *   return seen;
 * }
 * assertEquals(follow(new Map([["/1", "/2"]]), "/1"), ["/1", "/2"]);
 * const error = assertThrows(
 *   () => follow(new Map([["/1", "/2"], ["/2", "/3"], ["/3", "/1"]]), "/1"),
 *   PaginationCycleError,
 * );
 * assertEquals([error.url, error.page], ["/1", 3]);
 * ```
 */
export interface PaginationCycleErrorOptions extends ErrorOptions {
  /** The URL that was reached a second time. */
  url: string;
  /** The 1-based number of the page that pointed back to `url`. */
  page: number;
}

/**
 * A page's "next" link pointed to a URL that was already fetched, so
 * following it would loop forever.
 *
 * @example Reading the repeated URL
 * ```ts
 * import { PaginationCycleError } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new PaginationCycleError(
 *   "Cannot paginate: page 3 links back to \"http://127.0.0.1/?page=1\"",
 *   { url: "http://127.0.0.1/?page=1", page: 3 },
 * );
 * assertEquals(error.page, 3);
 * ```
 */
export class PaginationCycleError extends AioError {
  /** The URL that was reached a second time. */
  readonly url: string;
  /** The 1-based number of the page that pointed back to `url`. */
  readonly page: number;

  /**
   * Creates a pagination cycle error.
   *
   * @param message Which page pointed where.
   * @param options The repeated URL and the page that linked to it.
   */
  constructor(message: string, options: PaginationCycleErrorOptions) {
    super(message, options);
    this.url = options.url;
    this.page = options.page;
  }
}
