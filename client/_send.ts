/**
 * The engine behind every client call: one fetch per attempt under a
 * per-attempt deadline (headers and body), retries with backoff or
 * `Retry-After` under an optional total deadline, typed errors, and the hooks
 * `Client` uses for its limits. Private to `client/`.
 *
 * An attempt joins a shared abort scope ({@linkcode joinScope}) for its
 * deadline and the caller's signal instead of making its own
 * `AbortController` and timer; see `_deadlines.ts` for the costs measured.
 * Without a timeout or a signal, `fetch` gets no signal at all.
 *
 * @module
 */

import { delay } from "jsr:@std/async@^1.5.0/delay";
import {
  badNumber,
  checkObject,
  checkSignal,
  escapeInvisible,
  excerpt as cut,
  HTTP_TOKEN,
  show,
} from "../_show.ts";
import { TimeoutError } from "../errors.ts";
import { checkBoolean, refuseForeign } from "./_args.ts";
import { joinScope, leaveScope, parkScope, type Scope } from "./_deadlines.ts";
import { HttpError, NetworkError } from "./errors.ts";
import type { RequestOptions } from "./request.ts";
import {
  exponentialBackoff,
  IDEMPOTENT_METHODS,
  parseRetryAfter,
  RETRY_STATUSES,
  type RetryInfo,
  type RetryOptions,
} from "./retry.ts";

/** The `fetch` a call uses: the global one, or one injected into `Client`. */
export type Fetch = (
  input: string | Request,
  init?: RequestInit,
) => Promise<Response>;

/** {@linkcode RetryOptions} with the defaults filled in and checked. */
export interface RetryPolicy {
  attempts: number;
  retryOn: ReadonlySet<number>;
  methods: ReadonlySet<string>;
  backoff: (retry: number) => number;
  respectRetryAfter: boolean;
  maxRetryAfter: number;
  onRetry: ((info: RetryInfo) => void) | undefined;
}

/** How a call behaves, with every option resolved and checked. */
export interface Policy {
  fetch: Fetch;
  timeout: number;
  totalTimeout: number;
  retry: RetryPolicy;
  throwHttpErrors: (status: number) => boolean;
  maxBodySize: number;
}

/** What a call sends: the normalized request. */
export interface Target {
  /** What `fetch` gets: an absolute URL, or the caller's `Request`. */
  input: string | Request;
  url: string;
  /** Upper case. */
  method: string;
  /** `host:port` of `url`, for per-host limits. */
  host: string;
  /** The fetch options, if any; `signal` is set per attempt. */
  init: RequestInit | undefined;
  /** Whether the body can be sent again (not a one-shot stream). */
  replayable: boolean;
}

/** A `Client`'s limits and bookkeeping, applied around every attempt. */
export interface Session {
  /**
   * Takes the slots an attempt needs; returns a promise only when it has to
   * wait. Gives up with `signal.reason` when `signal` aborts.
   */
  enter(target: Target, signal: AbortSignal | undefined): Promise<void> | void;
  /** Gives back what {@linkcode Session.enter} took. */
  leave(target: Target): void;
  /** Called once when the call is over, its response body included. */
  settled(): void;
}

/** Reads an attempt's response into the call's result. */
export type Consume<T> = (response: Response, attempt: Attempt) => Promise<T>;

/**
 * Something that runs calls: the plain functions (`request()`, ...) use
 * {@linkcode DEFAULT_SENDER}; a `Client` adds its base URL, defaults and
 * limits.
 */
export interface Sender {
  /**
   * The absolute URL of `input`.
   *
   * @throws {TypeError} If it is not valid.
   */
  url(input: string | URL): string;
  call<T>(
    input: string | URL | Request,
    options: RequestOptions | undefined,
    consume: Consume<T>,
  ): Promise<T>;
}

/** Default of `timeout`: 30 s for headers and body. */
const DEFAULT_TIMEOUT = 30_000;

/** Default of `maxBodySize`: 64 MiB read whole into memory. */
const DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024;

const EXCERPT_BYTES = 1024;
const MESSAGE_EXCERPT_CHARS = 200;

