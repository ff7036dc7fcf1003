/**
 * HTTP servers on `Deno.serve`, with the limits a server exposed to real
 * clients needs: a timeout per request, a body size limit enforced while the
 * body arrives, errors answered without internals, and a shutdown that lets
 * requests in flight finish.
 *
 * @module
 */

import { checkObject, checkSignal } from "../_show.ts";
import { delay } from "jsr:@std/async@^1.5.0/delay";
import { AioError, TimeoutError } from "../errors.ts";
import { limitBody } from "./_body_limit.ts";
import { textResponse } from "./_text_response.ts";
import { TimeoutSweep } from "./_timeout_sweep.ts";
import {
  ACCEPT_RETRY_DELAY,
  assertFunction,
  assertLimit,
  assertPort,
  assertString,
  listenFailure,
  MAX_TIMER_DELAY,
} from "./_validate.ts";

/**
 * What an {@linkcode HttpHandler} gets beside the request.
 *
 * `signal` and `remoteAddr` are computed on first access: a handler that
 * never reads `signal` costs no `AbortController` (reading Deno's
 * `request.signal` doubles the server's CPU time per hello-world request).
 *
 * @example Telling the client its own address and when its request arrived
 * ```ts
 * import { type HttpContext, serveHttp } from "@aio/aio/server/http";
 * import { assert, assertEquals } from "@std/assert";
 *
 * await using server = serveHttp((_request, context: HttpContext) =>
 *   Response.json({
 *     client: context.remoteAddr?.hostname,
 *     startTime: context.startTime,
 *   })
 * );
 *
 * const before = Date.now();
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * const { client, startTime } = await response.json();
 * assertEquals(client, "127.0.0.1");
 * assert(before <= startTime && startTime <= Date.now());
 * ```
 */
export interface HttpContext {
  /**
   * Aborts when the request is abandoned: the client went away before the
   * response was complete, `requestTimeout` passed, the body grew past
   * `maxBodySize`, or the server shut down and its `shutdownTimeout` passed.
   * It does not abort after a response is delivered (unlike Deno's
   * `request.signal`, denoland/deno#27005). A client that leaves while its
   * body is being read aborts it once the read fails (a chunked body, with
   * a finite `maxBodySize`) or the handler fails with that error (a
   * `Content-Length` body): Deno itself signals nothing then
   * (denoland/deno#21653). Once a client is seen to go away while its
   * handler runs, the request is given up (an access-log status of 499)
   * and its connection let go, without waiting for the handler to return;
   * what it returns later is dropped.
   *
   * Read it before returning the response for it to cover a streaming
   * response body too: it then also aborts when that body fails (with its
   * error), and not when Deno drops it for a HEAD request. The body is then
   * handed to Deno in pieces of at most 64 KiB, one at a time, and followed
   * until Deno asks for more after the last piece: a client that leaves
   * while only that piece is still on its way is not told. A body given
   * whole (a string, bytes) keeps its `Content-Length`, and so does a
   * stream that has all of it queued; any other stream is sent chunked.
   * Read after a response was returned, it never aborts. For a request
   * that asks for a WebSocket (`Upgrade: websocket`) it does not follow the
   * client while the handler runs, whether or not the handler upgrades
   * (Deno aborts its `request.signal` inside `Deno.upgradeWebSocket()`); the
   * socket's `close` event tells when an upgraded client goes.
   * Deno 2.9 prints a one-time warning the first time a request whose
   * signal was read completes; `--unstable-no-legacy-abort` silences it.
   */
  readonly signal: AbortSignal;
  /**
   * The client's address, or `undefined` when the request did not come over
   * TCP (a Unix socket, or a handler called directly). Like the request
   * itself, Deno can tell it only until the response is returned.
   */
  readonly remoteAddr: Deno.NetAddr | undefined;
  /** When the request arrived, in milliseconds since the Unix epoch. */
  readonly startTime: number;
}

/**
 * Answers one HTTP request. It may return the response directly or a
 * promise; a handler that throws or rejects gets a 500 for its client and
 * its error goes to `onError`.
 *
 * @param request The request. When `maxBodySize` applies to a body without
 * `Content-Length` (or to any body of a `Request` handed to
 * `createFetchHandler`'s `fetch` directly), this is a copy whose body stops
 * at the limit (and whose own `signal` does not follow Deno's: use
 * `context.signal`).
 * @param context The request's signal, client address and start time.
 * @returns The response.
 *
 * @example A handler that answers, or throws and gets a plain 500
 * ```ts
 * import { createFetchHandler, type HttpHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const greet: HttpHandler = (request) => {
 *   const name = new URL(request.url).searchParams.get("name");
 *   if (name === null) throw new Error("no name given");
 *   return new Response(`hello ${name}`);
 * };
 *
 * // onError returns nothing, so the client gets a 500 that tells nothing.
 * using app = createFetchHandler(greet, { onError: () => {} });
 * const hello = await app.fetch(new Request("http://localhost/?name=Ada"));
 * assertEquals(await hello.text(), "hello Ada");
 * const failed = await app.fetch(new Request("http://localhost/"));
 * assertEquals(failed.status, 500);
 * assertEquals(await failed.text(), "Internal Server Error\n");
 * ```
 */
export type HttpHandler = (
  request: Request,
  context: HttpContext,
) => Response | Promise<Response>;

/**
 * One line of the access log: a request and the status it was answered.
 *
 * @example Collecting the access log
 * ```ts
 * import { type AccessLogEntry, serveHttp } from "@aio/aio/server/http";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const entries: AccessLogEntry[] = [];
 * await using server = serveHttp(
 *   (request) =>
 *     new Response(null, { status: request.method === "POST" ? 201 : 204 }),
 *   { accessLog: (entry) => entries.push(entry) },
 * );
 * const url = `http://127.0.0.1:${server.addr.port}/items`;
 * await (await fetch(url, { method: "POST" })).body?.cancel();
 * await (await fetch(url)).body?.cancel();
 *
 * assertEquals(
 *   entries.map(({ method, url, status }) => `${method} ${url} ${status}`),
 *   [`POST ${url} 201`, `GET ${url} 204`],
 * );
 * const { remoteAddr, duration } = entries[0]!;
 * assertEquals(remoteAddr?.hostname, "127.0.0.1");
 * assert(duration >= 0);
 * ```
 */
export interface AccessLogEntry {
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
  /** The status sent (or, for a client that went away, about to be sent). */
  status: number;
  /** Milliseconds from the request's arrival to its response. */
  duration: number;
  /** When the request arrived, in milliseconds since the Unix epoch. */
  startTime: number;
  /** The client's address, if the request came over TCP. */
  remoteAddr: Deno.NetAddr | undefined;
}

