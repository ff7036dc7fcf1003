/**
 * {@linkcode Client}: the aiohttp `ClientSession` of this library. One object
 * holds a base URL, default headers, timeout, retry policy and concurrency
 * limits (global and per host), and every call made through it (`request`,
 * `get`, `json`, `gather`, `paginate`, `download`, ...) follows them.
 * Closing it (`await using`) aborts what is in flight and waits for it.
 *
 * @example A session against one API
 * ```ts
 * import { Client } from "@aio/aio/client/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => Response.json({ path: new URL(req.url).pathname, key: req.headers.get("x-key") }),
 * );
 * await using client = new Client({
 *   baseUrl: `http://127.0.0.1:${server.addr.port}/api/`,
 *   headers: { "x-key": "secret" },
 *   concurrency: 8,
 * });
 * assertEquals(await client.json("users"), { path: "/api/users", key: "secret" });
 * ```
 *
 * @module
 */

import { abortError } from "./_abort.ts";
import { badNumber, checkObject, show } from "../_show.ts";

import {
  guardBody,
  readBytes,
  readJson,
  readText,
  readWhole,
} from "./_body.ts";
import { downloadWith } from "./_download.ts";
import { Limiter, Waiter } from "./_limiter.ts";
import { pages } from "./_pages.ts";
import {
  callSignal,
  checkMaxBodySize,
  checkTimeout,
  type Consume,
  DEFAULT_POLICY,
  type Policy,
  prepareTarget,
  resolvePolicy,
  resolveRetry,
  resolveThrowHttpErrors,
  send,
  type Sender,
  type Session,
  type Target,
} from "./_send.ts";
import type { DownloadOptions, DownloadResult } from "./download.ts";
import {
  gather,
  type GatherOptions,
  type GatherTask,
  type GatherValue,
} from "./gather.ts";
import type { Page, PaginateOptions } from "./paginate.ts";
import type { RequestOptions } from "./request.ts";
import type { RetryOptions } from "./retry.ts";

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { HttpError, NetworkError, TimeoutError } from "./errors.ts";

/**
 * Options of {@linkcode Client}.
 *
 * @example Settings every call shares, seen by a stub `fetch`
 * ```ts
 * import { Client, type ClientOptions } from "@aio/aio/client/client";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: string[] = [];
 * const options: ClientOptions = {
 *   baseUrl: "http://api.test/v1",
 *   headers: { authorization: "Bearer t0ken" },
 *   timeout: 5_000,
 *   retry: { attempts: 2, backoff: () => 10 },
 *   // Stands in for the network: records each attempt, answers 503 once.
 *   fetch: (input, init) => {
 *     sent.push(`${input} ${new Headers(init?.headers).get("authorization")}`);
 *     return Promise.resolve(new Response("ok", { status: sent.length === 1 ? 503 : 200 }));
 *   },
 * };
 * await using client = new Client(options);
 * assertEquals(await client.text("users"), "ok");
 * assertEquals(sent, [
 *   "http://api.test/v1/users Bearer t0ken",
 *   "http://api.test/v1/users Bearer t0ken",
 * ]);
 * ```
 */
