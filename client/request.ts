/**
 * `fetch` with the error handling a network program needs: a timeout that
 * covers the headers and the whole body, retries with backoff that honour
 * `Retry-After`, the caller's `AbortSignal`, and typed errors
 * ({@linkcode HttpError}, {@linkcode NetworkError}, {@linkcode ParseError},
 * {@linkcode TimeoutError}). {@linkcode fetchText}, {@linkcode fetchJson} and
 * {@linkcode fetchBytes} read the body inside the same deadline and retries.
 *
 * @example The seed's `fetch(url)`, with its error handling
 * ```ts
 * import { fetchJson } from "@aio/aio/client/request";
 * import { RequestError, TimeoutError } from "@aio/aio/client/errors";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => Response.json({ data: "hello" }),
 * );
 * let data: unknown;
 * try {
 *   data = await fetchJson(`http://127.0.0.1:${server.addr.port}/`, { timeout: 5_000 });
 * } catch (error) {
 *   if (!(error instanceof RequestError || error instanceof TimeoutError)) throw error;
 *   console.error(`Error fetching data: ${error.message}`);
 * }
 * assertEquals(data, { data: "hello" });
 * ```
 *
 * @module
 */

import { guardBody, readBytes, readJson, readText } from "./_body.ts";
import { DEFAULT_SENDER } from "./_send.ts";
import type { RetryOptions } from "./retry.ts";

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { HttpError, NetworkError, TimeoutError } from "./errors.ts";
// deno-lint-ignore no-unused-vars
import type { BodyTooLargeError } from "./errors.ts";

/**
 * The fields of `RequestInit` but `signal`, each of which also takes
 * `undefined` (meaning the default), as every option of this library does,
 * also under `exactOptionalPropertyTypes`.
 *
 * @example Headers that may be missing
 * ```ts
 * import { fetchText, type RequestInitFields } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(req.headers.get("x-token") ?? "none"),
 * );
 * const url = `http://127.0.0.1:${server.addr.port}/`;
 * const get = (token?: string) => {
 *   const init: RequestInitFields = {
 *     headers: token === undefined ? undefined : { "x-token": token },
 *   };
 *   return fetchText(url, init);
 * };
 * assertEquals(await get(), "none");
 * assertEquals(await get("secret"), "secret");
 * ```
 */
export type RequestInitFields = {
  [K in Exclude<keyof RequestInit, "signal">]?: RequestInit[K] | undefined;
};

/**
 * Options of {@linkcode request} and the `fetch*` helpers.
 *
 * @example A 404 as an answer, not an error
 * ```ts
 * import { request, type RequestOptions } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(`no ${req.headers.get("accept")} here`, { status: 404 }),
 * );
 * const options: RequestOptions = {
 *   headers: { accept: "text/plain" },
 *   timeout: 5_000,
 *   retry: 2,
 *   // Only server errors throw; a missing page is handled below.
 *   throwHttpErrors: (status) => status >= 500,
 * };
 * const response = await request(`http://127.0.0.1:${server.addr.port}/maybe`, options);
 * assertEquals(response.status, 404);
 * assertEquals(await response.text(), "no text/plain here");
 * ```
 */
export interface RequestOptions extends RequestInitFields {
  /**
   * Aborts the request, retries and waits included; the call then rejects
   * with `signal.reason`. When the input is a `Request`, its own signal
   * aborts the call too. `null` is none, as for `fetch`, so that a
   * `RequestInit` passes as it is.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | null | undefined;
  /**
   * Time allowed for one attempt, from sending the request to the last byte
   * of the body, in milliseconds (checked every 10 ms). When it runs out the
   * body is cancelled and a {@linkcode TimeoutError} naming the URL and the
   * limit is thrown; with `retry`, the attempt is retried. An error
   * status whose body stalls until then is still an {@linkcode HttpError},
   * with the part of the body that arrived (one that stalls until
   * `totalTimeout` is a `TimeoutError`). `Infinity` turns it off.
   *
   * @default {30_000}
   */
  timeout?: number | undefined;
  /**
   * Time allowed for the whole call, all attempts and the waits between them
   * included, in milliseconds. A retry that would start past it is not made.
   *
   * @default {Infinity}
   */
  totalTimeout?: number | undefined;
  /**
   * Retrying of failed attempts: a number of attempts, or
   * {@linkcode RetryOptions}. Only idempotent methods are retried unless
   * `retry.methods` says otherwise, and never a request whose body is a
   * one-shot `ReadableStream`.
   *
   * @default {undefined}
   */
  retry?: number | RetryOptions | undefined;
  /**
   * Whether a response status becomes an {@linkcode HttpError}: `true`
   * rejects anything outside 200–299, `false` nothing, a function decides per
   * status.
   *
   * @default {true}
   */
  throwHttpErrors?: boolean | ((status: number) => boolean) | undefined;
  /**
   * The most bytes of the response body that a call reading it whole keeps
   * in memory: `fetchText`, `fetchJson`, `fetchBytes`, a `Client`'s `text`,
   * `json` and `bytes`, `paginate`'s pages and `gather`'s URL tasks. A larger
   * body fails with a {@linkcode BodyTooLargeError} naming the URL, found
   * from its `Content-Length` before it is read, or else (chunked, or
   * compressed: the limit counts decoded bytes) as soon as its bytes pass
   * the limit; it is not retried. `request()` leaves its body to the caller
   * and ignores the limit, as does `download()`, which streams to disk.
   * `Infinity` removes it.
   *
   * @default {67108864}
   */
  maxBodySize?: number | undefined;
}