/**
 * Options of {@linkcode createFetchHandler}; {@linkcode serveHttp} takes them too.
 *
 * @example A timeout, a body limit and an error hook
 * ```ts
 * import {
 *   createFetchHandler,
 *   type FetchHandlerOptions,
 * } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const options: FetchHandlerOptions = {
 *   requestTimeout: 50,
 *   maxBodySize: 8,
 *   onError: (error) =>
 *     new Response(`sorry: ${(error as Error).message}`, { status: 500 }),
 * };
 * using app = createFetchHandler(async (request) => {
 *   const body = await request.text();
 *   if (body === "hang") return await new Promise<Response>(() => {});
 *   if (body === "fail") throw new Error("cannot do that");
 *   return new Response(`got ${body}`);
 * }, options);
 *
 * const post = async (body: string) => {
 *   const init = { method: "POST", body };
 *   const response = await app.fetch(new Request("http://localhost/", init));
 *   return [response.status, await response.text()];
 * };
 * assertEquals(await post("ok"), [200, "got ok"]);
 * assertEquals(await post("fail"), [500, "sorry: cannot do that"]);
 * assertEquals((await post("hang"))[0], 503); // past requestTimeout
 * assertEquals((await post("far too long"))[0], 413); // past maxBodySize
 * ```
 */
export interface FetchHandlerOptions {
  /**
   * Milliseconds a handler has to return its response (the body may stream
   * for longer). Past it the handler's `signal` aborts with a
   * {@linkcode TimeoutError} and the client gets a 503. One sweep per server
   * checks deadlines, so the 503 comes never before the timeout and up to a
   * tenth of it (at least 5 ms, at most 1 s) after it, plus the event
   * loop's timer lag. It counts from the handler's call: `Deno.serve` sets
   * no limit on the time a client takes to send its headers, nor on an
   * idle keep-alive connection (see the README).
   * `Infinity`: no limit.
   *
   * @default {30000}
   */
  requestTimeout?: number | undefined;
  /**
   * The largest request body accepted, in bytes. A `Content-Length` above it
   * is answered 413 without calling the handler; a body without one (chunked)
   * stops at the limit while the handler reads it, and the client gets 413.
   * Nothing past the limit is read into memory. `Infinity`: no limit.
   *
   * @default {1048576}
   */
  maxBodySize?: number | undefined;
  /**
   * Called with the error of a handler that threw or rejected, and the
   * request. The client gets the `Response` it returns (a new one each time:
   * a body is sent once; a spent one gives a plain 500), or else a plain 500
   * that tells nothing about the error. Errors that are the reason a
   * request was abandoned (an abort after a timeout) are not reported, nor
   * are the client's own faults, which get a 400: a request body that broke
   * off while the handler read it (the client went away, or sent less than
   * its `Content-Length`), and a `URIError` when the request's path has
   * invalid percent-encoding (the handler decoded it, e.g. with
   * `decodeURIComponent`); a `URIError` for any other data is reported.
   * Also called, with no request, for an error streaming a response body
   * (by {@linkcode serveHttp}; under `deno serve`, whose default export has
   * no error hook, Deno logs those itself), and for an error accepting a
   * connection (EMFILE: out of file descriptors), after which `serveHttp`
   * listens again on the same address 100 ms later, and every 100 ms until
   * it can; the connections it has are served meanwhile. Listening again
   * may fail otherwise (the port was taken meanwhile): that error is
   * reported once, and the retries go on.
   *
   * @default {logs the error and the request with console.error}
   */
  onError?:
    | ((error: unknown, request: Request | undefined) => Response | void)
    | undefined;
  /**
   * `true` logs one line per request to `console.log` (time, client,
   * method, URL, status, duration); a function gets each
   * {@linkcode AccessLogEntry} instead. `false`: no log.
   *
   * @default {false}
   */
  accessLog?: boolean | ((entry: AccessLogEntry) => void) | undefined;
}

/**
 * A handler in the shape `deno serve` runs (`export default { fetch }`),
 * returned by {@linkcode createFetchHandler}.
 *
 * @example Handing `fetch` to `Deno.serve`, or calling it directly
 * ```ts
 * import { createFetchHandler, type FetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * using app: FetchHandler = createFetchHandler((_request, context) =>
 *   new Response(`hello ${context.remoteAddr?.hostname ?? "direct caller"}`)
 * );
 *
 * // `fetch` works unbound; under a server it gets Deno's per-request info.
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   app.fetch,
 * );
 * const served = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await served.text(), "hello 127.0.0.1");
 *
 * // Called without that info, the context has no client address.
 * const direct = await app.fetch(new Request("http://localhost/"));
 * assertEquals(await direct.text(), "hello direct caller");
 * ```
 */
