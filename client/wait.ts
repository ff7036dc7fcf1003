/**
 * {@linkcode wait}: asyncio's `wait`, waiting for some or all of a set of
 * tasks and handing back which are done and which are still pending.
 *
 * @module
 */

import { badNumber, show } from "../_show.ts";
import { abortError } from "./_abort.ts";
import { checkBoolean, checkOptions } from "./_args.ts";
import { type TaskFunction, TaskHandle, type TaskValue } from "./task_group.ts";

/** The longest delay setTimeout takes; it fires at once for more. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * When {@linkcode wait} returns (asyncio's `FIRST_COMPLETED`,
 * `FIRST_EXCEPTION`, `ALL_COMPLETED`):
 * - `"first-completed"`: as soon as any task settles, fulfilled or rejected;
 * - `"first-error"`: as soon as any task rejects, or when all have settled;
 * - `"all-completed"`: when every task has settled.
 *
 * @example The same three tasks under each condition
 * ```ts
 * import { type ReturnWhen, wait } from "@aio/aio/client/wait";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const statusesOfDone = async (returnWhen: ReturnWhen) => {
 *   const { done } = await wait([
 *     () => "at once",
 *     async (signal: AbortSignal) => {
 *       await delay(10, { signal });
 *       throw new Error("broken");
 *     },
 *     (signal: AbortSignal) => delay(300, { signal }),
 *   ], { returnWhen, cancelPending: true });
 *   return done.map((task) => task.status);
 * };
 * assertEquals(await statusesOfDone("first-completed"), ["fulfilled"]);
 * assertEquals(await statusesOfDone("first-error"), ["fulfilled", "rejected"]);
 * assertEquals(
 *   await statusesOfDone("all-completed"),
 *   ["fulfilled", "rejected", "fulfilled"],
 * );
 * ```
 */
export type ReturnWhen = "first-completed" | "first-error" | "all-completed";

/**
 * Options of {@linkcode wait}.
 *
 * @example Stopping the wait and its tasks with a signal
 * ```ts
 * import { wait, type WaitOptions } from "@aio/aio/client/wait";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const controller = new AbortController();
 * const options: WaitOptions = { returnWhen: "all-completed", signal: controller.signal };
 * let aborted = 0;
 * const poll = async (signal: AbortSignal) => {
 *   signal.addEventListener("abort", () => aborted++);
 *   await delay(60_000, { signal });
 * };
 * const waiting = wait([poll, poll], options);
 * controller.abort(new Error("shutting down"));
 * await assertRejects(() => waiting, Error, "shutting down");
 * assertEquals(aborted, 2); // both tasks were aborted and have settled
 * ```
 */
export interface WaitOptions {
  /**
   * When to return; see {@linkcode ReturnWhen}.
   *
   * @default {"all-completed"}
   */
  returnWhen?: ReturnWhen | undefined;
  /**
   * The most time to wait, in milliseconds. When it runs out, `wait()`
   * returns what is done so far; it does not throw.
   *
   * @default {Infinity}
   */
  timeout?: number | undefined;
  /**
   * Stops waiting: `wait()` rejects with the signal's reason. Functions
   * passed as tasks are started with signals that follow this one, so they
   * are aborted too, and `wait()` rejects only once they have settled. Task
   * handles passed in are left alone.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
  /**
   * Whether to abort the tasks still pending when `wait()` returns. `wait()`
   * then resolves only once they have settled, so none keeps running; they
   * are still listed in `pending`.
   *
   * @default {false}
   */
  cancelPending?: boolean | undefined;
}

/**
 * What {@linkcode wait} resolves to.
 *
 * @example Done tasks come in the order they settled
 * ```ts
 * import { wait, type WaitResult } from "@aio/aio/client/wait";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const result: WaitResult<string> = await wait([
 *   async (signal: AbortSignal) => {
 *     await delay(10, { signal });
 *     return "second";
 *   },
 *   () => "first",
 * ]);
 * assertEquals(result.done.map((task) => task.result()), ["first", "second"]);
 * assertEquals(result.pending, []);
 * ```
 */
export interface WaitResult<T> {
  /**
   * The tasks that had settled: those already settled when `wait()` was
   * called first, in input order, then the others in the order they settled.
   */
  done: TaskHandle<T>[];
  /** The tasks that had not settled, in input order. */
  pending: TaskHandle<T>[];
}

const RETURN_WHEN: readonly ReturnWhen[] = [
  "first-completed",
  "first-error",
  "all-completed",
];