export interface ClientOptions {
  /**
   * Resolves relative URLs of every call: an `http:` or `https:` URL. A
   * missing trailing `/` is added, so `"http://host/api"` and
   * `"http://host/api/"` both resolve `"users"` to `http://host/api/users`;
   * a path starting with `/` is from the root.
   *
   * @default {undefined}
   */
  baseUrl?: string | URL | undefined;
  /**
   * Headers sent with every request; a call's own headers override them.
   *
   * @default {undefined}
   */
  headers?: HeadersInit | undefined;
  /**
   * Per-attempt timeout of every call (headers and body), in milliseconds,
   * or `Infinity`. It starts once the attempt holds a concurrency slot.
   *
   * @default {30_000}
   */
  timeout?: number | undefined;
  /**
   * Time allowed for a whole call, retries and waiting for a concurrency
   * slot included, in milliseconds.
   *
   * @default {Infinity}
   */
  totalTimeout?: number | undefined;
  /**
   * Retry policy of every call: a number of attempts, or
   * {@linkcode RetryOptions}.
   *
   * @default {undefined}
   */
  retry?: number | RetryOptions | undefined;
  /**
   * Which statuses become an {@linkcode HttpError}: `true` for anything
   * outside 200–299, `false` for none, or a function of the status.
   *
   * @default {true}
   */
  throwHttpErrors?: boolean | ((status: number) => boolean) | undefined;
  /**
   * The most bytes of a response body that `text()`, `json()`, `bytes()`,
   * `paginate()` and `gather()`'s URL tasks read into memory; see
   * {@linkcode RequestOptions.maxBodySize}.
   *
   * @default {67108864}
   */
  maxBodySize?: number | undefined;
  /**
   * The most requests in flight at once across all hosts (a request holds
   * its slot until its body is read); the others wait in order.
   *
   * @default {100}
   */
  concurrency?: number | undefined;
  /**
   * The most requests in flight at once to one host (`host:port`, with the
   * scheme's default port: `http://h/` is `h:80`). The host is the requested
   * URL's: a redirect to another host is not counted against that one.
   *
   * @default {Infinity}
   */
  perHostConcurrency?: number | undefined;
  /**
   * The `fetch` that sends the requests, e.g. one bound to a
   * `Deno.HttpClient`, or a stub in tests.
   *
   * @default {globalThis.fetch}
   */
  fetch?:
    | ((input: string | Request, init?: RequestInit) => Promise<Response>)
    | undefined;
}

const WHERE = "Cannot request";

/**
 * A session for many requests with shared settings and limits, like
 * aiohttp's `ClientSession`. Use it with `await using`, or call
 * {@linkcode Client.close} when done.
 *
 * Every request waits for a slot under `concurrency` and
 * `perHostConcurrency` (per host first, so a busy host does not hold global
 * slots while it waits) and keeps it until its body is read or cancelled;
 * retries wait again, and waiting out a backoff holds no slot.
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), redirects and next pages
 * included; `download` also needs `--allow-read` and `--allow-write` for the
 * target's directory.
 *
 * @example Limits seen by the server
 * ```ts
 * import { Client } from "@aio/aio/client/client";
 * import { assertEquals } from "@std/assert";
 *
 * let inFlight = 0;
 * let peak = 0;
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   async () => {
 *     peak = Math.max(peak, ++inFlight);
 *     await new Promise((resolve) => setTimeout(resolve, 5));
 *     inFlight--;
 *     return new Response("ok");
 *   },
 * );
 * await using client = new Client({
 *   baseUrl: `http://127.0.0.1:${server.addr.port}`,
 *   concurrency: 3,
 * });
 * const texts = await Promise.all(
 *   Array.from({ length: 12 }, (_, i) => client.text(`/${i}`)),
 * );
 * assertEquals(texts.length, 12);
 * assertEquals(peak <= 3, true);
 * ```
 */
export class Client implements AsyncDisposable {
  readonly #base: URL | undefined;
  readonly #headers: Headers | undefined;
  readonly #policy: Policy;
  readonly #limiter: Limiter;
  readonly #perHost: number;
  readonly #hosts = new Map<string, Limiter>();
  readonly #controller = new AbortController();
  readonly #session: Session;
  readonly #sender: Sender;
  #active = 0;
  #idle: PromiseWithResolvers<void> | undefined;

