/**
 * Running many tasks at once: {@linkcode gather} (asyncio's `gather`) for a
 * known list, {@linkcode mapConcurrent} for a stream of inputs of any length.
 *
 * @module
 */

import { badNumber, show } from "../_show.ts";
import { abortError } from "./_abort.ts";
import { copyResponse, isWhole, readWhole } from "./_body.ts";
import { checkBoolean, checkOptions, refuseForeign } from "./_args.ts";
import { DEFAULT_SENDER } from "./_send.ts";
import type { TaskFunction, TaskValue } from "./task_group.ts";

/**
 * A task for {@linkcode gather}: a function that gets an `AbortSignal`, or a
 * URL or `Request` to fetch with `request()` from `@aio/aio/client/request`.
 *
 * @example Mixing functions, URLs and `Request`s in one list
 * ```ts
 * import { gather, type GatherTask } from "@aio/aio/client/gather";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(`${req.method} ${new URL(req.url).pathname}`),
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const tasks: GatherTask[] = [
 *   `${base}/text`,
 *   new Request(`${base}/items`, { method: "POST", body: "{}" }),
 *   () => "computed locally",
 * ];
 * const [text, posted, local] = await gather(tasks);
 * assertInstanceOf(text, Response);
 * assertEquals(await text.text(), "GET /text");
 * assertInstanceOf(posted, Response);
 * assertEquals(await posted.text(), "POST /items");
 * assertEquals(local, "computed locally");
 * ```
 */
export type GatherTask = TaskFunction<unknown> | string | URL | Request;

/**
 * What {@linkcode gather} produces for one task: the resolved value of a
 * function, or the `Response` (body already read) of a URL or `Request`.
 *
 * @typeParam Task The type of one task.
 *
 * @example Typing a helper that runs one task of any kind
 * ```ts
 * import { gather, type GatherTask, type GatherValue } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * async function runOne<T extends GatherTask>(task: T): Promise<GatherValue<T>> {
 *   const [value] = await gather([task]);
 *   return value;
 * }
 * const user = { id: 7, name: "Ada" };
 * // GatherValue<() => Promise<{ id: number; name: string }>> is the object type.
 * const loaded: { id: number; name: string } = await runOne(() => Promise.resolve(user));
 * assertEquals(loaded, user);
 * // GatherValue<URL> is Response.
 * const value: GatherValue<URL> = new Response("typed as a Response");
 * assertEquals(await value.text(), "typed as a Response");
 * ```
 */
export type GatherValue<Task> = Task extends string | URL | Request ? Response
  : TaskValue<Task>;

/**
 * Counters passed to {@linkcode GatherOptions.onProgress}.
 *
 * @example Recording progress, failures included
 * ```ts
 * import { gather, type GatherProgress } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * const reports: GatherProgress[] = [];
 * await gather([
 *   () => "a",
 *   () => Promise.reject(new Error("b failed")),
 *   () => "c",
 * ], {
 *   settle: true,
 *   concurrency: 1,
 *   onProgress: (progress) => reports.push(progress),
 * });
 * assertEquals(reports, [
 *   { done: 1, failed: 0, total: 3 },
 *   { done: 2, failed: 1, total: 3 },
 *   { done: 3, failed: 1, total: 3 },
 * ]);
 * ```
 */
export interface GatherProgress {
  /** How many tasks have finished, successfully or not. */
  done: number;
  /** How many of the finished tasks failed. */
  failed: number;
  /** How many tasks there are in all. */
  total: number;
}