export interface FetchHandler extends Disposable {
  /**
   * Answers a request, with the handler, limits and timeouts it was created
   * with. Works unbound (`const { fetch } = ...`).
   *
   * @param request The request.
   * @param info Deno's per-request information; without it (a handler called
   * directly, as in tests) the context has no `remoteAddr`.
   * @returns The response.
   */
  fetch(
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response>;
  /** Stops the timeout sweep; only needed when no server owns the handler. */
  [Symbol.dispose](): void;
}

/**
 * Options of {@linkcode serveHttp}.
 *
 * @example Listening, and shutting down through a signal
 * ```ts
 * import { serveHttp, type ServeHttpOptions } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const controller = new AbortController();
 * const listening: Deno.NetAddr[] = [];
 * const options: ServeHttpOptions = {
 *   hostname: "127.0.0.1",
 *   port: 0, // any free port
 *   signal: controller.signal,
 *   onListen: (addr) => listening.push(addr),
 *   shutdownTimeout: 1000,
 *   requestTimeout: 5000,
 * };
 * await using server = serveHttp(() => new Response("up"), options);
 *
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await response.text(), "up");
 * assertEquals(listening.map((addr) => addr.port), [server.addr.port]);
 *
 * controller.abort(); // like server.shutdown()
 * await server.finished;
 * ```
 */
export interface ServeHttpOptions extends FetchHandlerOptions {
  /**
   * The address to listen on. Use `"0.0.0.0"` or `"::"` to accept
   * connections from other machines.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string | undefined;
  /**
   * The port to listen on; `0` picks a free port (read it from `addr`).
   *
   * @default {0}
   */
  port?: number | undefined;
  /**
   * Shuts the server down when aborted, like calling `shutdown()`.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
  /**
   * Called once with the address the server listens on. If it throws, the
   * server is closed and `serveHttp()` throws its error.
   *
   * @default {undefined}
   */
  onListen?: ((addr: Deno.NetAddr) => void) | undefined;
  /**
   * How long `shutdown()` lets requests in flight finish, in milliseconds.
   * Past it, handlers still running get their `signal` aborted and their
   * clients a 503; responses still streaming a second later are cut off.
   * `Infinity` (or anything above 2147483647, about 24.8 days) waits for
   * every request. Handlers the server gave up on (timed out, client gone,
   * body too large, or aborted by the shutdown), which `inFlight` no longer
   * counts, are then waited for as long again, but no more than 5 s: their
   * signals have aborted.
   *
   * @default {5000}
   */
  shutdownTimeout?: number | undefined;
  /**
   * A certificate chain in PEM, to serve HTTPS (and HTTP/2 to clients that
   * ask for it) instead of plain HTTP; given with `key`, as Deno.serve's.
   *
   * @default {undefined}
   */
  cert?: string | undefined;
  /**
   * The private key of `cert`, in PEM.
   *
   * @default {undefined}
   */
  key?: string | undefined;
}

/**
 * A running HTTP server, returned by {@linkcode serveHttp}.
 *
 * @example Counting requests in flight, and a shutdown that lets them finish
 * ```ts
 * import { type HttpServer, serveHttp } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const arrived = Promise.withResolvers<void>();
 * const release = Promise.withResolvers<void>();
 * await using server: HttpServer = serveHttp(async () => {
 *   arrived.resolve();
 *   await release.promise;
 *   return new Response("finished");
 * });
 * assertEquals(server.addr.hostname, "127.0.0.1");
 *
 * const pending = fetch(`http://127.0.0.1:${server.addr.port}/`);
 * await arrived.promise;
 * assertEquals(server.inFlight, 1);
 *
 * const stopped = server.shutdown(); // waits for the request in flight
 * release.resolve();
 * assertEquals(await (await pending).text(), "finished");
 * await stopped;
 * await server.finished;
 * assertEquals(server.inFlight, 0);
 * ```
 */
export interface HttpServer extends AsyncDisposable {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /**
   * How many requests are in flight: received and not yet answered, or
   * answered and their response not yet fully sent, as far as Deno tells
   * (its `completed` promise): a body given whole (bytes, a string) counts
   * as sent once Deno holds it all, even while a slow client still reads it;
   * a shutdown delivers it all the same.
   */
  readonly inFlight: number;
  /** Resolves once the server is shut down and every connection is closed. */
  readonly finished: Promise<void>;
  /**
   * Shuts the server down gracefully: new requests get 503 with
   * `Connection: close`, requests in flight finish within
   * `shutdownTimeout` (then they are aborted), handlers given up on get as
   * long again to return (5 s at most), and the connections are closed.
   * Calling it again returns the same promise.
   *
   * @returns A promise that resolves like `finished`, except that it does
   * not wait more than a second for clients stalled mid-upload after their
   * answer, whose connections Deno cannot be made to close: `finished`, and
   * the process, wait for them to go (`Deno.exit()` ends a program anyway).
   */
  shutdown(): Promise<void>;
  /** Same as `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Responses still streaming this long after the forced abort are cut off;
 * Deno's own close is waited for this long too (see `Server.#close`).
 */
const FORCE_GRACE = 1000;

/**
 * The longest a shutdown waits, once no request is in flight, for handlers
 * the server gave up on, whose signals have aborted: `requestTimeout`
 * exists to bound a handler that hangs.
 */
const DETACHED_GRACE = 5000;

/** The 400's reason for a handler that failed as its request body broke off. */
const BODY_ENDED = "the request body ended early";

/**
 * Builds a `deno serve` handler (`export default { fetch }`) from an
 * {@linkcode HttpHandler}, with the same timeout, body limit, error answers
 * and access log as {@linkcode serveHttp}. `deno serve --parallel` then runs
 * one per CPU core, each in its own worker.
 *
 * Shutdown is `deno serve`'s own: on SIGINT/SIGTERM it stops gracefully, but
 * without {@linkcode serveHttp}'s drain, so on Deno 2.9 a request body still
 * being read at that moment fails to read (denoland/deno#36809). An error
 * streaming a response body goes to Deno's own log, not to `onError`:
 * `deno serve` takes no error hook.
 *
 * @param handler Answers each request; see {@linkcode HttpHandler}.
 * @param options Timeout, body limit, error hook and access log.
 * @returns An object whose `fetch` answers requests.
 * @throws {TypeError} If `handler` or a callback is not a function,
 * `options` is not an object, or an option has the wrong type.
 * @throws {RangeError} If `requestTimeout` or `maxBodySize` is out of range.
 *
 * @example Calling the handler directly, as `deno serve` would
 * ```ts
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * using app = createFetchHandler(
 *   async (request) => new Response(`${(await request.text()).length} bytes`),
 *   { maxBodySize: 5 },
 * );
 * const ok = await app.fetch(
 *   new Request("http://localhost/", { method: "POST", body: "12345" }),
 * );
 * assertEquals(await ok.text(), "5 bytes");
 * const tooLarge = await app.fetch(
 *   new Request("http://localhost/", { method: "POST", body: "123456" }),
 * );
 * assertEquals(tooLarge.status, 413);
 * await tooLarge.body?.cancel();
 * ```
 */
export function createFetchHandler(
  handler: HttpHandler,
  options: FetchHandlerOptions = {},
): FetchHandler {
  checkObject(options, "Cannot serve");
  return new Dispatcher(handler, options);
}

/**
 * Serves HTTP on `Deno.serve` with a timeout per request, a body size limit,
 * errors answered without internals and a graceful shutdown, the way
 * asyncio's `start_server` serves a coroutine per client.
 *
 * The server is ready when `serveHttp` returns (`addr` holds the port).
 * Malformed requests are Deno's to reject (400); the rest is described by
 * the options.
 *
 * Needs `--allow-net` for the address it listens on (e.g.
 * `--allow-net=127.0.0.1:8080`; port 0 takes `127.0.0.1:0`).
 *
 * @param handler Answers each request; see {@linkcode HttpHandler}.
 * @param options Address, limits, timeouts and callbacks.
 * @returns The running server.
 * @throws {TypeError} If `handler` or a callback is not a function, or an
 * option has the wrong type.
 * @throws {RangeError} If `port`, `requestTimeout`, `maxBodySize` or
 * `shutdownTimeout` is out of range.
 * @throws {Deno.errors.AddrInUse} If the port is taken (the message names
 * the address, Deno's error is the `cause`).
 * @throws {Error} If the address cannot be listened on otherwise: not
 * available (`Deno.errors.AddrNotAvailable`), or a host name that does not
 * resolve (a plain `Error`); the message names the address, Deno's error is
 * the `cause`.
 * @throws {unknown} What `onListen` throws, after the server is closed.
 *
 * @example Hello, world
 * ```ts
 * import { serveHttp } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveHttp(() => new Response("Hello, world!"));
 *
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await response.text(), "Hello, world!");
 * ```
 *
 * @example A handler that stops when its client goes away
 * ```ts
 * import { serveHttp } from "@aio/aio/server/http";
 * import { delay } from "@std/async/delay";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveHttp(async (request, context) => {
 *   await delay(50, { signal: context.signal });
 *   return new Response(`${request.method} done`);
 * }, { requestTimeout: 5000, maxBodySize: 1024 });
 *
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await response.text(), "GET done");
 * ```
 */
export function serveHttp(
  handler: HttpHandler,
  options: ServeHttpOptions = {},
): HttpServer {
  checkObject(options, "Cannot serve");
  const {
    hostname = "127.0.0.1",
    port = 0,
    signal,
    onListen,
    shutdownTimeout = 5000,
    cert,
    key,
  } = options;
  assertString("hostname", hostname);
  assertPort(port);
  checkSignal(signal, "Cannot serve");
  if (onListen !== undefined) assertFunction("onListen", onListen);
  assertLimit("shutdownTimeout", shutdownTimeout, { zero: true });
  if (cert !== undefined) assertString("cert", cert);
  if (key !== undefined) assertString("key", key);
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(
      `Cannot serve: "cert" and "key" go together, received only "${
        cert === undefined ? "key" : "cert"
      }"`,
    );
  }
  const dispatcher = new Dispatcher(handler, options);
  return new Server(dispatcher, {
    hostname,
    port,
    signal,
    onListen,
    shutdownTimeout,
    tls: cert === undefined ? undefined : { cert, key: key! },
  });
}

// States of an exchange.
const HANDLING = 0; // the handler has not answered yet
const ANSWERED = 1; // the response went to Deno
const STREAMING = 2; // answered, its body still streaming and watched
const ABANDONED = 3; // answered by the server: timeout, limit, shutdown

/**
 * One request and its response; the {@linkcode HttpContext} handlers get.
 * Only the interface's members are public API.
 */
class Exchange implements HttpContext {
  readonly startTime: number = Date.now();
  readonly request: Request;
  state = HANDLING;
  /** Resolves the promise Deno waits on, for a handler that answers late. */
  resolve: (response: Response | Promise<Response>) => void = noop;
  /** Called when the client goes away while a late answer is awaited. */
  onGone: ((exchange: Exchange) => void) | undefined = undefined;
  /** Whether the client was seen to go away before `onGone` was set. */
  goneEarly = false;
  /** Whether the server gave up on it while its handler still runs. */
  detached = false;
  /** `performance.now()` at arrival, read only for the access log. */
  started = 0;
  /** Stamp and links in the list of pending exchanges (`TimeoutSweep`). */
  since = 0;
  prev: Exchange | undefined = undefined;
  next: Exchange | undefined = undefined;
  #info: Deno.ServeHandlerInfo | undefined;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(request: Request, info: Deno.ServeHandlerInfo | undefined) {
    this.request = request;
    this.#info = info;
  }