  /**
   * Creates a client. It holds no connection until the first request.
   *
   * @param options Base URL, default headers, timeout, retry policy,
   * concurrency limits and `fetch`.
   * @throws {TypeError} If `baseUrl` is not an absolute URL, `headers` are
   * not valid, or `fetch`, `throwHttpErrors` or a retry hook has the wrong
   * type.
   * @throws {RangeError} If a timeout, retry setting or limit is out of
   * range.
   */
  constructor(options: ClientOptions = {}) {
    checkObject(options, "Cannot create client");
    const {
      baseUrl,
      headers,
      timeout = DEFAULT_POLICY.timeout,
      totalTimeout = DEFAULT_POLICY.totalTimeout,
      retry,
      throwHttpErrors = true,
      maxBodySize = DEFAULT_POLICY.maxBodySize,
      concurrency = 100,
      perHostConcurrency = Infinity,
      fetch: fetchFn,
    } = options;
    const where = "Cannot create client";
    if (baseUrl !== undefined) {
      if (!URL.canParse(baseUrl)) {
        throw new TypeError(
          `${where}: "baseUrl" must be an absolute URL, received ${
            JSON.stringify(String(baseUrl))
          }`,
        );
      }
      const base = new URL(baseUrl);
      if (base.protocol !== "http:" && base.protocol !== "https:") {
        throw new TypeError(
          `${where}: "baseUrl" must be an http: or https: URL, received ${
            show(base.href)
          }`,
        );
      }
      if (!base.pathname.endsWith("/")) base.pathname += "/";
      this.#base = base;
    }
    try {
      this.#headers = headers === undefined ? undefined : new Headers(headers);
    } catch (error) {
      throw new TypeError(
        `${where}: "headers" are not valid: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (fetchFn !== undefined && typeof fetchFn !== "function") {
      throw new TypeError(
        `${where}: "fetch" must be a function, received ${show(fetchFn)}`,
      );
    }
    this.#policy = {
      fetch: fetchFn ?? DEFAULT_POLICY.fetch,
      timeout: checkTimeout(timeout, where, "timeout"),
      totalTimeout: checkTimeout(totalTimeout, where, "totalTimeout"),
      retry: retry === undefined
        ? DEFAULT_POLICY.retry
        : resolveRetry(retry, where),
      throwHttpErrors: resolveThrowHttpErrors(throwHttpErrors, where),
      maxBodySize: checkMaxBodySize(maxBodySize, where),
    };
    checkLimit(where, "concurrency", concurrency);
    checkLimit(where, "perHostConcurrency", perHostConcurrency);
    this.#limiter = new Limiter(concurrency);
    this.#perHost = perHostConcurrency;
    this.#session = {
      enter: (target, signal) => this.#enter(target, signal),
      leave: (target) => this.#leave(target),
      settled: () => {
        if (--this.#active === 0) this.#idle?.resolve();
      },
    };
    this.#sender = {
      url: (input) => new URL(input, this.#base).href,
      call: (input, callOptions, consume) =>
        this.#call(input, callOptions, consume),
    };
  }

  /** Whether {@linkcode Client.close} was called. */
  get closed(): boolean {
    return this.#controller.signal.aborted;
  }

  /** How many calls are in flight (a response body being read counts). */
  get active(): number {
    return this.#active;
  }

  /**
   * Sends a request and returns the response, its body still under the
   * timeout and holding its concurrency slot until read or cancelled.
   *
   * @param input A URL (relative ones resolve against `baseUrl`) or a
   * `Request`.
   * @param options Fetch options, and overrides of the client's `timeout`,
   * `totalTimeout`, `retry` and `throwHttpErrors`; `headers` add to the
   * client's.
   * @returns The response.
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {NetworkError} If the connection fails.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If the URL is not valid or an option has the wrong
   * type.
   * @throws {RangeError} If an option is out of range.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` `DOMException` when the client is closed.
   *
   * @example Posting JSON
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   async (req) => new Response(`${req.method} ${await req.text()}`, { status: 201 }),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const response = await client.request("/items", {
   *   method: "POST",
   *   body: JSON.stringify({ name: "a" }),
   * });
   * assertEquals(response.status, 201);
   * assertEquals(await response.text(), 'POST {"name":"a"}');
   * ```
   */
  request(
    input: string | URL | Request,
    options?: RequestOptions,
  ): Promise<Response> {
    return this.#call(input, options, guardBody);
  }

  /**
   * Sends a GET request; {@linkcode Client.request} with `method: "GET"`.
   *
   * @param input A URL (relative ones resolve against `baseUrl`).
   * @param options Fetch options and call overrides, as for `request`.
   * @returns The response, its body under the timeout.
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {NetworkError} If the connection fails.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If the URL is not valid or an option has the wrong
   * type.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` when the client is closed.
   *
   * @example Reading headers and status
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response("hi", { headers: { etag: '"v1"' } }),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const response = await client.get("/");
   * assertEquals(response.headers.get("etag"), '"v1"');
   * assertEquals(await response.text(), "hi");
   * ```
   */
  get(
    input: string | URL,
    options?: Omit<RequestOptions, "method">,
  ): Promise<Response> {
    // Anything but an object is refused by the call, as by the others.
    const object = options === undefined ||
      (typeof options === "object" && options !== null);
    return this.#call(
      input,
      object ? { ...options, method: "GET" } : options,
      guardBody,
    );
  }

  /**
   * Fetches a URL and returns its body as text, read within the timeout.
   *
   * @param input A URL (relative ones resolve against `baseUrl`) or a
   * `Request`.
   * @param options Fetch options and call overrides, as for `request`.
   * @returns The body, decoded by the charset its `Content-Type` names
   * (UTF-8 when it names none, or one the runtime does not know).
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {NetworkError} If the connection fails or the body is cut off.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If the URL is not valid or an option has the wrong
   * type.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` when the client is closed.
   *
   * @example Reading text
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response("hello"),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * assertEquals(await client.text("/"), "hello");
   * ```
   */
  text(
    input: string | URL | Request,
    options?: RequestOptions,
  ): Promise<string> {
    return this.#call(input, options, readText);
  }

  /**
   * Fetches a URL and parses its body as JSON, read within the timeout.
   *
   * @typeParam T The type the caller expects; it is not checked.
   * @param input A URL (relative ones resolve against `baseUrl`) or a
   * `Request`.
   * @param options Fetch options and call overrides, as for `request`.
   * @returns The parsed body.
   * @throws {ParseError} If the body is not JSON.
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {NetworkError} If the connection fails or the body is cut off.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If the URL is not valid or an option has the wrong
   * type.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` when the client is closed.
   *
   * @example Reading JSON
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => Response.json({ ok: true }),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * assertEquals(await client.json<{ ok: boolean }>("/status"), { ok: true });
   * ```
   */
  json<T = unknown>(
    input: string | URL | Request,
    options?: RequestOptions,
  ): Promise<T> {
    return this.#call(input, options, readJson) as Promise<T>;
  }

  /**
   * Fetches a URL and returns its body as bytes, read within the timeout.
   *
   * @param input A URL (relative ones resolve against `baseUrl`) or a
   * `Request`.
   * @param options Fetch options and call overrides, as for `request`.
   * @returns The body.
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {NetworkError} If the connection fails or the body is cut off.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If the URL is not valid or an option has the wrong
   * type.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` when the client is closed.
   *
   * @example Reading bytes
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response(new Uint8Array([7, 8])),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * assertEquals(await client.bytes("/"), new Uint8Array([7, 8]));
   * ```
   */
  bytes(
    input: string | URL | Request,
    options?: RequestOptions,
  ): Promise<Uint8Array> {
    return this.#call(input, options, readBytes);
  }

  /**
   * `gather()` through this client: URL and `Request` tasks are sent with
   * the client's settings and limits (each resolves to a `Response` whose
   * body has been read), function tasks run as they are; closing the client
   * aborts the run.
   *
   * @typeParam T The tasks, as a tuple or array type.
   * @param tasks URLs, `Request`s, or functions that get an `AbortSignal`.
   * @param options As for `gather()`; `concurrency` defaults to the
   * client's `concurrency`.
   * @returns The values in the order of `tasks`.
   * @throws {TypeError} If a task is not a function, a URL or a `Request`,
   * `options` is not an object, `signal` is not an `AbortSignal`, or
   * `settle` is not a boolean; like every failure, it rejects the returned
   * promise.
   * @throws {RangeError} If `concurrency` is out of range.
   * @throws {unknown} The first task's error, or the `signal`'s reason.
   *
   * @example Fetching many pages, at most four at once
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (req) => new Response(new URL(req.url).pathname),
   * );
   * await using client = new Client({
   *   baseUrl: `http://127.0.0.1:${server.addr.port}`,
   *   concurrency: 4,
   * });
   * const responses = await client.gather(["/a", "/b", "/c"]);
   * assertEquals(await Promise.all(responses.map((r) => r.text())), ["/a", "/b", "/c"]);
   * ```
   */
  gather<const T extends readonly GatherTask[]>(
    tasks: T,
    options?: Omit<GatherOptions, "request"> & { settle?: false | undefined },
  ): Promise<{ -readonly [K in keyof T]: GatherValue<T[K]> }>;
  /**
   * `gather()` through this client, reporting each task's outcome
   * (`settle: true`) instead of failing fast.
   *
   * @typeParam T The tasks, as a tuple or array type.
   * @param tasks URLs, `Request`s, or functions that get an `AbortSignal`.
   * @param options `settle: true`, and the other options of `gather()`.
   * @returns One `PromiseSettledResult` per task, in the order of `tasks`.
   * @throws {TypeError} If a task is not a function, a URL or a `Request`,
   * `options` is not an object, `signal` is not an `AbortSignal`, or
   * `settle` is not a boolean; like every failure, it rejects the returned
   * promise.
   * @throws {RangeError} If `concurrency` is out of range.
   * @throws {unknown} The `signal`'s reason.
   *
   * @example Keeping going past failures
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { HttpError } from "@aio/aio/client/errors";
   * import { assertEquals, assertInstanceOf } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (req) => new Response("", { status: req.url.endsWith("/bad") ? 500 : 200 }),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const [good, bad] = await client.gather(["/good", "/bad"], { settle: true });
   * assertEquals(good.status, "fulfilled");
   * assertEquals(bad.status, "rejected");
   * if (bad.status === "rejected") assertInstanceOf(bad.reason, HttpError);
   * ```
   */
  gather<const T extends readonly GatherTask[]>(
    tasks: T,
    options: Omit<GatherOptions, "request"> & { settle: true },
  ): Promise<
    { -readonly [K in keyof T]: PromiseSettledResult<GatherValue<T[K]>> }
  >;
  /**
   * `gather()` through this client, with options whose `settle` is known
   * only at run time (a variable, a flag).
   *
   * @typeParam T The tasks, as a tuple or array type.
   * @param tasks URLs, `Request`s, or functions that get an `AbortSignal`.
   * @param options The options of `gather()` but `request`.
   * @returns The results in the order of `tasks`: values, or with `settle`
   * one `PromiseSettledResult` per task.
   * @throws {TypeError} If a task is not a function, a URL or a `Request`,
   * `options` is not an object, `signal` is not an `AbortSignal`, or
   * `settle` is not a boolean; like every failure, it rejects the returned
   * promise.
   * @throws {RangeError} If `concurrency` is out of range.
   * @throws {unknown} Without `settle`, the first task's error; the
   * `signal`'s reason.
   *
   * @example Options kept in a variable
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import type { GatherOptions } from "@aio/aio/client/gather";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response("ok"),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const options: Omit<GatherOptions, "request"> = { settle: true };
   * const [result] = await client.gather(["/"], options);
   * assertEquals((result as PromiseSettledResult<Response>).status, "fulfilled");
   * ```
   */
  gather<const T extends readonly GatherTask[]>(
    tasks: T,
    options?: Omit<GatherOptions, "request">,
  ): Promise<
    {
      -readonly [K in keyof T]:
        | GatherValue<T[K]>
        | PromiseSettledResult<GatherValue<T[K]>>;
    }
  >;
  gather(
    tasks: readonly GatherTask[],
    options: Omit<GatherOptions, "request"> = {},
  ): Promise<unknown[]> {
    // gather() rejects bad options, a bad `signal` included, with its own
    // messages: they are passed on as they are.
    if (typeof options !== "object" || options === null) {
      return gather(tasks, options);
    }
    if ((options as GatherOptions).request !== undefined) {
      return Promise.reject(
        new TypeError(
          'Cannot gather: "request" is not an option of client.gather(), which sends through the client',
        ),
      );
    }
    const own = this.#controller.signal;
    const given = options.signal;
    let signal = own;
    if (given instanceof AbortSignal) signal = AbortSignal.any([given, own]);
    else if (given !== undefined) signal = given;
    const concurrency = options.concurrency ?? this.#limiter.limit;
    // gather's own signal already follows the client's, so the requests need
    // no second link to it.
    return gather(tasks, {
      ...options,
      concurrency,
      signal,
      request: (input, init) => this.#call(input, init, readWhole, init.signal),
    });
  }

  /**
   * `paginate()` through this client: every page is a request with the
   * client's settings and limits, and relative URLs resolve against
   * `baseUrl`.
   *
   * @typeParam T The parsed body of each page.
   * @param start The first page's URL (relative ones resolve against
   * `baseUrl`).
   * @param options As for `paginate()`.
   * @returns An async iterator of the pages.
   * @throws {PaginationCycleError} When a next URL was already fetched.
   * @throws {TypeError} If `start` is not a valid URL or an option has the
   * wrong type.
   * @throws {RangeError} If `maxPages` is out of range.
   * @throws {unknown} What a page's request throws, `signal.reason`, or an
   * `AbortError` when the client is closed.
   *
   * @example Walking an API's pages
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   (req) => {
   *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
   *     return Response.json({ page, next: page < 3 ? `?page=${page + 1}` : null });
   *   },
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const seen: number[] = [];
   * for await (const page of client.paginate<{ page: number }>("/items", { next: "next" })) {
   *   seen.push(page.data.page);
   * }
   * assertEquals(seen, [1, 2, 3]);
   * ```
   */
  paginate<T = unknown>(
    start: string | URL,
    options?: PaginateOptions<T>,
  ): AsyncGenerator<Page<T>, void, undefined> {
    return pages(this.#sender, start, options);
  }

  /**
   * `download()` through this client: streamed to disk atomically, with the
   * client's settings and limits.
   *
   * @param url The URL to download (relative ones resolve against
   * `baseUrl`).
   * @param path The file to write; its directory must exist.
   * @param options As for `download()`.
   * @returns Where the file came from, where it went and its size.
   * @throws {NetworkError} If the connection fails or the body is short.
   * @throws {HttpError} If the status is rejected by `throwHttpErrors`.
   * @throws {TimeoutError} If an attempt or the whole call runs out of time.
   * @throws {TypeError} If `url`, `path` or an option is not valid.
   * @throws {unknown} `signal.reason` when `signal` aborts, or an
   * `AbortError` when the client is closed.
   *
   * @example Saving a file
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response("report"),
   * );
   * await using client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const dir = await Deno.makeTempDir();
   * try {
   *   await client.download("/report.txt", `${dir}/report.txt`);
   *   assertEquals(await Deno.readTextFile(`${dir}/report.txt`), "report");
   * } finally {
   *   await Deno.remove(dir, { recursive: true });
   * }
   * ```
   */
  download(
    url: string | URL,
    path: string | URL,
    options?: DownloadOptions,
  ): Promise<DownloadResult> {
    return downloadWith(this.#sender, url, path, options);
  }

  /**
   * Closes the client: calls in flight (and response bodies still being
   * read) are aborted with an `AbortError`, later calls fail at once, and the
   * promise resolves once everything has settled. Calling it again waits
   * the same way.
   *
   * @returns A promise that resolves when no call is in flight.
   *
   * @example Closing aborts what is in flight
   * ```ts
   * import { Client } from "@aio/aio/client/client";
   * import { assertEquals } from "@std/assert";
   *
   * await using server = Deno.serve(
   *   { hostname: "127.0.0.1", port: 0, onListen() {} },
   *   () => new Response(new ReadableStream({ pull: () => new Promise(() => {}) })),
   * );
   * const client = new Client({ baseUrl: `http://127.0.0.1:${server.addr.port}` });
   * const outcome = client.text("/never-ends").catch((error: Error) => error.name);
   * while (client.active === 0) await new Promise((resolve) => setTimeout(resolve, 1));
   * await client.close();
   * assertEquals(await outcome, "AbortError");
   * assertEquals(client.active, 0);
   * ```
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.#controller.abort(
        abortError(`${WHERE}: the client is closed`),
      );
    }
    if (this.#active > 0) {
      this.#idle ??= Promise.withResolvers();
      await this.#idle.promise;
    }
  }

  /**
   * Closes the client, for `await using`; see {@linkcode Client.close}.
   *
   * @returns A promise that resolves when no call is in flight.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #call<T>(
    input: string | URL | Request,
    options: RequestOptions | undefined,
    consume: Consume<T>,
    linked?: AbortSignal,
  ): Promise<T> {
    const own = this.#controller.signal;
    if (own.aborted) return Promise.reject(own.reason);
    let target: Target;
    let policy: Policy;
    let signal: AbortSignal = own;
    try {
      policy = resolvePolicy(options, WHERE, this.#policy);
      target = prepareTarget(input, options, this.#base, this.#headers);
      const followed = callSignal(input, options);
      if (linked !== undefined) {
        // gather()'s signal (`options.signal`) already follows the client's.
        signal = followed!;
      } else if (followed !== undefined) {
        signal = AbortSignal.any([followed, own]);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    this.#active++;
    const session = this.#session;
    if (this.#perHost !== Infinity || policy.totalTimeout !== Infinity) {
      return send(target, policy, signal, consume, session);
    }
    // Only the client-wide limit applies: a call that has to wait is queued
    // as its arguments, and its machinery is built once it holds a slot, so
    // that thousands of queued calls cost little memory and collection time.
    if (this.#limiter.tryAcquire()) {
      return send(target, policy, signal, consume, session, true);
    }
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#limiter.wait(
      signal,
      new QueuedCall(target, policy, signal, consume, session, resolve, reject),
    );
    return promise;
  }

  #enter(
    target: Target,
    signal: AbortSignal | undefined,
  ): Promise<void> | void {
    if (this.#perHost === Infinity) {
      if (this.#limiter.tryAcquire()) return;
      return this.#limiter.acquire(signal);
    }
    let host = this.#hosts.get(target.host);
    if (host === undefined) {
      host = new Limiter(this.#perHost);
      this.#hosts.set(target.host, host);
    }
    const hostHeld = host.tryAcquire();
    if (hostHeld && this.#limiter.tryAcquire()) return;
    return this.#enterSlowly(target.host, host, hostHeld, signal);
  }

  /** Waits for the host slot (unless held), then for a global one. */
  async #enterSlowly(
    name: string,
    host: Limiter,
    hostHeld: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (!hostHeld) {
      try {
        await host.acquire(signal);
      } catch (error) {
        this.#forgetIfIdle(name, host);
        throw error;
      }
    }
    try {
      await this.#limiter.acquire(signal);
    } catch (error) {
      host.release();
      this.#forgetIfIdle(name, host);
      throw error;
    }
  }

  #leave(target: Target): void {
    this.#limiter.release();
    if (this.#perHost !== Infinity) {
      const host = this.#hosts.get(target.host)!;
      host.release();
      this.#forgetIfIdle(target.host, host);
    }
  }

  /** Drops an idle host's limiter, so a crawl over many hosts stays small. */
  #forgetIfIdle(name: string, host: Limiter): void {
    if (host.active === 0 && host.waiting === 0) this.#hosts.delete(name);
  }
}