/**
 * Options of {@linkcode gather}.
 *
 * @example At most two requests at once, through a custom sender
 * ```ts
 * import { gather, type GatherOptions } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * let running = 0;
 * let most = 0;
 * const options = {
 *   concurrency: 2,
 *   // Answers URL tasks without a network, as a test double would.
 *   request: async (input) => {
 *     most = Math.max(most, ++running);
 *     await Promise.resolve();
 *     running--;
 *     return new Response(`answer for ${new URL(String(input)).pathname}`);
 *   },
 * } satisfies GatherOptions;
 * const urls = ["https://api.example/a", "https://api.example/b", "https://api.example/c"];
 * const responses = await gather(urls, options);
 * assertEquals(
 *   await Promise.all(responses.map((response) => response.text())),
 *   ["answer for /a", "answer for /b", "answer for /c"],
 * );
 * assertEquals(most, 2);
 * ```
 */
export interface GatherOptions {
  /**
   * The most tasks running at once: a positive integer, or `Infinity`.
   *
   * @default {Infinity}
   */
  concurrency?: number | undefined;
  /**
   * Aborts every running task (their signals abort with this signal's reason),
   * starts no more, and makes `gather()` reject with the reason once the
   * running tasks have settled.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
  /**
   * Whether to report each task's outcome instead of failing fast: the result
   * then holds `{ status: "fulfilled", value }` or
   * `{ status: "rejected", reason }` per task (asyncio's
   * `return_exceptions=True`), and a failure aborts nothing.
   *
   * @default {false}
   */
  settle?: boolean | undefined;
  /**
   * Called after each task finishes, with the counters so far, until the run
   * fails. If it throws, `gather()` fails with that error.
   *
   * @default {undefined}
   */
  onProgress?: ((progress: GatherProgress) => void) | undefined;
  /**
   * Sends the URL and `Request` tasks; `gather()` then reads each response's
   * body within the task. A session such as `Client` passes its own here, so
   * its base URL, headers, timeout and limits apply. By default the
   * library's `request()` engine with its defaults sends them and reads
   * each body within the attempt: a body cut off is a `NetworkError` and
   * one over 64 MiB a `BodyTooLargeError` (see `RequestOptions`).
   *
   * @default {undefined}
   */
  request?:
    | ((
      input: string | URL | Request,
      init: { signal: AbortSignal },
    ) => Promise<Response>)
    | undefined;
}

/**
 * Runs tasks concurrently and resolves to their results in input order
 * (asyncio's `gather`).
 *
 * Each task is a function that gets an `AbortSignal`, or a URL or `Request`
 * fetched with `request()` (its default timeout and `HttpError` on a non-2xx
 * status included) or with the `request` option. A fetched response's body is read into memory before the
 * task counts as done, so a `concurrency` slot covers the whole transfer and
 * no body is left unread; the `Response` it resolves to reads from that copy.
 *
 * By default the first
 * task that fails aborts the signals of the tasks still running and starts no
 * more; `gather()` rejects with that first error once the running tasks have
 * settled, so no task outlives the call. The other tasks' signals abort with
 * an `AbortError` `DOMException` whose `cause` is that first error. A task that
 * ignores its signal delays the rejection until it finishes.
 *
 * With `settle: true` every task runs to the end and the result reports each
 * outcome.
 *
 * Needs no permission of its own: the tasks need theirs (URL tasks,
 * fetched with `request`, need `--allow-net` for their hosts).
 *
 * @typeParam T The tasks, as a tuple or array type.
 * @param tasks The functions to run, each called once with a signal, or URLs
 * and `Request`s to fetch.
 * @param options `concurrency`, `signal`, `onProgress`; `settle` must be
 * `false` or left out for this form.
 * @returns The values in the order of `tasks`.
 * @throws {TypeError} If `tasks` is not an array, a task is not a function,
 * a URL or a `Request`, `options` is not an object, `signal` is not an
 * `AbortSignal`, `request` or `onProgress` is not a function, `settle` is
 * not a boolean, or `concurrency` is not a number.
 * @throws {RangeError} If `concurrency` is not a positive integer or
 * `Infinity`.
 * @throws {unknown} The first task's error, the `onProgress` error, or the
 * `signal`'s reason.
 *
 * @example Three tasks at once, results in order
 * ```ts
 * import { gather } from "@aio/aio/client/gather";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const [a, b, c] = await gather([
 *   async (signal) => { await delay(20, { signal }); return "slow"; },
 *   () => 42,
 *   async () => ({ ok: true }),
 * ]);
 * assertEquals([a, b, c], ["slow", 42, { ok: true }]);
 * ```
 *
 * @example Fetching URLs, the seed's `asyncio.gather(*fetches)`
 * ```ts
 * import { gather } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => new Response(`page ${new URL(req.url).pathname}`),
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const responses = await gather([`${base}/1`, new URL(`${base}/2`)], {
 *   concurrency: 10,
 * });
 * assertEquals(responses.map((r) => r.status), [200, 200]);
 * assertEquals(await responses[1].text(), "page /2");
 * ```
 *
 * @example At most two at a time; the first error cancels the rest
 * ```ts
 * import { gather } from "@aio/aio/client/gather";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * let started = 0;
 * const tasks = [1, 2, 3, 4, 5].map((n) => async (signal: AbortSignal) => {
 *   started++;
 *   if (n === 2) throw new Error(`task ${n} failed`);
 *   await delay(60_000, { signal });
 * });
 * await assertRejects(() => gather(tasks, { concurrency: 2 }), Error, "task 2 failed");
 * assertEquals(started, 2); // tasks 3 to 5 never started
 * ```
 */