  get remoteAddr(): Deno.NetAddr | undefined {
    let addr: Deno.Addr | undefined;
    try {
      addr = this.#info?.remoteAddr;
    } catch {
      // Deno throws once the request is closed.
    }
    return addr?.transport === "tcp" ? addr : undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) {
        this.#controller.abort(this.#reason);
      } else if (this.state === HANDLING && !asksForWebSocket(this.request)) {
        // Deno aborts request.signal when the client goes away and, until
        // denoland/deno#35733 lands, after every delivered response too, and
        // inside `Deno.upgradeWebSocket()` (the socket's close event tells
        // when a WebSocket client goes). Only an abort while the handler
        // runs, or while a watched body (see `answer`) streams, means the
        // client went away.
        const signal = this.request.signal;
        if (signal.aborted) {
          this.clientGone(signal.reason);
        } else {
          signal.addEventListener("abort", () => {
            if (this.state === HANDLING || this.state === STREAMING) {
              this.clientGone(signal.reason);
            }
          }, { once: true });
        }
      }
    }
    return this.#controller.signal;
  }

  /**
   * The client went away: the signal aborts with `reason`, and an exchange
   * whose handler has not answered is given up (see `Dispatcher.#gone`), now
   * or, while the handler's first synchronous run is not over, after it.
   */
  clientGone(reason: unknown): void {
    this.abort(reason);
    if (this.state !== HANDLING) return;
    if (this.onGone === undefined) this.goneEarly = true;
    else this.onGone(this);
  }

  /** Whether the signal was aborted with `error` as its reason. */
  abortedWith(error: unknown): boolean {
    return this.#aborted && this.#reason === error;
  }

  /** Aborts the signal (once) with `reason`; a watched stream is done. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    if (this.state === STREAMING) this.state = ANSWERED;
    this.#controller?.abort(reason);
  }

  /**
   * Records that the handler answered with `response`, which is returned,
   * or, when the handler read its signal and the response has a body, a
   * copy whose body tells the exchange when it ends, so that the signal
   * aborts if the client goes away mid-stream and not after the end.
   */
  answer(
    response: Response,
    streaming: Set<Exchange>,
  ): Response | Promise<Response> {
    // Deno sends no body for HEAD (it cancels it): nothing to watch.
    if (
      this.#controller === undefined || this.#aborted ||
      response.body === null || response.status === 101 ||
      this.request.method === "HEAD"
    ) {
      this.state = ANSWERED;
      return response;
    }
    // A body already read would give an empty one: refused like a locked
    // one, which getReader() throws for, before anything changes.
    if (response.bodyUsed) {
      throw new TypeError("Cannot answer: the Response body was already read");
    }
    const done = () => {
      streaming.delete(this);
      if (this.state === STREAMING) this.state = ANSWERED;
    };
    const source = response.body.getReader();
    this.state = STREAMING;
    streaming.add(this);
    this.#controller.signal.addEventListener("abort", done, { once: true });
    if (response.headers.has("content-length")) {
      return this.#watched(response, source, done, []);
    }
    return this.#measured(response, source, done);
  }

  /**
   * The watching copy of a response whose body may be whole already: Deno
   * sends a string or bytes body with its `Content-Length`, which a copy
   * streaming it would lose. What the body yields at once (within a few
   * microtasks, up to {@linkcode MEASURED_READS} chunks) is read first; a
   * body that ends there gets its length set, any other is sent chunked as
   * it comes, a read still pending included.
   */
  async #measured(
    response: Response,
    source: ReadableStreamDefaultReader<Uint8Array>,
    done: () => void,
  ): Promise<Response> {
    const chunks: unknown[] = [];
    let size = 0;
    for (let reads = 0; reads < MEASURED_READS; reads++) {
      const read = source.read();
      const step = (await settledSoon(read))?.value;
      if (step === undefined) {
        // Still pending, or failed: the copy goes on from this read.
        return this.#watched(response, source, done, chunks, read);
      }
      if (step.done) {
        const copy = this.#watched(response, source, done, chunks);
        copy.headers.set("content-length", String(size));
        return copy;
      }
      chunks.push(step.value);
      // Not bytes: the copy fails on it when it gets there.
      if (!(step.value instanceof Uint8Array)) break;
      size += step.value.length;
    }
    return this.#watched(response, source, done, chunks);
  }

  /**
   * A copy of `response` whose body (`chunks` already read, then `pending`,
   * then the rest of `source`) is pulled by Deno piece by piece, nothing
   * read ahead: its end is read once Deno has written the last piece.
   */
  #watched(
    response: Response,
    source: ReadableStreamDefaultReader<Uint8Array>,
    done: () => void,
    chunks: unknown[],
    pending?: Promise<ReadableStreamReadResult<unknown>>,
  ): Response {
    let rest: Uint8Array | undefined;
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (rest === undefined) {
            let chunk = chunks.shift();
            if (chunk === undefined) {
              const step = await (pending ?? source.read());
              pending = undefined;
              if (step.done) {
                done();
                return controller.close();
              }
              chunk = step.value;
            }
            if (!(chunk instanceof Uint8Array)) {
              throw new TypeError(
                `Cannot send the response body: a chunk is ${
                  chunk?.constructor?.name ?? typeof chunk
                }, not a Uint8Array`,
              );
            }
            rest = chunk;
          }
        } catch (error) {
          this.abort(error); // the body failed
          throw error;
        }
        controller.enqueue(rest.subarray(0, WATCHED_PIECE));
        rest = rest.length > WATCHED_PIECE
          ? rest.subarray(WATCHED_PIECE)
          : undefined;
      },
      // Deno cancels the body when the client went away, with a bare
      // "resource closed" as the reason, or after a forced shutdown, which
      // aborted the exchange and closed the request (its fields throw).
      cancel: (reason) => {
        if (!this.#aborted) {
          const { signal, method, url } = this.request;
          this.abort(
            signal.aborted ? signal.reason : new DOMException(
              `Cannot send the response to ${method} ${url}: the client went away`,
              "AbortError",
            ),
          );
        }
        return source.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(body, response);
  }
}