const throwOutside2xx = (status: number) => status < 200 || status > 299;
const never = () => false;

/** The policy of a call that does not retry. */
const NO_RETRY: RetryPolicy = Object.freeze({
  attempts: 1,
  retryOn: new Set<number>(),
  methods: new Set<string>(),
  backoff: () => 0,
  respectRetryAfter: false,
  maxRetryAfter: 0,
  onRetry: undefined,
});

/** The policy of `request()` and friends without options. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  fetch: (input: string | Request, init?: RequestInit) => fetch(input, init),
  timeout: DEFAULT_TIMEOUT,
  totalTimeout: Infinity,
  retry: NO_RETRY,
  throwHttpErrors: throwOutside2xx,
  maxBodySize: DEFAULT_MAX_BODY_SIZE,
});

/** Runs calls with the global `fetch` and the default policy. */
export const DEFAULT_SENDER: Sender = {
  url: (input) => new URL(input).href,
  call<T>(
    input: string | URL | Request,
    options: RequestOptions | undefined,
    consume: Consume<T>,
  ): Promise<T> {
    try {
      const policy = resolvePolicy(options, "Cannot request", DEFAULT_POLICY);
      return send(
        prepareTarget(input, options),
        policy,
        callSignal(input, options),
        consume,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  },
};

/**
 * Resolves the call options on top of `base` (the defaults, or a `Client`'s
 * settings).
 *
 * @throws {RangeError} If a timeout is not a positive number or `Infinity`,
 * or a retry setting is out of range.
 * @throws {TypeError} If `signal`, `throwHttpErrors` or a retry hook has the
 * wrong type.
 */
export function resolvePolicy(
  options: RequestOptions | undefined,
  where: string,
  base: Policy,
): Policy {
  if (options === undefined) return base;
  checkObject(options, where);
  refuseForeign(options, FOREIGN_REQUEST_OPTIONS, where);
  const { signal, timeout, totalTimeout, retry, throwHttpErrors, maxBodySize } =
    options;
  // null is no signal, as for fetch: a RequestInit passes as it is.
  checkSignal(signal ?? undefined, where);
  if (
    timeout === undefined && totalTimeout === undefined &&
    retry === undefined && throwHttpErrors === undefined &&
    maxBodySize === undefined
  ) {
    return base;
  }
  return {
    fetch: base.fetch,
    timeout: timeout === undefined
      ? base.timeout
      : checkTimeout(timeout, where, "timeout"),
    totalTimeout: totalTimeout === undefined
      ? base.totalTimeout
      : checkTimeout(totalTimeout, where, "totalTimeout"),
    retry: retry === undefined ? base.retry : resolveRetry(retry, where),
    throwHttpErrors: throwHttpErrors === undefined
      ? base.throwHttpErrors
      : resolveThrowHttpErrors(throwHttpErrors, where),
    maxBodySize: maxBodySize === undefined
      ? base.maxBodySize
      : checkMaxBodySize(maxBodySize, where),
  };
}

/**
 * Checks a `maxBodySize` option: a non-negative integer or `Infinity`.
 *
 * @throws {TypeError} If it is not a number.
 * @throws {RangeError} If it is out of range.
 */
export function checkMaxBodySize(value: number, where: string): number {
  if (
    value !== Infinity && !(Number.isSafeInteger(value) && value >= 0)
  ) {
    throw badNumber(
      where,
      "maxBodySize",
      "a non-negative integer or Infinity",
      value,
    );
  }
  return value;
}

/**
 * The signal a call follows: the caller's `signal` option and, for a
 * `Request`, the request's own signal too (`fetch(request, { signal })`
 * would drop it, and every attempt passes its own).
 */
export function callSignal(
  input: string | URL | Request,
  options: RequestOptions | undefined,
): AbortSignal | undefined {
  const signal = options?.signal ?? undefined;
  if (!(input instanceof Request)) return signal;
  return signal === undefined
    ? input.signal
    : AbortSignal.any([signal, input.signal]);
}

/**
 * Checks a timeout option.
 *
 * @throws {TypeError} If it is not a number.
 * @throws {RangeError} If it is not a positive number or `Infinity`.
 */
export function checkTimeout(
  value: number,
  where: string,
  name: string,
): number {
  if (!(typeof value === "number" && value > 0)) {
    throw badNumber(
      where,
      name,
      "a positive number of milliseconds or Infinity",
      value,
    );
  }
  return value;
}

/**
 * Options of other HTTP clients (ky's) that `fetch` would ignore, so that a
 * request would go out without them and no error: each with what to do.
 */
const FOREIGN_REQUEST_OPTIONS: Record<string, string> = {
  json:
    'send `body: JSON.stringify(value)` with a "content-type: application/json" header',
  searchParams: "put the parameters in the URL (`url.searchParams`)",
  prefixUrl: "give `new Client({ baseUrl })`",
  hooks:
    "use `retry.onRetry`, or wrap each request with `new Client({ fetch })`",
};

/**
 * Checks a `throwHttpErrors` option and turns it into a predicate.
 *
 * @throws {TypeError} If it is neither a boolean nor a function.
 */
export function resolveThrowHttpErrors(
  value: boolean | ((status: number) => boolean),
  where: string,
): (status: number) => boolean {
  if (value === true) return throwOutside2xx;
  if (value === false) return never;
  if (typeof value === "function") return value;
  throw new TypeError(
    `${where}: "throwHttpErrors" must be a boolean or a function, received ${
      show(value)
    }`,
  );
}

/**
 * Checks a `retry` option and fills in the defaults.
 *
 * @throws {RangeError} If `attempts` is not a positive integer or
 * `maxRetryAfter` is negative.
 * @throws {TypeError} If `backoff` or `onRetry` is not a function, or
 * `respectRetryAfter` not a boolean.
 */
export function resolveRetry(
  retry: number | RetryOptions,
  where: string,
): RetryPolicy {
  const {
    attempts = 3,
    retryOn = RETRY_STATUSES,
    methods = IDEMPOTENT_METHODS,
    backoff = exponentialBackoff(),
    respectRetryAfter = true,
    maxRetryAfter = 60_000,
    onRetry,
  } = typeof retry === "number"
    ? { attempts: retry }
    : retryObject(retry, where);
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw badNumber(where, "retry.attempts", "a positive integer", attempts);
  }
  if (typeof maxRetryAfter !== "number" || !(maxRetryAfter >= 0)) {
    throw badNumber(
      where,
      "retry.maxRetryAfter",
      "a number >= 0",
      maxRetryAfter,
    );
  }
  if (typeof backoff !== "function") {
    throw new TypeError(
      `${where}: "retry.backoff" must be a function, received ${show(backoff)}`,
    );
  }
  checkBoolean(where, "retry.respectRetryAfter", respectRetryAfter);
  if (onRetry !== undefined && typeof onRetry !== "function") {
    throw new TypeError(
      `${where}: "retry.onRetry" must be a function, received ${show(onRetry)}`,
    );
  }
  if (!isListOf(retryOn, "number")) {
    throw new TypeError(
      `${where}: "retry.retryOn" must be an array of status codes, received ${
        show(retryOn)
      }`,
    );
  }
  if (!isListOf(methods, "string")) {
    throw new TypeError(
      `${where}: "retry.methods" must be an array of method names, received ${
        show(methods)
      }`,
    );
  }
  return {
    attempts,
    retryOn: new Set(retryOn),
    methods: new Set(methods.map((method) => method.toUpperCase())),
    backoff,
    respectRetryAfter,
    maxRetryAfter,
    onRetry,
  };
}

function retryObject(retry: unknown, where: string): RetryOptions {
  if (typeof retry !== "object" || retry === null) {
    throw new TypeError(
      `${where}: "retry" must be a number of attempts or an object, received ${
        show(retry)
      }`,
    );
  }
  return retry as RetryOptions;
}

function isListOf(value: unknown, type: "number" | "string"): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === type);
}

