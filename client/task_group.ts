/**
 * Structured concurrency: {@linkcode TaskGroup} (asyncio's `TaskGroup`) and
 * the {@linkcode TaskHandle} it hands out (asyncio's `Task`).
 *
 * @module
 */

import { show } from "../_show.ts";
import { abortError } from "./_abort.ts";
import { checkOptions } from "./_args.ts";

/**
 * Set by {@linkcode TaskGroup.spawn} for the one `new TaskHandle()` it runs:
 * the handle hands itself over before calling its function, so that the
 * group tracks the task while it starts.
 */
let tracker: ((task: TaskHandle<unknown>) => void) | undefined;

/**
 * A unit of async work that can be cancelled: it gets an `AbortSignal` and
 * should stop soon after the signal aborts (pass it to `fetch`, `delay`, ...),
 * ideally by rejecting with `signal.reason`. A function that ignores its
 * argument is fine too; it just cannot be stopped early.
 *
 * @typeParam T What the work produces.
 *
 * @example A cancellable function, run twice and aborted once
 * ```ts
 * import { type TaskFunction, TaskHandle } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const answer: TaskFunction<number> = async (signal) => {
 *   await delay(10, { signal }); // stops early when the signal aborts
 *   return 42;
 * };
 * const kept = new TaskHandle(answer);
 * const dropped = new TaskHandle(answer);
 * dropped.abort(new Error("not needed"));
 * assertEquals(await kept, 42);
 * await assertRejects(() => Promise.resolve(dropped), Error, "not needed");
 * // Ignoring the signal is allowed too; such a task just cannot stop early.
 * const ready: TaskFunction<string> = () => "ready";
 * assertEquals(await new TaskHandle(ready), "ready");
 * ```
 */
export type TaskFunction<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * What a task resolves to: the value of a {@linkcode TaskHandle}, or the
 * awaited return value of a {@linkcode TaskFunction}.
 *
 * @typeParam Task A task handle or function type.
 *
 * @example Naming a task's value type without writing it out
 * ```ts
 * import { TaskHandle, type TaskValue } from "@aio/aio/client/task-group";
 * import { assertEquals } from "@std/assert";
 *
 * const loadUser = (signal: AbortSignal) => {
 *   signal.throwIfAborted();
 *   return Promise.resolve({ id: 7, name: "Ada" });
 * };
 * // Both are { id: number; name: string }.
 * const cache = new Map<number, TaskValue<typeof loadUser>>();
 * const task = new TaskHandle(loadUser);
 * const user: TaskValue<typeof task> = await task;
 * cache.set(user.id, user);
 * assertEquals(cache.get(7)?.name, "Ada");
 * ```
 */
export type TaskValue<Task> = Task extends TaskHandle<infer T> ? T
  : Task extends (signal: AbortSignal) => infer R ? Awaited<R>
  : never;

/**
 * Where a task is: running, finished with a value, or finished with an error.
 *
 * @example Checking tasks' statuses without awaiting them
 * ```ts
 * import { TaskHandle, type TaskStatus } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assertEquals } from "@std/assert";
 *
 * const ok = new TaskHandle(() => "done");
 * const failed = new TaskHandle(() => Promise.reject(new Error("failed")));
 * const running = new TaskHandle((signal) => delay(60_000, { signal }));
 * await Promise.allSettled([ok, failed]);
 * const statuses: TaskStatus[] = [ok.status, failed.status, running.status];
 * assertEquals(statuses, ["fulfilled", "rejected", "pending"]);
 * running.abort();
 * await running.then(() => {}, () => {});
 * assertEquals(running.status, "rejected");
 * ```
 */
export type TaskStatus = "pending" | "fulfilled" | "rejected";

/**
 * Options of {@linkcode TaskHandle}.
 *
 * @example A task that follows a parent signal
 * ```ts
 * import { TaskHandle, type TaskHandleOptions } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const parent = new AbortController();
 * const options: TaskHandleOptions = { signal: parent.signal };
 * const child = new TaskHandle((signal) => delay(60_000, { signal }), options);
 * parent.abort(new Error("parent stopped"));
 * await assertRejects(() => Promise.resolve(child), Error, "parent stopped");
 *
 * // With the parent already aborted, the function is not even called.
 * let called = false;
 * const late = new TaskHandle(() => called = true, options);
 * await assertRejects(() => Promise.resolve(late), Error, "parent stopped");
 * assertEquals(called, false);
 * ```
 */