function noop(): void {}

/**
 * The most of a watched response body handed to Deno at a time: Deno asks
 * for the next piece once it has written one, so the body's end is read
 * only after the last piece was written.
 */
const WATCHED_PIECE = 64 * 1024;

/** How many chunks a watched body is read ahead to learn its length. */
const MEASURED_READS = 16;

/**
 * `{ value }` if `promise` fulfils within a few microtasks (the reads of a
 * body given whole do), else `undefined`: still pending, or rejected.
 */
async function settledSoon<T>(
  promise: Promise<T>,
): Promise<{ value: T } | undefined> {
  let outcome: { value: T } | undefined;
  let failed = false;
  promise.then((value) => outcome = { value }, () => failed = true);
  for (let hop = 0; hop < 8 && outcome === undefined && !failed; hop++) {
    await null;
  }
  return outcome;
}

/** The errors of request bodies cut at `maxBodySize`. */
const bodyLimitErrors = new WeakSet<object>();

function accessLogThrew(error: unknown): void {
  console.error("serveHttp: accessLog threw:", error);
}

function logError(error: unknown, request: Request | undefined): void {
  const where = request ? ` answering ${request.method} ${request.url}` : "";
  console.error(`serveHttp: error${where}:`, error);
}

function logLine(entry: AccessLogEntry): void {
  const { startTime, remoteAddr, method, url, status, duration } = entry;
  console.log(
    `${new Date(startTime).toISOString()} ${
      remoteAddr?.hostname ?? "-"
    } "${method} ${url}" ${status} ${duration.toFixed(1)}ms`,
  );
}