export function gather<const T extends readonly GatherTask[]>(
  tasks: T,
  options?: GatherOptions & { settle?: false | undefined },
): Promise<{ -readonly [K in keyof T]: GatherValue<T[K]> }>;
/**
 * Runs tasks concurrently and reports each one's outcome in input order
 * (asyncio's `gather(..., return_exceptions=True)`). A failure aborts
 * nothing; only the `signal` option stops the run early.
 *
 * Needs no permission of its own: the tasks need theirs (URL tasks,
 * fetched with `request`, need `--allow-net` for their hosts).
 *
 * @typeParam T The tasks, as a tuple or array type.
 * @param tasks The functions to run, each called once with a signal, or URLs
 * and `Request`s to fetch.
 * @param options `settle: true`, and `concurrency`, `signal`, `onProgress`.
 * @returns One `PromiseSettledResult` per task, in the order of `tasks`.
 * @throws {TypeError} If `tasks` is not an array, a task is not a function,
 * a URL or a `Request`, `options` is not an object, `signal` is not an
 * `AbortSignal`, `request` or `onProgress` is not a function, `settle` is
 * not a boolean, or `concurrency` is not a number.
 * @throws {RangeError} If `concurrency` is not a positive integer or
 * `Infinity`.
 * @throws {unknown} The `onProgress` error or the `signal`'s reason.
 *
 * @example Keeping going past failures
 * ```ts
 * import { gather } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new Error("no");
 * const results = await gather([() => 1, () => Promise.reject(error)], { settle: true });
 * assertEquals(results, [
 *   { status: "fulfilled", value: 1 },
 *   { status: "rejected", reason: error },
 * ]);
 * ```
 */
export function gather<const T extends readonly GatherTask[]>(
  tasks: T,
  options: GatherOptions & { settle: true },
): Promise<
  { -readonly [K in keyof T]: PromiseSettledResult<GatherValue<T[K]>> }