/** A call waiting for a slot of the client-wide limit: its arguments only. */
class QueuedCall<T> extends Waiter {
  readonly #target: Target;
  readonly #policy: Policy;
  readonly #signal: AbortSignal;
  readonly #consume: Consume<T>;
  readonly #session: Session;
  readonly #resolve: (value: Promise<T>) => void;
  readonly #reject: (reason: unknown) => void;

  constructor(
    target: Target,
    policy: Policy,
    signal: AbortSignal,
    consume: Consume<T>,
    session: Session,
    resolve: (value: Promise<T>) => void,
    reject: (reason: unknown) => void,
  ) {
    super();
    this.#target = target;
    this.#policy = policy;
    this.#signal = signal;
    this.#consume = consume;
    this.#session = session;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  granted(): void {
    // Started from a microtask, not inside the release() that freed the slot:
    // a call that fails at once would start the next one inside its own stack,
    // and a long queue of them would overflow it.
    queueMicrotask(() =>
      this.#resolve(
        send(
          this.#target,
          this.#policy,
          this.#signal,
          this.#consume,
          this.#session,
          true,
        ),
      )
    );
  }

  refused(reason: unknown): void {
    this.#session.settled();
    this.#reject(reason);
  }
}

function checkLimit(where: string, name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0) && value !== Infinity) {
    throw badNumber(where, name, "a positive integer or Infinity", value);
  }
}