export interface TaskHandleOptions {
  /**
   * A parent signal: when it aborts, the task's own signal aborts with the
   * same reason. If it is already aborted, the function is not called and the
   * task rejects with its reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

/**
 * A running task (asyncio's `Task`): starts its function at once, with its own
 * `AbortSignal`, and can be awaited like a promise.
 *
 * A failure is kept on the handle rather than reported as an unhandled
 * rejection: await the handle, call {@linkcode TaskHandle.result}, or let a
 * {@linkcode TaskGroup} or `wait()` report it.
 *
 * @typeParam T What the task resolves to.
 *
 * @example Starting a task, then awaiting it
 * ```ts
 * import { TaskHandle } from "@aio/aio/client/task-group";
 * import { assertEquals } from "@std/assert";
 *
 * const task = new TaskHandle(async () => 6 * 7);
 * assertEquals(task.status, "pending");
 * assertEquals(await task, 42);
 * assertEquals(task.status, "fulfilled");
 * assertEquals(task.result(), 42);
 * ```
 *
 * @example Aborting a task
 * ```ts
 * import { TaskHandle } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const task = new TaskHandle((signal) => delay(60_000, { signal }));
 * task.abort(new Error("not needed any more"));
 * await assertRejects(() => Promise.resolve(task), Error, "not needed any more");
 * assertEquals(task.status, "rejected");
 * ```
 */
export class TaskHandle<T> implements PromiseLike<T> {
  #controller = new AbortController();
  #promise: Promise<T>;
  #status: TaskStatus = "pending";
  #value: T | undefined;
  #reason: unknown;