>;
/**
 * Runs tasks concurrently with options whose `settle` is known only at run
 * time (a {@linkcode GatherOptions} variable, a flag): each result is a
 * value, or a `PromiseSettledResult` when `settle` is `true`.
 *
 * Needs no permission of its own: the tasks need theirs (URL tasks,
 * fetched with `request`, need `--allow-net` for their hosts).
 *
 * @typeParam T The tasks, as a tuple or array type.
 * @param tasks The functions to run, each called once with a signal, or URLs
 * and `Request`s to fetch.
 * @param options `concurrency`, `signal`, `settle`, `onProgress`.
 * @returns The results in the order of `tasks`: values, or with `settle`
 * one `PromiseSettledResult` per task.
 * @throws {TypeError} If `tasks` is not an array, a task is not a function,
 * a URL or a `Request`, `options` is not an object, `signal` is not an
 * `AbortSignal`, `request` or `onProgress` is not a function, `settle` is
 * not a boolean, or `concurrency` is not a number.
 * @throws {RangeError} If `concurrency` is not a positive integer or
 * `Infinity`.
 * @throws {unknown} Without `settle`, the first task's error; the
 * `onProgress` error or the `signal`'s reason.
 *
 * @example Options kept in a variable
 * ```ts
 * import { gather, type GatherOptions } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * const options: GatherOptions = { concurrency: 2, settle: Deno.args.includes("--settle") };
 * const results = await gather([() => 1, () => 2], options);
 * assertEquals(results, [1, 2]);
 * ```
 */
export function gather<const T extends readonly GatherTask[]>(
  tasks: T,
  options?: GatherOptions,
): Promise<
  {
    -readonly [K in keyof T]:
      | GatherValue<T[K]>
      | PromiseSettledResult<GatherValue<T[K]>>;
  }
>;
export function gather(
  tasks: readonly GatherTask[],
  options: GatherOptions = {},
): Promise<unknown[]> {
  try {
    return checkedGather(tasks, options);
  } catch (error) {
    // Bad arguments reject, as every other failure of gather() does.
    return Promise.reject(error);
  }
}

function checkedGather(
  tasks: readonly GatherTask[],
  options: GatherOptions,
): Promise<unknown[]> {
  const {
    concurrency = Infinity,
    signal,
    settle = false,
    onProgress,
    request: send = requestWhole,
  } = checkOptions(options, "Cannot gather");
  if (!Array.isArray(tasks)) {
    throw new TypeError(
      `Cannot gather: "tasks" must be an array, received ${show(tasks)}`,
    );
  }
  refuseForeign(options, FOREIGN_OPTIONS, "Cannot gather");
  checkBoolean("Cannot gather", "settle", settle);
  if (typeof send !== "function") {
    throw new TypeError(
      `Cannot gather: "request" must be a function, received ${show(send)}`,
    );
  }
  if (onProgress !== undefined && typeof onProgress !== "function") {
    throw new TypeError(
      `Cannot gather: "onProgress" must be a function, received ${
        show(onProgress)
      }`,
    );
  }
  if (
    !(Number.isInteger(concurrency) && concurrency > 0) &&
    concurrency !== Infinity
  ) {
    throw badNumber(
      "Cannot gather",
      "concurrency",
      "a positive integer or Infinity",
      concurrency,
    );
  }
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    if (
      typeof task !== "function" && typeof task !== "string" &&
      !(task instanceof URL) && !(task instanceof Request)
    ) {
      throw new TypeError(
        `Cannot gather: task ${i} must be a function, a URL or a Request, received ${
          show(task)
        }`,
      );
    }
  }
  return runAll(tasks.slice(), concurrency, signal, settle, onProgress, send);
}