/**
 * Waits for tasks until the `returnWhen` condition holds or the `timeout`
 * runs out, and reports which are done and which are pending (asyncio's
 * `wait`). It never throws a task's error: read each done task with
 * `result()` or await it.
 *
 * Tasks are functions, started at once as {@linkcode TaskHandle}s, or handles
 * already running (from `TaskGroup.spawn()` or `new TaskHandle()`). Pending
 * tasks keep running unless `cancelPending` is set: await or `abort()` them
 * later.
 *
 * With no tasks at all, `wait()` resolves at once to
 * `{ done: [], pending: [] }` (asyncio's `wait` raises `ValueError`). Bad
 * arguments reject the returned promise, as an abort does; nothing is thrown
 * synchronously.
 *
 * Needs no permission of its own: the tasks need theirs.
 *
 * @typeParam Tasks The type of the tasks: an iterable of functions or handles.
 * @param tasks Functions to start, or handles of running tasks; a handle
 * listed twice counts once.
 * @param options `returnWhen`, `timeout`, `signal`, `cancelPending`.
 * @returns The done tasks and the pending ones.
 * @throws {TypeError} If `tasks` is not iterable, a task is neither a
 * function nor a `TaskHandle`, `options` is not an object, `returnWhen` is
 * not one of the three values, `signal` is not an `AbortSignal`,
 * `cancelPending` is not a boolean, or `timeout` is not a number.
 * @throws {RangeError} If `timeout` is negative or NaN.
 * @throws {unknown} The `signal`'s reason if it aborts first.
 *
 * @example The first answer wins, the others are cancelled
 * ```ts
 * import { wait } from "@aio/aio/client/wait";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const mirror = (name: string, ms: number) => async (signal: AbortSignal) => {
 *   await delay(ms, { signal });
 *   return name;
 * };
 * const { done, pending } = await wait(
 *   [mirror("slow", 5_000), mirror("fast", 10), mirror("slower", 8_000)],
 *   { returnWhen: "first-completed", cancelPending: true },
 * );
 * assertEquals(done.map((task) => task.result()), ["fast"]);
 * assertEquals(pending.map((task) => task.status), ["rejected", "rejected"]);
 * ```
 *
 * @example Waiting at most a while, leaving the rest running
 * ```ts
 * import { wait } from "@aio/aio/client/wait";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const { done, pending } = await wait([
 *   () => "now",
 *   (signal) => delay(5_000, { signal }),
 * ], { timeout: 50 });
 * assertEquals(done.length, 1);
 * assertEquals(pending.length, 1);
 * pending[0]!.abort(); // or await it later
 * await pending[0]!.then(() => {}, () => {});
 * ```
 */
export function wait<
  const Tasks extends Iterable<TaskHandle<unknown> | TaskFunction<unknown>>,
>(
  tasks: Tasks,
  options: WaitOptions = {},
): Promise<
  WaitResult<TaskValue<Tasks extends Iterable<infer Task> ? Task : never>>
> {
  type Value = TaskValue<Tasks extends Iterable<infer Task> ? Task : never>;
  try {
    return checkedWait<Value>(tasks, options);
  } catch (error) {
    // Bad arguments reject, as the signal's abort does.
    return Promise.reject(error);
  }
}

function checkedWait<T>(
  tasks: Iterable<TaskHandle<unknown> | TaskFunction<unknown>>,
  options: WaitOptions,
): Promise<WaitResult<T>> {
  const {
    returnWhen = "all-completed",
    timeout = Infinity,
    signal,
    cancelPending = false,
  } = checkOptions(options, "Cannot wait");
  if (!RETURN_WHEN.includes(returnWhen)) {
    throw new TypeError(
      `Cannot wait: "returnWhen" must be "first-completed", "first-error" or "all-completed", received ${
        show(returnWhen)
      }`,
    );
  }
  checkBoolean("Cannot wait", "cancelPending", cancelPending);
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    throw badNumber("Cannot wait", "timeout", "a non-negative number", timeout);
  }
  if (typeof tasks?.[Symbol.iterator] !== "function") {
    throw new TypeError(
      `Cannot wait: "tasks" must be an iterable, received ${show(tasks)}`,
    );
  }
  const list = Array.from(tasks);
  list.forEach((task, i) => {
    if (typeof task !== "function" && !(task instanceof TaskHandle)) {
      throw new TypeError(
        `Cannot wait: task ${i} must be a function or a TaskHandle, received ${
          show(task)
        }`,
      );
    }
  });
  return waitFor(
    list as (TaskHandle<T> | TaskFunction<T>)[],
    returnWhen,
    timeout,
    signal,
    cancelPending,
  );
}

async function waitFor<T>(
  list: (TaskHandle<T> | TaskFunction<T>)[],
  returnWhen: ReturnWhen,
  timeout: number,
  signal: AbortSignal | undefined,
  cancelPending: boolean,
): Promise<WaitResult<T>> {
  signal?.throwIfAborted();
  const started: TaskHandle<T>[] = [];
  // A handle listed twice is one task, as in asyncio's sets.
  const handles = [
    ...new Set(list.map((task) => {
      if (task instanceof TaskHandle) return task;
      const handle = new TaskHandle(task, { signal });
      started.push(handle);
      return handle;
    })),
  ];

  const done: TaskHandle<T>[] = [];
  const settled = new Set<TaskHandle<T>>();
  const ready = Promise.withResolvers<void>();
  let failed = false;
  const check = () => {
    if (
      settled.size === handles.length ||
      returnWhen === "first-completed" ||
      (returnWhen === "first-error" && failed)
    ) ready.resolve();
  };
  for (const handle of handles) {
    const record = (rejected: boolean) => {
      settled.add(handle);
      done.push(handle);
      failed ||= rejected;
      check();
    };
    handle.then(() => record(false), () => record(true));
  }
  if (handles.length === 0) ready.resolve();

  // Listening first: the process's first timer call runs pending jobs
  // before it returns, and one of them may abort the signal.
  const onAbort = () => ready.resolve();
  signal?.addEventListener("abort", onAbort, { once: true });
  // A task function may have aborted it as it started.
  if (signal?.aborted) ready.resolve();
  // A longer timeout (over 24.8 days) would fire at once: none is set.
  const timer = timeout > MAX_TIMER_DELAY
    ? undefined
    : setTimeout(ready.resolve, timeout);
  try {
    await ready.promise;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }

  const result: WaitResult<T> = {
    done: done.slice(),
    pending: handles.filter((handle) => !settled.has(handle)),
  };
  if (signal?.aborted) {
    // The functions started here follow the signal: wait until they stop.
    await Promise.allSettled(started);
    throw signal.reason;
  }
  if (cancelPending && result.pending.length > 0) {
    const reason = abortError(
      "Cannot finish task: wait() returned before it completed",
    );
    for (const handle of result.pending) handle.abort(reason);
    await Promise.allSettled(result.pending);
  }
  return result;
}