/** The machinery of one server: {@linkcode createFetchHandler}'s object. */
class Dispatcher implements FetchHandler {
  #handler: HttpHandler;
  #maxBodySize: number;
  #onError: (error: unknown, request: Request | undefined) => Response | void;
  #log: ((entry: AccessLogEntry) => void) | undefined;
  /** Handlers that have not answered, oldest first. */
  #pending: TimeoutSweep<Exchange>;
  /** Answered, with a watched body still streaming. */
  #streaming = new Set<Exchange>();
  /** Requests whose response Deno has not finished sending. */
  #active = 0;
  /**
   * How many handlers still run whose exchange the server gave up (timed
   * out, client gone, body too large): a graceful shutdown waits for them
   * too, for a while. A count, not the exchanges: one that never settles
   * must not be kept alive.
   */
  #detached = 0;
  #draining = false;
  /** Who waits for the next idle moment (see `idle()`). */
  #waiters: { detached: boolean; resolve: () => void }[] = [];
  #delivered = () => {
    this.#active--;
    this.#checkIdle();
  };

  #isIdle(detached: boolean): boolean {
    return this.#active === 0 && (!detached || this.#detached === 0);
  }

  #checkIdle(): void {
    if (this.#waiters.length === 0 || !this.#isIdle(false)) return;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!this.#isIdle(waiter.detached)) return true;
      waiter.resolve();
      return false;
    });
  }

  constructor(handler: HttpHandler, options: FetchHandlerOptions) {
    const {
      requestTimeout = 30_000,
      maxBodySize = 1_048_576,
      onError = logError,
      accessLog = false,
    } = options;
    assertFunction("handler", handler);
    assertLimit("requestTimeout", requestTimeout);
    assertLimit("maxBodySize", maxBodySize, { integer: true, zero: true });
    assertFunction("onError", onError);
    if (typeof accessLog !== "boolean") {
      assertFunction("accessLog", accessLog, "a boolean or a function");
    }
    this.#handler = handler;
    this.#maxBodySize = maxBodySize;
    this.#onError = onError;
    this.#log = accessLog === true ? logLine : accessLog || undefined;
    this.#pending = new TimeoutSweep(requestTimeout, (exchange) => {
      const { method, url } = exchange.request;
      this.#abandon(
        exchange,
        textResponse(503, "Request timed out\n"),
        new TimeoutError(
          `Cannot answer ${method} ${url}: no response after ${requestTimeout} ms`,
          { timeout: requestTimeout, method, url },
        ),
      );
    });
  }

  /** How many requests Deno has not finished answering. */
  get active(): number {
    return this.#active;
  }

  fetch = (
    request: Request,
    info?: Deno.ServeHandlerInfo,
  ): Response | Promise<Response> => {
    const exchange = new Exchange(request, info);
    if (this.#log !== undefined) exchange.started = performance.now();
    if (this.#draining) {
      return this.#logged(
        exchange,
        textResponse(503, "Server is shutting down\n", { connection: "close" }),
      );
    }
    if (info !== undefined) {
      this.#active++;
      info.completed.then(this.#delivered, this.#delivered);
    }
    const method = request.method;
    if (
      method !== "GET" && method !== "HEAD" && this.#maxBodySize !== Infinity
    ) {
      const limited = this.#limit(exchange, request, info !== undefined);
      if (limited instanceof Response) return limited;
      request = limited;
    }
    let result: Response | Promise<Response>;
    try {
      result = this.#handler(request, exchange);
    } catch (error) {
      return this.#answer(exchange, this.#failure(exchange, error));
    }
    if (result instanceof Response) return this.#answer(exchange, result);
    const { promise, resolve } = Promise.withResolvers<Response>();
    exchange.resolve = resolve;
    exchange.onGone = this.#gone;
    // Last: the process's first timer call (the sweep's) runs pending jobs
    // before it returns, and one of them may already answer (a body past
    // the limit). The timeout counts from arrival, the handler's synchronous
    // start included, on the monotonic clock: the whole milliseconds of
    // Date.now() may count up to one too many since the start (a tick
    // crossed), so one less is taken, never a stamp before the arrival.
    const since = Date.now() - exchange.startTime;
    this.#pending.add(exchange, performance.now() - Math.max(0, since - 1));
    Promise.resolve(result).then(
      (response) => this.#settle(exchange, response, false),
      (error) => this.#settle(exchange, error, true),
    );
    if (exchange.goneEarly && exchange.state === HANDLING) this.#gone(exchange);
    return promise;
  };

  /**
   * A 413 for a `Content-Length` over the limit, `request` itself for one
   * within it, or else a copy of `request` whose body stops at the limit.
   */
  #limit(
    exchange: Exchange,
    request: Request,
    fromDeno: boolean,
  ): Request | Response {
    const maxBodySize = this.#maxBodySize;
    const length = contentLength(request.headers.get("content-length"));
    if (length !== undefined) {
      // Deno reads the announced body off the connection and drops it.
      if (length > maxBodySize) return this.#logged(exchange, this.#tooLarge());
      // Deno holds a body to its Content-Length; a Request built in code,
      // handed to the handler directly, need not.
      if (fromDeno) return request;
    }
    const body = request.body;
    if (body === null) return request;
    // A body without Content-Length or Transfer-Encoding is wrapped too:
    // HTTP/2 sends one so.
    return copyRequest(request, {
      body: limitBody(body, maxBodySize, () => {
        const error = new AioError(
          `Cannot read the body of ${request.method} ${request.url}: larger than the ${maxBodySize} bytes maxBodySize`,
        );
        bodyLimitErrors.add(error);
        if (exchange.state === HANDLING) {
          // The body is cancelled, yet Deno reads the rest of it off the
          // connection and keeps the connection open for more requests;
          // `Connection: close` asks the client to close it instead.
          const response = this.#tooLarge();
          // Deno adds its own when the client asked for it.
          if (!asksToClose(request)) {
            response.headers.set("connection", "close");
          }
          this.#abandon(exchange, response, error);
        }
        return error;
      }, (error) => {
        // The client left mid-body: its handler's work is abandoned. (Any
        // other source error is the handler's failure, reported as such.)
        if (
          isBodyLost(error) &&
          (exchange.state === HANDLING || exchange.state === STREAMING)
        ) {
          exchange.clientGone(error);
        }
      }),
    });
  }

  #tooLarge(): Response {
    return textResponse(
      413,
      `Request body larger than ${this.#maxBodySize} bytes\n`,
    );
  }

  /** The late answer of an async handler. */
  #settle(exchange: Exchange, value: unknown, failed: boolean): void {
    if (exchange.state === ABANDONED) {
      if (exchange.detached) {
        exchange.detached = false;
        this.#detached--;
        this.#checkIdle();
      }
      // Already answered by the server; the handler's own answer is moot.
      if (
        failed && !exchange.abortedWith(value) && !isRequestClosed(value) &&
        clientFault(exchange.request, value) === undefined
      ) {
        this.report(value, exchange.request);
      } else if (!failed && value instanceof Response) {
        value.body?.cancel().catch(noop);
      }
      return;
    }
    this.#pending.delete(exchange);
    exchange.resolve(
      this.#answer(
        exchange,
        failed ? this.#failure(exchange, value) : value,
      ),
    );
  }

  #answer(exchange: Exchange, response: unknown): Response | Promise<Response> {
    if (!(response instanceof Response)) {
      const { method, url } = exchange.request;
      response = this.#failure(
        exchange,
        new TypeError(
          `Cannot answer ${method} ${url}: the handler returned ${
            response === null ? "null" : typeof response
          }, not a Response`,
        ),
      );
    }
    let answered: Response | Promise<Response>;
    try {
      answered = exchange.answer(response as Response, this.#streaming);
    } catch (error) {
      const { method, url } = exchange.request;
      const failure = this.#failure(
        exchange,
        new TypeError(
          `Cannot answer ${method} ${url}: the handler's Response body is already read or locked`,
          { cause: error },
        ),
      );
      try {
        answered = exchange.answer(failure, this.#streaming);
      } catch {
        // onError's Response is spent too (one object returned every time).
        answered = exchange.answer(
          textResponse(500, "Internal Server Error\n"),
          this.#streaming,
        );
      }
    }
    return answered instanceof Response
      ? this.#logged(exchange, answered)
      : answered.then((copy) => this.#logged(exchange, copy));
  }

  /**
   * A client went away while its handler, which watches the signal, has not
   * answered: the exchange is given up at once, so that Deno lets the
   * connection go, rather than when the handler returns or times out. (A
   * handler that never reads its signal keeps it until then: watching
   * `request.signal` for every request would double the cost of serving
   * one.)
   */
  #gone = (exchange: Exchange): void => {
    this.#abandon(
      exchange,
      textResponse(499, "Client Closed Request\n"),
      exchange.signal.reason,
    );
  };

  /** Ends the exchange with the server's `response`, aborting its signal. */
  #abandon(exchange: Exchange, response: Response, reason: unknown): void {
    // Deno's request caches its URL and headers once read; read now, they
    // stay readable for the handler and `onError` after this answer.
    void exchange.request.url;
    void exchange.request.headers;
    this.#pending.delete(exchange);
    // Its handler runs on until it settles (see `#settle`).
    if (exchange.state === HANDLING) {
      exchange.detached = true;
      this.#detached++;
    }
    exchange.state = ABANDONED;
    exchange.abort(reason);
    exchange.resolve(this.#logged(exchange, response));
  }

  /**
   * The response for a handler error: `onError`'s, or a bare 500; a 400,
   * unreported, for the client's own faults (see {@linkcode clientFault}).
   */
  #failure(exchange: Exchange, error: unknown): Response {
    const fault = clientFault(exchange.request, error);
    if (fault !== undefined) {
      // A body that broke off: the client is gone or sent less than it
      // announced. Deno aborts no signal for it (denoland/deno#21653).
      if (fault === BODY_ENDED) exchange.abort(error);
      return textResponse(400, `Bad Request: ${fault}\n`);
    }
    if (!exchange.abortedWith(error)) {
      const response = this.report(error, exchange.request);
      if (response instanceof Response) return response;
    }
    return textResponse(500, "Internal Server Error\n");
  }

  /** Hands `error` to `onError`; `request` is undefined for stream errors. */
  report(error: unknown, request?: Request): Response | void {
    // The client's oversized body, or its body broken off by the client
    // leaving, met after the answer began (a handler streaming it back):
    // not the server's failure.
    if (
      bodyLimitErrors.has(error as object) ||
      (request === undefined && isBodyLost(error))
    ) {
      return;
    }
    try {
      return this.#onError(error, request);
    } catch (onErrorError) {
      console.error("serveHttp: onError threw:", onErrorError);
    }
  }

  #logged(exchange: Exchange, response: Response): Response {
    if (this.#log !== undefined) {
      const { request, started } = exchange;
      try {
        // An async logger's rejection must not become an unhandled one.
        const result: unknown = this.#log({
          method: request.method,
          url: request.url,
          status: response.status,
          duration: performance.now() - started,
          startTime: exchange.startTime,
          remoteAddr: exchange.remoteAddr,
        });
        if (result instanceof Promise) result.catch(accessLogThrew);
      } catch (error) {
        accessLogThrew(error);
      }
    }
    return response;
  }

  /** Answers new requests with 503 and `Connection: close` from now on. */
  drain(): void {
    this.#draining = true;
  }

  /**
   * Resolves once no request is active (for a server that passes `info`)
   * and, with `detached`, no handler given up on is still running.
   */
  idle(detached: boolean): Promise<void> {
    if (this.#isIdle(detached)) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ detached, resolve });
    return promise;
  }

  /**
   * Abandons every request still in flight: handlers that have not answered
   * get `reason` on their signal and their clients a 503; watched streaming
   * bodies get `reason` on their signal.
   */
  abandonAll(reason: unknown): void {
    for (const exchange of this.#pending) {
      this.#abandon(
        exchange,
        textResponse(503, "Server is shutting down\n"),
        reason,
      );
    }
    for (const exchange of this.#streaming) exchange.abort(reason);
  }

  [Symbol.dispose](): void {
    this.#pending[Symbol.dispose]();
  }
}