async function runAll(
  tasks: GatherTask[],
  concurrency: number,
  outer: AbortSignal | undefined,
  settle: boolean,
  onProgress: ((progress: GatherProgress) => void) | undefined,
  send: NonNullable<GatherOptions["request"]>,
): Promise<unknown[]> {
  outer?.throwIfAborted();
  const total = tasks.length;
  const results = new Array<unknown>(total);
  const controller = new AbortController();
  const signal = controller.signal;
  let failure: { error: unknown } | undefined;
  let next = 0;
  let done = 0;
  let failed = 0;

  const fail = (error: unknown, reason: unknown) => {
    if (failure) return;
    failure = { error };
    controller.abort(reason);
  };
  const onOuterAbort = () => fail(outer!.reason, outer!.reason);

  // A fixed pool of workers, each pulling the next index: the same shape as a
  // hand-written pool, with no per-task allocation beyond the task's own.
  const worker = async () => {
    while (next < total && failure === undefined) {
      const index = next++;
      const task = tasks[index]!;
      let value: unknown;
      let error: unknown;
      let ok = true;
      try {
        value = await (typeof task === "function"
          ? task(signal)
          : fetchWhole(send, task, signal));
      } catch (reason) {
        ok = false;
        error = reason;
      }
      // Once the run has failed, the rest are cancellations, not progress.
      const report = onProgress !== undefined && failure === undefined;
      if (ok) {
        results[index] = settle ? { status: "fulfilled", value } : value;
      } else {
        failed++;
        if (settle) {
          results[index] = { status: "rejected", reason: error };
        } else {
          fail(
            error,
            abortError(`Cannot finish task: task ${index} failed`, error),
          );
        }
      }
      done++;
      if (report) {
        try {
          onProgress({ done, failed, total });
        } catch (error) {
          fail(
            error,
            abortError("Cannot finish task: onProgress threw", error),
          );
        }
      }
    }
  };

  outer?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    const workers = new Array<Promise<void>>(Math.min(concurrency, total));
    for (let i = 0; i < workers.length; i++) workers[i] = worker();
    await Promise.all(workers);
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
  }
  if (failure) throw failure.error;
  return results;
}

/**
 * Fetches `input` and reads the whole body within the task, so the
 * concurrency slot covers the transfer and no body is left unread.
 */
async function fetchWhole(
  send: NonNullable<GatherOptions["request"]>,
  input: string | URL | Request,
  signal: AbortSignal,
): Promise<Response> {
  const response = await send(input, { signal });
  if (isWhole(response)) return response;
  const body = await response.arrayBuffer();
  return copyResponse(response, body.byteLength === 0 ? null : body);
}

/** The default sender of URL tasks: the body read within the attempt. */
function requestWhole(
  input: string | URL | Request,
  init: { signal: AbortSignal },
): Promise<Response> {
  return DEFAULT_SENDER.call(input, init, readWhole);
}

/**
 * Options of {@linkcode mapConcurrent}.
 *
 * @example Two calls at a time, stopped by a signal
 * ```ts
 * import { mapConcurrent, type MapConcurrentOptions } from "@aio/aio/client/gather";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const controller = new AbortController();
 * const options: MapConcurrentOptions = { concurrency: 2, signal: controller.signal };
 * let running = 0;
 * let most = 0;
 * const seen: number[] = [];
 * const double = async (n: number) => {
 *   most = Math.max(most, ++running);
 *   await Promise.resolve();
 *   running--;
 *   return n * 2;
 * };
 * await assertRejects(async () => {
 *   for await (const value of mapConcurrent([1, 2, 3, 4, 5, 6], double, options)) {
 *     seen.push(value);
 *     if (value === 6) controller.abort(new Error("enough"));
 *   }
 * }, Error, "enough");
 * assertEquals(seen, [2, 4, 6]);
 * assertEquals(most, 2);
 * ```
 */