/**
 * Normalizes what a call sends. `base` resolves relative URLs (a `Client`'s
 * `baseUrl`); `headers` are defaults that the request's own headers override.
 *
 * @throws {TypeError} If the URL is not valid (or relative without `base`),
 * or a GET or HEAD request has a body.
 */
export function prepareTarget(
  input: string | URL | Request,
  options: RequestOptions | undefined,
  base?: URL,
  headers?: Headers,
): Target {
  // No init at all when there is nothing to pass: `fetch(url)` is the
  // cheapest call, and the attempt adds its signal when it has one.
  let init: RequestInit | undefined;
  if (options !== undefined) {
    const { signal: _callers, ...rest } = options;
    // Fields given as undefined are absent to fetch.
    init = rest as RequestInit;
  }
  const body = options?.body;
  const given = options?.method;
  if (given !== undefined && typeof given !== "string") {
    throw new TypeError(
      `Cannot request: "method" must be a string, received ${show(given)}`,
    );
  }
  let url: URL;
  let fetchInput: string | Request;
  let method: string;
  let replayable = !(body instanceof ReadableStream);
  if (input instanceof Request) {
    url = new URL(input.url);
    fetchInput = input;
    method = (given ?? input.method).toUpperCase();
    if (input.bodyUsed && body == null) {
      throw new TypeError(
        `Cannot ${method} "${url.href}": the Request's body was already read`,
      );
    }
    if (input.body instanceof ReadableStream && body === undefined) {
      // A Request's own body is replayed by cloning it before each attempt.
      replayable = true;
    }
  } else {
    url = parseUrl(input, base);
    fetchInput = url.href;
    method = (given ?? "GET").toUpperCase();
  }
  const bodied = body != null ||
    (body === undefined && input instanceof Request && input.body !== null);
  if ((method === "GET" || method === "HEAD") && bodied) {
    throw new TypeError(
      `Cannot ${method} "${url.href}": a ${method} request cannot have a body`,
    );
  }
  // Caller mistakes that fetch() would reject like a failed connection (a
  // TypeError), to be reported as a NetworkError and retried: caught here.
  if (!FETCH_SCHEMES.has(url.protocol)) {
    throw new TypeError(
      `Cannot ${method} "${url.href}": fetch does not support "${url.protocol}" URLs`,
    );
  }
  if (method !== "GET" && !HTTP_TOKEN.test(method)) {
    throw new TypeError(
      `Cannot request "${url.href}": ${
        JSON.stringify(method)
      } is not a valid HTTP method`,
    );
  }
  if (FORBIDDEN_METHODS.has(method)) {
    throw new TypeError(
      `Cannot ${method} "${url.href}": fetch does not send ${method} requests`,
    );
  }
  if (init?.headers !== undefined && !(init.headers instanceof Headers)) {
    try {
      init.headers = new Headers(init.headers);
    } catch (error) {
      throw new TypeError(
        `Cannot ${method} "${url.href}": invalid headers: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }
  if (headers !== undefined) {
    init ??= {};
    // A Headers already: checked above, or the Request's own.
    const own = (init.headers ??
      (input instanceof Request ? input.headers : undefined)) as
        | Headers
        | undefined;
    if (own === undefined) {
      // A copy: a `fetch` wrapper may change what it is given.
      init.headers = new Headers(headers);
    } else {
      const merged = new Headers(headers);
      for (const [name, value] of own) merged.set(name, value);
      init.headers = merged;
    }
  }
  return {
    input: fetchInput,
    url: url.href,
    method,
    host: hostKey(url),
    init,
    replayable,
  };
}

/** The schemes Deno's fetch takes. */
const FETCH_SCHEMES = new Set(["http:", "https:", "data:", "blob:", "file:"]);
/**
 * Deno's fetch errors for what it refuses to send, however often it is
 * tried: a port the Fetch standard blocks (in the URL or a redirect), a
 * redirect loop (past 20 redirects), a redirect to a `Location` that is not
 * a valid http(s) URL (the request's own URL was checked before), a
 * redirect under `redirect: "error"`.
 */
const REFUSED =
  /\bRequests to port \d+ are blocked\b|\bMaximum number of redirects\b|\bredirect to a non HTTP\(s\) url\b|^Invalid URL\b|\bredirect mode is set to 'error'/i;
/** Methods that fetch refuses to send, as a failed connection would fail. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * Whether `fetch` can build its request from `target`: it refuses some
 * options before sending anything (`mode: "navigate"`, an unknown `cache`,
 * a bad `referrer`) with the TypeError of a failed connection. Checked only
 * after a failure; a `Request` input or a stream body, which building would
 * consume, counts as buildable.
 */
function buildable({ input, init }: Target): boolean {
  if (typeof input !== "string" || init?.body instanceof ReadableStream) {
    return true;
  }
  try {
    new Request(input, init);
    return true;
  } catch {
    return false;
  }
}

/** `host:port`, with the scheme's default port written out. */
function hostKey(url: URL): string {
  if (url.port !== "") return url.host;
  return `${url.host}:${url.protocol === "https:" ? 443 : 80}`;
}

/**
 * Calls a retry hook, which is for logging and metrics: what it throws, or
 * an async one rejects with, is logged and does not change the call.
 */
function notifyRetry(
  onRetry: ((info: RetryInfo) => void) | undefined,
  info: RetryInfo,
): void {
  if (onRetry === undefined) return;
  try {
    const result: unknown = onRetry(info);
    if (result instanceof Promise) result.catch(logHookError);
  } catch (error) {
    logHookError(error);
  }
}

function logHookError(error: unknown): void {
  console.error("retry.onRetry threw:", error);
}

/** A URL's scheme, as in "http:": what an absolute URL starts with. */
const SCHEME = /^[a-z][a-z\d+.-]*:/i;

function notUrl(input: unknown): TypeError {
  return new TypeError(
    `Cannot request: the input must be a URL string, a URL or a Request, received ${
      show(input)
    }`,
  );
}

function parseUrl(input: string | URL, base: URL | undefined): URL {
  const other = typeof input !== "string" && !(input instanceof URL);
  // `new URL(null, base)` would make "null" a path.
  if (other && base !== undefined) throw notUrl(input);
  try {
    return new URL(input, base);
  } catch (error) {
    // Without a base, fetch takes what stringifies to a URL; what does not
    // is named as it is, not as a relative URL.
    if (other) throw notUrl(input);
    const relative = base === undefined && !SCHEME.test(String(input));
    throw new TypeError(
      `Cannot request ${JSON.stringify(String(input))}: not a valid URL${
        relative ? " (a relative URL needs a baseUrl)" : ""
      }`,
      { cause: error },
    );
  }
}

/**
 * What a network error says: Deno's `fetch` rejects with a bare "fetch
 * failed" and keeps the reason (a refused connection, a DNS failure) in
 * `cause`; the innermost other message of the chain is the telling one.
 */
function reason(error: Error): string {
  let message = error.message;
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 8; depth++) {
    if (!/^fetch failed$/i.test(cause.message)) message = cause.message;
    cause = cause.cause;
  }
  return message;
}

/**
 * One attempt of a call: its scope (deadline and cancellation, shared with
 * the calls that started in the same tick) and its slots. A consumer that
 * hands the body on (`request()`) calls {@linkcode Attempt.keep} and then
 * owns the cleanup.
 */
export class Attempt {
  /** 1 for the first attempt. */
  readonly number: number;
  readonly #call: Call<unknown>;
  #scope: Scope | undefined;
  #onAbort: (() => void) | undefined;
  #holding = false;
  #kept = false;
  #parked = false;
  #done = false;

  constructor(call: Call<unknown>, number: number) {
    this.#call = call;
    this.number = number;
  }

  /** The request this attempt sends. */
  get target(): Target {
    return this.#call.target;
  }

  /** The most bytes of the body read whole into memory. */
  get maxBodySize(): number {
    return this.#call.policy.maxBodySize;
  }

  /**
   * Aborts on the attempt's timeout, the caller's signal or the total
   * deadline; `undefined` when there is none of those. It may be shared
   * with other calls: read an abort's meaning from {@linkcode Attempt.fail}.
   */
  get signal(): AbortSignal | undefined {
    return this.#scope?.signal;
  }

  /**
   * Whether the attempt's own timeout aborted it. The total deadline and the
   * caller's signal abort it through its parent, and leave this false.
   */
  get expired(): boolean {
    return this.#scope?.expired ?? false;
  }

  /**
   * Maps an error met while fetching or reading the body: when the attempt
   * was aborted, the reason the caller should see (a `TimeoutError` naming
   * the URL for a deadline); a `NetworkError` for the runtime's network
   * `TypeError`; else the error itself.
   */
  fail(error: unknown): unknown {
    const scope = this.#scope;
    if (scope?.signal.aborted) {
      if (!scope.expired) return this.#call.reason();
      const { url, method } = this.#call.target;
      const { timeout } = scope;
      const attempts = this.#call.attempts;
      const which = attempts > 1
        ? ` (attempt ${this.number} of ${attempts})`
        : "";
      return new TimeoutError(
        `Cannot ${method} "${url}": no complete response within ${timeout} ms${which}`,
        { timeout, url, method },
      );
    }
    if (error instanceof TypeError) {
      const { url, method } = this.#call.target;
      // What fetch refuses (a blocked port, a redirect loop), or options it
      // cannot take (`mode: "navigate"`, an unknown `cache`): retrying cannot
      // help.
      if (REFUSED.test(error.message) || !buildable(this.#call.target)) {
        return new TypeError(`Cannot ${method} "${url}": ${reason(error)}`, {
          cause: error,
        });
      }
      return new NetworkError(`Cannot ${method} "${url}": ${reason(error)}`, {
        url,
        method,
        attempts: this.number,
        cause: error,
      });
    }
    return error;
  }

  /**
   * Keeps the attempt (deadline, slots) alive after the call returns, until
   * {@linkcode Attempt.release} is called; that happens by itself if the
   * attempt aborts. Call it last, once nothing can throw.
   */
  keep(): void {
    this.#kept = true;
    this.#call.kept = true;
    const scope = this.#scope;
    if (scope?.signal.aborted) {
      this.release();
    } else if (scope !== undefined) {
      this.#onAbort = () => this.release();
      scope.watch(this.#onAbort);
    }
  }

  /** Whether {@linkcode Attempt.keep} was called. */
  get kept(): boolean {
    return this.#kept;
  }

  /**
   * Parks a kept attempt while nothing reads its body, so that its deadline
   * does not hold the process open (see `_deadlines.ts`); `false` unparks it.
   */
  park(parked: boolean): void {
    if (parked === this.#parked || this.#done) return;
    this.#parked = parked;
    parkScope(this.#scope, parked);
    parkScope(this.#call.total, parked);
  }

  /** Undoes everything the attempt set up; safe to call more than once. */
  release(): void {
    if (this.#done) return;
    this.park(false);
    this.#done = true;
    if (this.#onAbort !== undefined) this.#scope!.unwatch(this.#onAbort);
    leaveScope(this.#scope);
    if (this.#holding) this.#call.session!.leave(this.#call.target);
    if (this.#kept) this.#call.finish();
  }

  /** Marks the session's slots as held by this attempt. */
  hold(): void {
    this.#holding = true;
  }

  /** Starts the deadline and follows the call's signal. */
  start(parent: AbortSignal | undefined, timeout: number): void {
    this.#scope = joinScope(parent, timeout);
  }
}

/** The state of one call across its attempts. */
class Call<T> {
  readonly target: Target;
  readonly policy: Policy;
  readonly consume: Consume<T>;
  readonly session: Session | undefined;
  /** The caller's signal (a `Client`'s own, or one combined with it). */
  readonly parent: AbortSignal | undefined;
  /** How many attempts the call may make. */
  readonly attempts: number;
  /** Set when an attempt kept its response body open past the call. */
  kept = false;
  #total: Scope | undefined;
  #finished = false;
  /** A session slot taken before the call started and not yet handed on. */
  #held: boolean;

  constructor(
    target: Target,
    policy: Policy,
    parent: AbortSignal | undefined,
    consume: Consume<T>,
    session: Session | undefined,
    held: boolean,
  ) {
    this.#held = held;
    this.target = target;
    this.policy = policy;
    this.consume = consume;
    this.session = session;
    this.parent = parent;
    const { retry } = policy;
    this.attempts = target.replayable && retry.methods.has(target.method)
      ? retry.attempts
      : 1;
  }

  /** The scope of the total deadline, if any. */
  get total(): Scope | undefined {
    return this.#total;
  }

  /** Aborts on the caller's signal or the total deadline. */
  get signal(): AbortSignal | undefined {
    return this.#total?.signal ?? this.parent;
  }

  /** Why {@linkcode Call.signal} aborted, as the caller should see it. */
  reason(): unknown {
    if (this.#total?.expired) return this.#totalTimeoutError();
    return this.signal!.reason;
  }

  async run(): Promise<T> {
    try {
      if (this.parent?.aborted) throw this.parent.reason;
      const { retry, totalTimeout } = this.policy;
      if (totalTimeout !== Infinity) {
        this.#total = joinScope(this.parent, totalTimeout);
      }
      const { target, session } = this;
      for (let number = 1;; number++) {
        try {
          // The slot is taken before the attempt exists, so that a call
          // waiting in a long queue holds as little as possible.
          if (session && !this.#held) {
            const waiting = session.enter(target, this.signal);
            if (waiting) {
              try {
                await waiting;
              } catch (error) {
                throw this.signal?.aborted ? this.reason() : error;
              }
            }
          }
          this.#held = false;
          return await this.#attempt(number, session !== undefined);
        } catch (error) {
          const signal = this.signal;
          if (signal?.aborted) throw this.reason();
          if (number >= this.attempts || !isRetriable(error, retry)) {
            throw error;
          }
          const wait = waitBefore(error, number, retry);
          // The deadline of a shared scope is at most a tick past this
          // call's own, which is all the precision a deadline has here.
          if (this.#total && performance.now() + wait >= this.#total.at) {
            throw this.#totalTimeoutError(number, error);
          }
          notifyRetry(retry.onRetry, { attempt: number, error, delay: wait });
          try {
            await delay(wait, signal ? { signal } : {});
          } catch {
            throw this.reason();
          }
        }
      }
    } finally {
      if (this.#held) this.session!.leave(this.target);
      if (!this.kept) this.finish();
    }
  }

  /** Ends the call: leaves the total scope and tells the session. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    leaveScope(this.#total);
    this.session?.settled();
  }

  #totalTimeoutError(attempts?: number, cause?: unknown): TimeoutError {
    const { url, method } = this.target;
    const timeout = this.policy.totalTimeout;
    const after = attempts === undefined
      ? ""
      : ` (gave up after ${attempts} attempt${
        attempts > 1 ? "s" : ""
      }: the next one would start past it)`;
    return new TimeoutError(
      `Cannot ${method} "${url}": no complete response within the total timeout of ${timeout} ms${after}`,
      { timeout, url, method, cause },
    );
  }

  /** One attempt; `holding` says whether it holds the session's slots. */
  async #attempt(number: number, holding: boolean): Promise<T> {
    const { target, policy } = this;
    const signal = this.signal;
    const last = number >= this.attempts;
    const attempt = new Attempt(this as Call<unknown>, number);
    if (holding) attempt.hold();
    try {
      // A slot freed by an aborting call can be handed over during that
      // abort, before this call's own abort listener has run.
      if (signal?.aborted) throw this.reason();
      attempt.start(signal, policy.timeout);
      let input = target.input;
      if (!last && input instanceof Request && input.body !== null) {
        input = input.clone();
      }
      let init = target.init;
      const attemptSignal = attempt.signal;
      if (attemptSignal !== undefined) {
        if (init === undefined) init = { signal: attemptSignal };
        else init.signal = attemptSignal;
      }
      let response: Response;
      try {
        response = await policy.fetch(input, init);
      } catch (error) {
        throw attempt.fail(error);
      }
      if (!(response instanceof Response)) {
        throw new TypeError(
          `Cannot ${target.method} "${target.url}": fetch resolved to ${
            show(response)
          }, not a Response`,
        );
      }
      const { status } = response;
      if (!last && policy.retry.retryOn.has(status)) {
        await discard(response);
        throw httpError(target, response, "", number);
      }
      if (policy.throwHttpErrors(status)) {
        throw httpError(
          target,
          response,
          await excerpt(response, attempt),
          number,
        );
      }
      return await this.consume(response, attempt);
    } finally {
      if (!attempt.kept) attempt.release();
    }
  }
}

/**
 * Runs a call: attempts, retries and waits, under the caller's `signal`
 * and the policy's deadlines. `consume` turns a response into the result
 * while the attempt's deadline still runs. `held`: the caller already took
 * `session`'s slot for the first attempt.
 *
 * @throws {HttpError} For a status `throwHttpErrors` rejects.
 * @throws {NetworkError} When the connection fails.
 * @throws {TimeoutError} When an attempt or the whole call runs out of time.
 * @throws {unknown} `signal.reason` when `signal` aborts.
 */
export function send<T>(
  target: Target,
  policy: Policy,
  signal: AbortSignal | undefined,
  consume: Consume<T>,
  session?: Session,
  held = false,
): Promise<T> {
  return new Call(target, policy, signal, consume, session, held).run();
}

function isRetriable(error: unknown, retry: RetryPolicy): boolean {
  if (error instanceof HttpError) return retry.retryOn.has(error.status);
  // A TimeoutError here is the attempt's own: an abort of the whole call has
  // been handled before this is asked.
  return error instanceof NetworkError || error instanceof TimeoutError;
}

function waitBefore(
  error: unknown,
  retry: number,
  policy: RetryPolicy,
): number {
  if (policy.respectRetryAfter && error instanceof HttpError) {
    const after = parseRetryAfter(error.headers.get("retry-after"));
    if (after !== undefined) return Math.min(after, policy.maxRetryAfter);
  }
  const wait = policy.backoff(retry);
  if (typeof wait !== "number" || Number.isNaN(wait)) {
    throw new TypeError(
      `Cannot retry: "retry.backoff" must return a number of milliseconds, received ${
        show(wait)
      }`,
    );
  }
  return Math.max(0, wait);
}

function httpError(
  target: Target,
  response: Response,
  body: string,
  attempts: number,
): HttpError {
  const { url, method } = target;
  const { status, statusText, headers } = response;
  const shown = oneLine(body, MESSAGE_EXCERPT_CHARS);
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new HttpError(
    `Cannot ${method} "${url}": server answered ${status}${
      statusText ? ` ${statusText}` : ""
    }${tries}${shown ? `: ${shown}` : ""}`,
    { url, method, attempts, status, statusText, headers, body },
  );
}

/**
 * `text` on one line (runs of white space made one space), cut to `max`
 * characters, with invisible characters escaped: safe to quote a server's
 * body in an error message.
 */
export function oneLine(text: string, max: number): string {
  return escapeInvisible(cut(text.replace(/\s+/g, " ").trim(), max));
}

/** Cancels a body nobody will read, so its connection is freed at once. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The body already failed; there is nothing left to free.
  }
}

/**
 * Reads the start of an error response's body (up to 1 KiB) and cancels the
 * rest. A body that fails to read, or stalls until the attempt's timeout,
 * gives what arrived, so that the status is not lost; the total deadline and
 * the caller's abort throw their reason (a `TimeoutError` for the former).
 */
async function excerpt(response: Response, attempt: Attempt): Promise<string> {
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const bytes = new Uint8Array(EXCERPT_BYTES);
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, EXCERPT_BYTES - size);
      bytes.set(value.subarray(0, take), size);
      size += take;
    }
  } catch (error) {
    if (attempt.signal?.aborted && !attempt.expired) throw attempt.fail(error);
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(bytes.subarray(0, size)).trim();
}