interface ServerOptions {
  hostname: string;
  port: number;
  signal: AbortSignal | undefined;
  onListen: ((addr: Deno.NetAddr) => void) | undefined;
  shutdownTimeout: number;
  tls: { cert: string; key: string } | undefined;
}

class Server implements HttpServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #dispatcher: Dispatcher;
  /**
   * The servers still serving: the one that listens, and those whose
   * listener failed, with the connections they had, until retired.
   */
  #servers = new Set<Deno.HttpServer<Deno.NetAddr>>();
  #ended = Promise.withResolvers<void>();
  /** Aborting it closes every connection at once (Deno's forced stop). */
  #force = new AbortController();
  /** Aborts when shutdown starts. */
  #closing = new AbortController();
  #options: ServerOptions;
  #shutdown: Promise<void> | undefined;
  #onAbort = () => void this.shutdown();

  constructor(dispatcher: Dispatcher, options: ServerOptions) {
    const { hostname, port, signal, onListen } = options;
    this.#dispatcher = dispatcher;
    this.#options = options;
    let thrown: { error: unknown } | undefined;
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = this.#serve(hostname, port, (addr) => {
        try {
          onListen?.(addr);
        } catch (error) {
          thrown = { error };
        }
      });
    } catch (error) {
      throw listenFailure(error, hostname, port);
    }
    if (thrown !== undefined) {
      // It did listen: nobody could stop a server whose start threw.
      this.#closing.abort();
      this.#force.abort();
      throw thrown.error;
    }
    this.addr = server.addr;
    this.finished = this.#ended.promise.finally(() => {
      signal?.removeEventListener("abort", this.#onAbort);
      dispatcher[Symbol.dispose]();
    });
    if (signal?.aborted) {
      void this.shutdown();
    } else {
      signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  get inFlight(): number {
    return this.#dispatcher.active;
  }

  shutdown(): Promise<void> {
    return this.#shutdown ??= this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** A `Deno.serve` on the address, which re-listens if its listener fails. */
  #serve(
    hostname: string,
    port: number,
    onListen?: (addr: Deno.NetAddr) => void,
  ): Deno.HttpServer<Deno.NetAddr> {
    const dispatcher = this.#dispatcher;
    const server = Deno.serve({
      hostname,
      port,
      ...this.#options.tls,
      signal: this.#force.signal,
      onListen: onListen ?? noop,
      // Only errors past the handler reach Deno: a response body that
      // failed while streaming.
      onError: (error) => {
        dispatcher.report(error);
        return textResponse(500, "Internal Server Error\n");
      },
    }, dispatcher.fetch);
    this.#servers.add(server);
    server.finished.catch((error) => this.#relisten(server, error));
    return server;
  }

  /**
   * After Deno's accept loop failed (EMFILE: out of file descriptors), which
   * closes the listener but goes on serving the connections it has: reports
   * the error and listens again on the same address, every
   * {@linkcode ACCEPT_RETRY_DELAY} ms until that works or shutdown starts.
   * Then `failed` is retired once no request is in flight (its keep-alive
   * connections close; a shutdown with requests in flight would spoil
   * their bodies, denoland/deno#36809), so that repeated failures do not
   * pile up.
   */
  async #relisten(
    failed: Deno.HttpServer<Deno.NetAddr>,
    error: unknown,
  ): Promise<void> {
    const closing = this.#closing.signal;
    if (closing.aborted) return; // #close shuts it down
    this.#dispatcher.report(error);
    let reported = "";
    for (let listening = false; !listening && !closing.aborted;) {
      try {
        await delay(ACCEPT_RETRY_DELAY, { signal: closing });
        if (closing.aborted) break; // the delay ended as shutdown began
        this.#serve(this.addr.hostname, this.addr.port);
        listening = true;
      } catch (retry) {
        // Running out of descriptors again is expected; another error
        // (the port was taken meanwhile) is told once.
        const message = String((retry as Error)?.message);
        if (!closing.aborted && !isOutOfFiles(retry) && message !== reported) {
          reported = message;
          this.#dispatcher.report(
            listenFailure(retry, this.addr.hostname, this.addr.port),
          );
        }
      }
    }
    await this.#dispatcher.idle(false);
    if (closing.aborted) return;
    await failed.shutdown().catch(noop);
    this.#servers.delete(failed);
  }

  async #close(): Promise<void> {
    const dispatcher = this.#dispatcher;
    const { shutdownTimeout } = this.#options;
    // Deno's own graceful shutdown makes the bodies of requests in flight
    // unreadable (denoland/deno#36809), so drain first: refuse new requests,
    // wait for those in flight, and only then let Deno close.
    dispatcher.drain();
    if (!await settlesWithin(dispatcher.idle(false), shutdownTimeout)) {
      dispatcher.abandonAll(
        new AioError(
          `Cannot finish the request: the server on port ${this.addr.port} shut down and its ${shutdownTimeout} ms shutdownTimeout passed`,
        ),
      );
      if (!await settlesWithin(dispatcher.idle(false), FORCE_GRACE)) {
        // Once shutdown() has started, Deno can no longer force the close.
        this.#force.abort();
      }
    }
    // Handlers given up on (timed out, client gone, body too large, or
    // aborted just now: their signals have aborted), before the shutdown or
    // during it, get a while longer to wind down, so that shutdown() does
    // not resolve in the middle of their cleanup.
    await settlesWithin(
      dispatcher.idle(true),
      Math.min(shutdownTimeout, DETACHED_GRACE),
    );
    // No re-listening from now on: the set of servers is final.
    this.#closing.abort();
    const servers = [...this.#servers];
    // Done: a server's `finished`, or for one whose listener failed (its
    // `finished` rejected), its shutdown.
    Promise.allSettled(
      servers.map((server) => server.finished.catch(() => server.shutdown())),
    ).then(() => this.#ended.resolve());
    // Deno's shutdown() delivers what is answered and closes the rest, but
    // waits without limit for a request body that never ends (a client that
    // stalled mid-upload after its answer), and once started it can no
    // longer be forced (nor does closing earlier work: answered responses
    // may still be on their way). After a grace, shutdown() is done;
    // `finished` waits for such clients.
    const stopped = Promise.all(servers.map((server) => server.shutdown()));
    if (
      !this.#force.signal.aborted && !await settlesWithin(stopped, FORCE_GRACE)
    ) {
      return;
    }
    await this.finished;
  }
}