/**
 * Sends a request with `fetch` under a timeout, optional retries and the
 * caller's signal, and returns the response.
 *
 * The timeout keeps running while the body is read: read the body (or cancel
 * it) to end the request. A response body that stops arriving fails with a
 * {@linkcode TimeoutError} once the time is up. A body left unread is
 * cancelled then too, but, as with a plain `fetch`, it does not keep the
 * process alive until then (a `clone()` or `tee()` of it starts reading it,
 * and does).
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), redirects included.
 *
 * @param input An absolute URL, or a `Request`.
 * @param options Fetch options (`method`, `headers`, `body`, ...) and
 * {@linkcode RequestOptions}.
 * @returns The response; its body is guarded by the same deadline.
 * @throws {TypeError} If the URL is not valid or its port is one `fetch`
 * blocks, or an option has the wrong type.
 * @throws {RangeError} If a timeout or retry option is out of range.
 * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
 * @throws {NetworkError} If the connection fails.
 * @throws {TimeoutError} If an attempt or the whole call runs out of time.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 *
 * @example Streaming a body under a timeout
 * ```ts
 * import { request } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(`you sent ${req.method}`),
 * );
 * const response = await request(`http://127.0.0.1:${server.addr.port}/`, {
 *   method: "DELETE",
 *   timeout: 2_000,
 * });
 * assertEquals(response.status, 200);
 * assertEquals(await response.text(), "you sent DELETE");
 * ```
 */
export function request(
  input: string | URL | Request,
  options?: RequestOptions,
): Promise<Response> {
  return DEFAULT_SENDER.call(input, options, guardBody);
}

/**
 * Fetches a URL and returns its body as text, read within the timeout and
 * retried like the request.
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), redirects included.
 *
 * @param input An absolute URL, or a `Request`.
 * @param options Fetch options and {@linkcode RequestOptions}.
 * @returns The body, decoded by the charset its `Content-Type` names
 * (UTF-8 when it names none, or one the runtime does not know).
 * @throws {TypeError} If the URL is not valid or its port is one `fetch`
 * blocks, or an option has the wrong type.
 * @throws {RangeError} If a timeout or retry option is out of range.
 * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
 * @throws {NetworkError} If the connection fails or the body is cut off.
 * @throws {TimeoutError} If an attempt or the whole call runs out of time.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 *
 * @example Reading a page
 * ```ts
 * import { fetchText } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response("hello"),
 * );
 * assertEquals(await fetchText(`http://127.0.0.1:${server.addr.port}/`), "hello");
 * ```
 */
export function fetchText(
  input: string | URL | Request,
  options?: RequestOptions,
): Promise<string> {
  return DEFAULT_SENDER.call(input, options, readText);
}

/**
 * Fetches a URL and parses its body as JSON, read within the timeout and
 * retried like the request.
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), redirects included.
 *
 * @typeParam T The type the caller expects; it is not checked.
 * @param input An absolute URL, or a `Request`.
 * @param options Fetch options and {@linkcode RequestOptions}.
 * @returns The parsed body.
 * @throws {ParseError} If the body is not JSON; the message quotes its start.
 * An empty body (a 204 included) is not JSON either: use `request()` for an
 * endpoint that may answer without content.
 * @throws {TypeError} If the URL is not valid or its port is one `fetch`
 * blocks, or an option has the wrong type.
 * @throws {RangeError} If a timeout or retry option is out of range.
 * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
 * @throws {NetworkError} If the connection fails or the body is cut off.
 * @throws {TimeoutError} If an attempt or the whole call runs out of time.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 *
 * @example Reading JSON, and what a non-JSON body gives
 * ```ts
 * import { fetchJson } from "@aio/aio/client/request";
 * import { ParseError } from "@aio/aio/client/errors";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => req.url.endsWith("/html") ? new Response("<html>oops") : Response.json([1, 2]),
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * assertEquals(await fetchJson<number[]>(`${base}/`), [1, 2]);
 * await assertRejects(() => fetchJson(`${base}/html`), ParseError, '"<html>oops"');
 * ```
 */
export function fetchJson<T = unknown>(
  input: string | URL | Request,
  options?: RequestOptions,
): Promise<T> {
  return DEFAULT_SENDER.call(input, options, readJson) as Promise<T>;
}

/**
 * Fetches a URL and returns its body as bytes, read within the timeout and
 * retried like the request.
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), redirects included.
 *
 * @param input An absolute URL, or a `Request`.
 * @param options Fetch options and {@linkcode RequestOptions}.
 * @returns The body.
 * @throws {TypeError} If the URL is not valid or its port is one `fetch`
 * blocks, or an option has the wrong type.
 * @throws {RangeError} If a timeout or retry option is out of range.
 * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
 * @throws {NetworkError} If the connection fails or the body is cut off.
 * @throws {TimeoutError} If an attempt or the whole call runs out of time.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 *
 * @example Reading bytes
 * ```ts
 * import { fetchBytes } from "@aio/aio/client/request";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response(new Uint8Array([1, 2, 3])),
 * );
 * assertEquals(
 *   await fetchBytes(`http://127.0.0.1:${server.addr.port}/`),
 *   new Uint8Array([1, 2, 3]),
 * );
 * ```
 */
export function fetchBytes(
  input: string | URL | Request,
  options?: RequestOptions,
): Promise<Uint8Array> {
  return DEFAULT_SENDER.call(input, options, readBytes);
}