  /**
   * Starts `fn` at once (synchronously up to its first `await`).
   *
   * @param fn The work; it gets this task's signal.
   * @param options `signal`: a parent signal the task follows.
   * @throws {TypeError} If `fn` is not a function, `options` is not an
   * object, or `signal` is not an `AbortSignal`.
   */
  constructor(fn: TaskFunction<T>, options: TaskHandleOptions = {}) {
    // Taken at once, so that no other handle (one that fn creates, say) or
    // failed construction keeps it.
    const track = tracker;
    tracker = undefined;
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot start task: "fn" must be a function, received ${show(fn)}`,
      );
    }
    const { signal: parent } = checkOptions(options, "Cannot start task");
    const controller = this.#controller;
    let onParentAbort: (() => void) | undefined;
    let started: Promise<T>;
    if (parent?.aborted) {
      controller.abort(parent.reason);
      started = Promise.reject(parent.reason);
    } else {
      if (parent) {
        onParentAbort = () => controller.abort(parent.reason);
        parent.addEventListener("abort", onParentAbort, { once: true });
      }
      track?.(this);
      try {
        started = Promise.resolve(fn(controller.signal));
      } catch (error) {
        started = Promise.reject(error);
      }
    }
    this.#promise = started.then(
      (value) => {
        this.#status = "fulfilled";
        this.#value = value;
        if (onParentAbort) parent!.removeEventListener("abort", onParentAbort);
        return value;
      },
      (reason) => {
        this.#status = "rejected";
        this.#reason = reason;
        if (onParentAbort) parent!.removeEventListener("abort", onParentAbort);
        throw reason;
      },
    );
    // The failure stays on the handle (see the class doc), not unhandled.
    this.#promise.catch(() => {});
  }

  /** The task's signal: aborts on {@linkcode TaskHandle.abort} or when the parent signal aborts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** `"pending"` while running, then `"fulfilled"` or `"rejected"`. */
  get status(): TaskStatus {
    return this.#status;
  }

  /**
   * The task's value, once it has fulfilled (asyncio's `Task.result()`).
   *
   * @returns The value the task resolved to.
   * @throws {unknown} The task's error if it rejected.
   * @throws {Error} If the task is still running.
   */
  result(): T {
    if (this.#status === "fulfilled") return this.#value as T;
    if (this.#status === "rejected") throw this.#reason;
    throw new Error("Cannot read task result: the task is still running");
  }

  /**
   * Asks the task to stop by aborting its signal. Does nothing once the task
   * has settled or was already aborted. The task settles when its function
   * reacts to the signal; await the handle to know when that has happened.
   *
   * @param reason The abort reason the task sees, `null` included; when
   * `undefined`, an `AbortError` `DOMException`.
   */
  abort(reason?: unknown): void {
    if (this.#status !== "pending") return;
    this.#controller.abort(
      reason === undefined
        ? abortError("Cannot finish task: it was aborted")
        : reason,
    );
  }

  /**
   * Attaches callbacks like `Promise.prototype.then`, so `await task` gives
   * the task's value or throws its error.
   *
   * @typeParam R1 What `onfulfilled` returns.
   * @typeParam R2 What `onrejected` returns.
   * @param onfulfilled Called with the value.
   * @param onrejected Called with the error.
   * @returns A promise of the callback's result.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#promise.then(onfulfilled, onrejected);
  }
}

/**
 * Options of {@linkcode TaskGroup}.
 *
 * @example A deadline for the whole group
 * ```ts
 * import { TaskGroup, type TaskGroupOptions } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const options: TaskGroupOptions = { signal: AbortSignal.timeout(50) };
 * const group = new TaskGroup(options);
 * const quick = group.spawn(() => "quick");
 * const stuck = group.spawn((signal) => delay(60_000, { signal }));
 * const error = await assertRejects(() => group.wait(), DOMException);
 * assertEquals(error.name, "TimeoutError");
 * assertEquals([quick.status, stuck.status], ["fulfilled", "rejected"]);
 * ```
 */
export interface TaskGroupOptions {
  /**
   * Aborts every task of the group; `wait()` then rejects with the signal's
   * reason once the tasks have settled.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
}

/**
 * Runs tasks together and makes sure none outlives the group (asyncio's
 * `TaskGroup` and `create_task`).
 *
 * - {@linkcode TaskGroup.spawn} starts a task at once and returns its
 *   {@linkcode TaskHandle}.
 * - The first task that fails aborts the group's signal, so every sibling's
 *   signal aborts with an `AbortError` `DOMException` whose `cause` is that
 *   failure. A task that then rejects with its signal's reason counts as
 *   cancelled, not as another failure.
 * - {@linkcode TaskGroup.wait} (also run by `await using` when the scope
 *   ends) waits until every task has settled, including tasks spawned
 *   meanwhile, then closes the group. It throws the failure, or an
 *   `AggregateError` when several tasks failed.
 *
 * `await using` cannot see an exception thrown by the scope's own body: the
 * group then still waits for its tasks. Call {@linkcode TaskGroup.abort}
 * first (for example in a `catch`) to stop them instead.
 *
 * Needs no permission of its own: the tasks need theirs.
 *
 * @example Fetching several things at once, structured
 * ```ts
 * import { TaskGroup } from "@aio/aio/client/task-group";
 * import { assertEquals } from "@std/assert";
 *
 * const fetchUser = (id: number, signal: AbortSignal) => {
 *   signal.throwIfAborted();
 *   return Promise.resolve({ id, name: `user ${id}` });
 * };
 *
 * let names: string[];
 * {
 *   await using group = new TaskGroup();
 *   const first = group.spawn((signal) => fetchUser(1, signal));
 *   const second = group.spawn((signal) => fetchUser(2, signal));
 *   names = [(await first).name, (await second).name];
 * } // leaving the scope waits for every task
 * assertEquals(names, ["user 1", "user 2"]);
 * ```
 *
 * @example The first failure aborts the siblings
 * ```ts
 * import { TaskGroup } from "@aio/aio/client/task-group";
 * import { delay } from "@std/async";
 * import { assert, assertRejects } from "@std/assert";
 *
 * const group = new TaskGroup();
 * const slow = group.spawn((signal) => delay(60_000, { signal }));
 * group.spawn(() => Promise.reject(new Error("boom")));
 * await assertRejects(() => group.wait(), Error, "boom");
 * assert(slow.signal.aborted);
 * ```
 */
export class TaskGroup implements AsyncDisposable {
  #controller = new AbortController();
  #outer: AbortSignal | undefined;
  #onOuterAbort: (() => void) | undefined;
  /** The tasks still running; aborted as a whole when the group aborts. */
  #tasks = new Set<TaskHandle<unknown>>();
  #errors: unknown[] = [];
  #closed = false;
  #idle: (() => void) | undefined;
  #waiting: Promise<void> | undefined;
  /** Whether `#waiting` has settled: its caller could see how. */
  #waited = false;
  #track = (task: TaskHandle<unknown>) => this.#tasks.add(task);

  /**
   * Creates an empty, open group.
   *
   * @param options `signal`: aborts the whole group.
   * @throws {TypeError} If `options` is not an object or `signal` is not an
   * `AbortSignal`.
   */
  constructor(options: TaskGroupOptions = {}) {
    const { signal } = checkOptions(options, "Cannot create task group");
    // One listener for the whole group rather than one per task: removing
    // listeners from a busy signal costs time proportional to their number.
    this.#controller.signal.addEventListener("abort", () => {
      const reason = this.#controller.signal.reason;
      for (const task of this.#tasks) task.abort(reason);
    }, { once: true });
    if (signal) {
      this.#outer = signal;
      if (signal.aborted) {
        this.#controller.abort(signal.reason);
      } else {
        this.#onOuterAbort = () => this.#controller.abort(signal.reason);
        signal.addEventListener("abort", this.#onOuterAbort, { once: true });
      }
    }
  }

  /**
   * The group's signal: aborts on the first failure, on
   * {@linkcode TaskGroup.abort}, or when the `signal` option aborts. Every
   * task's signal follows it.
   */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** How many tasks of the group are still running. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Whether {@linkcode TaskGroup.wait} has finished; a closed group spawns nothing. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts `fn` as a task of the group.
   *
   * The task belongs to the group before `fn` is called, so its signal
   * follows the group's even while `fn` starts: a task that aborts the group
   * (or its `signal` option) there sees its own signal abort at once. If the
   * group's signal has already aborted, `fn` is not called and the returned
   * task rejects with the signal's reason (a cancellation, not a failure of
   * the group).
   *
   * @typeParam T What the task resolves to.
   * @param fn The work; it gets the task's signal.
   * @returns The task's handle: await it for its value.
   * @throws {Error} If the group is closed.
   * @throws {TypeError} If `fn` is not a function.
   */
  spawn<T>(fn: TaskFunction<T>): TaskHandle<T> {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot spawn task: "fn" must be a function, received ${show(fn)}`,
      );
    }
    if (this.#closed) {
      throw new Error("Cannot spawn task: the task group is closed");
    }
    const signal = this.#controller.signal;
    if (signal.aborted) return new TaskHandle(fn, { signal });
    tracker = this.#track;
    const task = new TaskHandle(fn);
    task.then(() => this.#settled(task), (error) => {
      // A task that rejects with its own signal's reason was cancelled, by
      // the group or by its own abort(), like a cancelled asyncio task.
      const own = task.signal;
      if (!(own.aborted && error === own.reason)) {
        this.#errors.push(error);
        if (!signal.aborted) {
          this.#controller.abort(abortError(
            "Cannot finish task: a sibling task in the group failed",
            error,
          ));
        }
      }
      this.#settled(task);
    });
    return task;
  }

  /**
   * Cancels the group: aborts every task's signal. Unlike a failure or the
   * `signal` option, this makes {@linkcode TaskGroup.wait} resolve (unless a
   * task failed) once the tasks have settled. Does nothing if the group's
   * signal has already aborted.
   *
   * @param reason The abort reason the tasks see, `null` included; when
   * `undefined`, an `AbortError` `DOMException`.
   */
  abort(reason?: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(
      reason === undefined
        ? abortError("Cannot finish task: the task group was aborted")
        : reason,
    );
  }

  /**
   * Waits until every task has settled (tasks may still spawn more while it
   * waits), then closes the group.
   *
   * @returns A promise that resolves when all tasks have succeeded or been
   * cancelled.
   * @throws {unknown} The failure, when exactly one task failed.
   * @throws {AggregateError} Every failure, when several tasks failed.
   * @throws {unknown} The `signal` option's reason, when it aborted before the
   * group closed and no task failed.
   */
  wait(): Promise<void> {
    if (this.#waiting === undefined) {
      this.#waiting = this.#wait();
      const settled = () => this.#waited = true;
      this.#waiting.then(settled, settled);
    }
    return this.#waiting;
  }

  /**
   * Same as {@linkcode TaskGroup.wait}: leaving an `await using` scope waits
   * for every task. If an earlier `wait()` has settled already, its caller
   * could see its failure: leaving the scope does not throw it again (which
   * would wrap it in a `SuppressedError`).
   *
   * @returns What {@linkcode TaskGroup.wait} returns, or after an earlier
   * `wait()` that settled, a promise that resolves.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#waited ? Promise.resolve() : this.wait();
  }

  async #wait(): Promise<void> {
    while (this.#tasks.size > 0) {
      await new Promise<void>((resolve) => this.#idle = resolve);
    }
    this.#closed = true;
    const outer = this.#outer;
    if (this.#onOuterAbort) {
      outer!.removeEventListener("abort", this.#onOuterAbort);
    }
    const errors = this.#errors;
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(
        errors,
        `Cannot finish task group: ${errors.length} tasks failed`,
      );
    }
    if (outer?.aborted) throw outer.reason;
  }

  #settled(task: TaskHandle<unknown>): void {
    this.#tasks.delete(task);
    if (this.#tasks.size === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}