export interface MapConcurrentOptions {
  /**
   * The most calls of `fn` running at once: a positive integer (not
   * `Infinity`, which would read an endless input forever). At most this
   * many finished results more wait for the consumer, so at most
   * `2 * concurrency` inputs are held at any time (one more while a result
   * is being handed over).
   *
   * @default {16}
   */
  concurrency?: number | undefined;
  /**
   * Whether results come out in input order. With `false` each result comes
   * out as soon as it is ready, so one slow item does not hold back the
   * others.
   *
   * @default {true}
   */
  ordered?: boolean | undefined;
  /**
   * Stops the run: running calls are aborted, no more inputs are read, and
   * the iterator throws the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

/**
 * Maps an iterable through an async function, running up to `concurrency`
 * calls at once, and yields the results as an async iterable.
 *
 * Inputs are read lazily, only as slots free up, so an endless or
 * million-item input is never held in memory: at most `2 * concurrency`
 * inputs are started but not yet consumed (one more while a result is being
 * handed over). A promise that a sync iterable
 * yields is awaited before it is passed to `fn`, as `for await` does.
 *
 * Each call gets an `AbortSignal` that aborts when the run stops early:
 * - when a call fails, the others are aborted, no more inputs are read, and
 *   the iterator throws that error;
 * - when the consumer leaves the loop (`break`, `return`, an exception) or
 *   calls the iterator's `return()`, the calls still running are aborted,
 *   also while a `next()` is pending (a read raced against a timeout): that
 *   `next()` then ends with `done: true`;
 * - when the `signal` option aborts, the iterator throws its reason.
 *
 * In each case the iterator finishes only after the running calls have
 * settled, so no call outlives the loop, and then closes the input iterator
 * (calls its `return()`) unless the input ended or its `next()` threw. A read
 * still pending at that moment is not waited for: `return()` is called at
 * once (an async generator runs it as soon as that read completes), the item
 * the read brings is dropped, and an error of that read or of that
 * `return()` is ignored. Otherwise an error of `return()` is thrown when the
 * loop was left with `break` or `return`, as in `for...of`; the first error
 * of the run wins over it.
 *
 * Unlike `pooledMap` from `@std/async`, which this replaces here, calls get a
 * signal and are aborted on failure or `break`, results can come out in
 * completion order, the first error is thrown as is (not an `AggregateError`
 * after everything finished), and reading inputs waits for the consumer.
 *
 * Needs no permission of its own: the tasks need theirs.
 *
 * @typeParam T The input items.
 * @typeParam R What `fn` returns for each.
 * @param iterable The inputs, sync or async.
 * @param fn Called once per input with the call's signal and the input's
 * index (0, 1, ...: p-map's mapper has it second).
 * @param options `concurrency`, `ordered`, `signal`.
 * @returns An async iterator of the results.
 * @throws {TypeError} At once, from this call rather than from the iterator,
 * if `iterable` is neither iterable nor async iterable, `fn` is not a
 * function, `options` is not an object, `signal` is not an `AbortSignal`,
 * `ordered` is not a boolean, or `concurrency` is not a number.
 * @throws {RangeError} At once if `concurrency` is not a positive integer.
 * @throws {TypeError} From the iterator, if the input's `next()` returns
 * something other than an object.
 * @throws {unknown} From the iterator: the first error of `fn` or of the
 * input (its `next()` throwing, or a promise it yields rejecting), the
 * `signal`'s reason, or the error of the input's `return()` (see above).
 *
 * @example Mapping lazily generated inputs, four at a time
 * ```ts
 * import { mapConcurrent } from "@aio/aio/client/gather";
 * import { assertEquals } from "@std/assert";
 *
 * function* ids() {
 *   for (let id = 1; id <= 10; id++) yield id;
 * }
 * const squares = [];
 * for await (const square of mapConcurrent(ids(), async (id) => id * id, { concurrency: 4 })) {
 *   squares.push(square);
 * }
 * assertEquals(squares, [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);
 * ```
 *
 * @example Results as they complete; stopping early aborts the rest
 * ```ts
 * import { mapConcurrent } from "@aio/aio/client/gather";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const waits = [300, 10, 200];
 * const results = mapConcurrent(waits, async (ms, signal) => {
 *   await delay(ms, { signal });
 *   return ms;
 * }, { ordered: false });
 * for await (const ms of results) {
 *   assertEquals(ms, 10); // the fastest comes first
 *   break; // aborts the 300 ms and 200 ms calls
 * }
 * ```
 */
export function mapConcurrent<T, R>(
  iterable: Iterable<T | PromiseLike<T>> | AsyncIterable<T>,
  fn: (item: T, signal: AbortSignal, index: number) => R | PromiseLike<R>,
  options: MapConcurrentOptions = {},
): AsyncGenerator<Awaited<R>, void, undefined> {
  const { concurrency = 16, ordered = true, signal } = checkOptions(
    options,
    "Cannot map concurrently",
  );
  if (!isIterable(iterable)) {
    throw new TypeError(
      `Cannot map concurrently: "iterable" must be an iterable or an async iterable, received ${
        show(iterable)
      }`,
    );
  }
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot map concurrently: "fn" must be a function, received ${show(fn)}`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw badNumber(
      "Cannot map concurrently",
      "concurrency",
      concurrency === Infinity
        ? "a positive integer (not Infinity: the input may be endless)"
        : "a positive integer",
      concurrency,
    );
  }
  checkBoolean("Cannot map concurrently", "ordered", ordered);
  refuseForeign(options, FOREIGN_OPTIONS, "Cannot map concurrently");
  const stop: LoopStop = { request: noop };
  const results = mapLoop(iterable, fn, concurrency, ordered, signal, stop);
  // An async generator runs return() only after a pending next(): asked to
  // stop first, the loop ends that next() ({ done: true }) as soon as the
  // running calls are aborted and settled, so a consumer racing a read
  // against a timeout can stop the calls.
  const close = results.return;
  results.return = (value) => {
    stop.request();
    return close.call(results, value);
  };
  return results;
}

/** Lets `mapConcurrent`'s `return()` reach a loop waiting for results. */
interface LoopStop {
  request(): void;
}

function noop(): void {}

interface Slot<R> {
  settled: boolean;
  value: R | undefined;
}

async function* mapLoop<T, R>(
  iterable: Iterable<T | PromiseLike<T>> | AsyncIterable<T>,
  fn: (item: T, signal: AbortSignal, index: number) => R | PromiseLike<R>,
  limit: number,
  ordered: boolean,
  outer: AbortSignal | undefined,
  stop: LoopStop,
): AsyncGenerator<Awaited<R>, void, undefined> {
  outer?.throwIfAborted();
  const isAsync =
    typeof (iterable as AsyncIterable<T>)[Symbol.asyncIterator] === "function";
  const iterator: Iterator<T | PromiseLike<T>> | AsyncIterator<T> = isAsync
    ? (iterable as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (iterable as Iterable<T | PromiseLike<T>>)[Symbol.iterator]();
  const controller = new AbortController();
  const signal = controller.signal;
  const window = 2 * limit;
  // Ordered: a slot per started input, in input order. Unordered: a slot per
  // settled input, in completion order.
  const slots: Slot<Awaited<R>>[] = [];
  let running = 0;
  /** Inputs started and not yet handed to the consumer. */
  let held = 0;
  let exhausted = false;
  let pulling = false;
  let closed = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  /** The index of the next input started: inputs start in input order. */
  let index = 0;

  const notify = () => {
    if (wake !== undefined) {
      const resolve = wake;
      wake = undefined;
      resolve();
    }
  };
  const sleep = () => new Promise<void>((resolve) => wake = resolve);
  const fail = (error: unknown, reason: unknown) => {
    if (failure === undefined) {
      failure = { error };
      controller.abort(reason);
    }
    notify();
  };
  const onOuterAbort = () => fail(outer!.reason, outer!.reason);
  const failInput = (error: unknown) =>
    fail(error, abortError("Cannot finish call: the input failed", error));
  const failCall = (error: unknown) => {
    running--;
    held--;
    fail(error, abortError("Cannot finish call: another call failed", error));
  };
  const canStart = () =>
    running < limit && held < window && !exhausted && !closed &&
    failure === undefined;

  const start = (item: T) => {
    const slot: Slot<Awaited<R>> = { settled: false, value: undefined };
    if (ordered) slots.push(slot);
    running++;
    held++;
    let result: R | PromiseLike<R>;
    try {
      result = fn(item, signal, index++);
    } catch (error) {
      // Failed at once: no more inputs are read, so their errors cannot
      // come first.
      failCall(error);
      return;
    }
    Promise.resolve(result).then((value) => {
      running--;
      slot.settled = true;
      slot.value = value;
      if (!ordered) slots.push(slot);
      fill();
      notify();
    }, failCall);
  };

  /**
   * Reads what has to be awaited: every item of an async input, or a promise
   * that a sync input yields (awaited, as `for await` does).
   */
  const pullAsync = async (item?: PromiseLike<T>) => {
    pulling = true;
    try {
      if (item !== undefined) {
        const value = await item;
        if (canStart()) start(value);
      }
      while (isAsync && canStart()) {
        const next = checkResult(await (iterator as AsyncIterator<T>).next());
        if (next.done) exhausted = true;
        else if (canStart()) start(next.value);
        // An input read after the run stopped is dropped unstarted.
      }
    } catch (error) {
      // A sync input whose item rejected is still open: it gets closed, as
      // `for await` closes it.
      if (isAsync) exhausted = true;
      failInput(error);
    } finally {
      pulling = false;
      fill();
      notify();
    }
  };

  const fill = () => {
    if (pulling || !canStart()) return;
    if (isAsync) {
      pullAsync();
      return;
    }
    try {
      while (canStart()) {
        const next = checkResult(
          (iterator as Iterator<T | PromiseLike<T>>).next(),
        );
        if (next.done) {
          exhausted = true;
        } else if (isThenable(next.value)) {
          pullAsync(next.value);
          return;
        } else {
          start(next.value);
        }
      }
    } catch (error) {
      exhausted = true;
      failInput(error);
    }
  };

  stop.request = () => {
    stopped = true;
    notify();
  };
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    fill();
    while (true) {
      if (stopped) return;
      if (failure !== undefined) throw failure.error;
      const slot = slots[0];
      if (slot !== undefined && slot.settled) {
        slots.shift();
        held--;
        fill();
        yield slot.value as Awaited<R>;
      } else if (exhausted && held === 0 && !pulling) {
        return;
      } else {
        await sleep();
      }
    }
  } finally {
    closed = true;
    // Calls that reject as they are aborted below set `failure` too: what
    // counts is whether the run had failed before.
    const failed = failure !== undefined;
    outer?.removeEventListener("abort", onOuterAbort);
    if (running > 0 && !failed) {
      controller.abort(
        abortError("Cannot finish call: the consumer stopped iterating"),
      );
    }
    while (running > 0) await sleep();
    if (!exhausted) {
      exhausted = true;
      const closing = closeInput(iterator);
      // The first error wins over return()'s, as in for-of. A pending read
      // may never end, and an async generator runs return() only after it:
      // neither is waited for.
      if (!failed && !pulling) await closing;
      else closing.catch(() => {});
    }
  }
}

/**
 * Calls the input's `return()`, as `for await` does when the loop is left,
 * with a synchronous throw turned into a rejection.
 */
function closeInput(
  iterator: Iterator<unknown> | AsyncIterator<unknown>,
): Promise<unknown> {
  try {
    return Promise.resolve(iterator.return?.());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Throws the `TypeError` of `for await` for a `next()` result that is not an object. */
function checkResult<T>(result: IteratorResult<T>): IteratorResult<T> {
  if (
    (typeof result !== "object" && typeof result !== "function") ||
    result === null
  ) {
    throw new TypeError(
      `Cannot map concurrently: the input's next() must return an object, received ${
        show(result)
      }`,
    );
  }
  return result;
}

/**
 * p-map's options, which would otherwise be ignored: each with what to do
 * here instead.
 */
const FOREIGN_OPTIONS: Record<string, string> = {
  stopOnError:
    "gather()'s `settle: true` runs every task and reports each outcome; in mapConcurrent() catch inside `fn` and return the error as a value",
};

function isIterable(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  const candidate = value as Partial<
    Iterable<unknown> & AsyncIterable<unknown>
  >;
  return typeof candidate[Symbol.asyncIterator] === "function" ||
    typeof candidate[Symbol.iterator] === "function";
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return ((typeof value === "object" && value !== null) ||
    typeof value === "function") &&
    typeof (value as PromiseLike<T>).then === "function";
}