/** Whether `error` is running out of file descriptors (EMFILE, ENFILE). */
function isOutOfFiles(error: unknown): boolean {
  return /\bos error 2[34]\b|too many open files/i.test(
    String((error as Error)?.message),
  );
}

/**
 * `request` with another body. Built from the URL, as `new Request(request)`
 * reads Deno's costly `request.signal` (and prints its legacy-abort warning
 * when the request completes); from the request itself only for a method
 * `init` would refuse (CONNECT, TRACE), upper-case (`post`) or bar from
 * having a body (`get`), and for a URL that is not valid.
 */
function copyRequest(request: Request, init: { body: BodyInit }): Request {
  const { method } = request;
  if (
    !/^(?:connect|trac[ek]|get|head)$/i.test(method) &&
    !(/^(?:delete|options|post|put)$/i.test(method) &&
      method !== method.toUpperCase())
  ) {
    try {
      return new Request(request.url, {
        method,
        headers: request.headers,
        ...init,
      });
    } catch {
      // Not a valid URL: Deno built it from a malformed Host header
      // ("Host: [::1"), which the handler gets as sent.
    }
  }
  return new Request(request, { ...init, signal: null });
}

/**
 * What the client did wrong, if a handler failed by the client's doing, as
 * a peer's reset is for serveTcp, not by a fault of the server: the request
 * body it read broke off (the client went away or sent less than it
 * announced; Deno's error names the body), or it decoded the request's own
 * path, whose percent-encoding is invalid. Other errors of these classes,
 * e.g. a `URIError` for the server's own data, are the server's.
 */
function clientFault(request: Request, error: unknown): string | undefined {
  if (error instanceof URIError) {
    // Not a URL (a malformed Host header): the path cannot be judged.
    if (!URL.canParse(request.url)) return undefined;
    try {
      // The path only: a query is often sent with a bare "%" (?q=100%).
      decodeURI(new URL(request.url).pathname);
    } catch {
      return "invalid percent-encoding";
    }
    return undefined;
  }
  if (request.bodyUsed && isBodyLost(error)) return BODY_ENDED;
  return undefined;
}

/**
 * Whether `error` is Deno's for a request body that broke off ("Cannot read
 * request body as underlying resource unavailable"). `fetch` gives a
 * `TypeError` for a response body that breaks (an upstream's).
 */
function isBodyLost(error: unknown): boolean {
  return /\bbody\b/i.test((error as Error)?.message) && (
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Http ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.ConnectionReset
  );
}

/**
 * Whether `error` is Deno's for a request already answered, which a handler
 * meets when it reads the body after the server answered for it (timeout,
 * body limit, shutdown): a consequence of that answer, not a failure.
 */
function isRequestClosed(error: unknown): boolean {
  return error instanceof TypeError && error.message === "Request closed";
}

/** Whether the request asks for a WebSocket (`Upgrade: websocket`). */
function asksForWebSocket(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** Whether the client sent `Connection: close`. */
function asksToClose(request: Request): boolean {
  const value = request.headers.get("connection");
  return value !== null && /(?:^|,)\s*close\s*(?:,|$)/i.test(value);
}

/**
 * The body size a `Content-Length` value announces, or `undefined` for none
 * or one that is not a plain size. Deno accepts a repeated header whose
 * values are equal, which `Headers` joins into a list (`"5, 5"`; RFC 9110
 * section 8.6).
 */
function contentLength(value: string | null): number | undefined {
  if (value === null) return undefined;
  let length: number | undefined;
  for (const item of value.split(",")) {
    const digits = item.trim();
    if (!/^[0-9]+$/.test(digits)) return undefined;
    const size = Number(digits);
    if (length !== undefined && size !== length) return undefined;
    length = size;
  }
  return length;
}

/** Whether `promise` settles within `ms` milliseconds. */
async function settlesWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  if (ms > MAX_TIMER_DELAY) {
    await promise;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
