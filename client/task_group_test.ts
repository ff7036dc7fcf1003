import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import { TaskGroup, TaskHandle } from "./task_group.ts";

/** Lets pending promise jobs and zero-delay timers run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A task that runs until its signal aborts, then takes a moment to clean up. */
function untilAborted(log: string[], name: string) {
  return async (signal: AbortSignal) => {
    log.push(`${name} started`);
    try {
      await delay(60_000, { signal });
    } finally {
      await tick();
      log.push(`${name} stopped`);
    }
  };
}

Deno.test("TaskHandle runs its function at once and settles like a promise", {
  permissions: {},
}, async (t) => {
  await t.step("fulfilled", async () => {
    let ran = false;
    const gate = Promise.withResolvers<string>();
    const task = new TaskHandle(() => {
      ran = true;
      return gate.promise;
    });
    assert(ran);
    assertEquals(task.status, "pending");
    assertThrows(() => task.result(), Error, "the task is still running");
    gate.resolve("value");
    assertEquals(await task, "value");
    assertEquals(task.status, "fulfilled");
    assertEquals(task.result(), "value");
  });

  await t.step("rejected, also when fn throws synchronously", async () => {
    const error = new Error("sync");
    const task = new TaskHandle(() => {
      throw error;
    });
    assertStrictEquals(await task.then(() => null, (e) => e), error);
    assertEquals(task.status, "rejected");
    assertThrows(() => task.result(), Error, "sync");
  });

  await t.step(
    "an unobserved failure is not an unhandled rejection",
    async () => {
      new TaskHandle(() => Promise.reject(new Error("nobody looks")));
      // The test would fail with an uncaught error if the rejection escaped.
      await tick();
    },
  );
});

Deno.test("TaskHandle.abort() and the parent signal abort the task", {
  permissions: {},
}, async (t) => {
  await t.step("abort(reason)", async () => {
    const task = new TaskHandle((signal) => delay(60_000, { signal }));
    const reason = new Error("no longer needed");
    task.abort(reason);
    assertStrictEquals(task.signal.reason, reason);
    assertStrictEquals(await task.then(() => null, (e) => e), reason);
    // Aborting a settled task changes nothing.
    task.abort(new Error("again"));
    assertStrictEquals(task.signal.reason, reason);
  });

  await t.step("abort() without a reason uses an AbortError", async () => {
    const task = new TaskHandle((signal) => delay(60_000, { signal }));
    task.abort();
    const error = await task.then(() => null, (e) => e);
    assertInstanceOf(error, DOMException);
    assertEquals(error.name, "AbortError");
  });

  await t.step("the parent signal", async () => {
    const parent = new AbortController();
    const task = new TaskHandle((signal) => delay(60_000, { signal }), {
      signal: parent.signal,
    });
    parent.abort(new Error("parent stopped"));
    await assertRejects(() => Promise.resolve(task), Error, "parent stopped");
  });

  await t.step("an already aborted parent: fn is not called", async () => {
    let called = false;
    const task = new TaskHandle(() => {
      called = true;
    }, { signal: AbortSignal.abort(new Error("too late")) });
    await assertRejects(() => Promise.resolve(task), Error, "too late");
    assertFalse(called);
    assert(task.signal.aborted);
  });
});

Deno.test(
  "TaskGroup scope after an explicit wait() does not throw its failure again",
  {
    permissions: {},
  },
  async () => {
    const boom = new Error("boom");
    let caught: unknown;
    try {
      await using group = new TaskGroup();
      group.spawn(() => Promise.reject(boom));
      await group.wait();
    } catch (error) {
      caught = error;
    }
    // The failure itself, not a SuppressedError holding it twice.
    assertStrictEquals(caught, boom);
    // A wait() that had not settled (not awaited, or raced) loses nothing.
    const notAwaited = (_waiting: Promise<void>) => {};
    const raced = (waiting: Promise<void>) =>
      Promise.race([waiting, delay(10)]);
    for (const waitFor of [notAwaited, raced]) {
      let seen: unknown;
      try {
        await using group = new TaskGroup();
        group.spawn(async () => {
          await delay(50);
          throw boom;
        });
        const waiting = group.wait();
        waiting.catch(() => {}); // seen below, through the scope
        await waitFor(waiting);
      } catch (error) {
        seen = error;
      }
      assertStrictEquals(seen, boom);
    }
  },
);

Deno.test("TaskGroup waits for every task when the scope ends", {
  permissions: {},
}, async () => {
  const gates = [0, 1, 2].map(() => Promise.withResolvers<number>());
  const finished: number[] = [];
  let group: TaskGroup;
  const scope = (async () => {
    await using g = new TaskGroup();
    group = g;
    gates.forEach((gate, i) =>
      g.spawn(async () => {
        const value = await gate.promise;
        finished.push(i);
        return value;
      })
    );
  })();
  await tick();
  assertEquals(group!.size, 3);
  gates[2]!.resolve(2);
  gates[0]!.resolve(0);
  await tick();
  assertEquals(finished, [2, 0]);
  let scopeDone = false;
  scope.then(() => scopeDone = true);
  await tick();
  assertFalse(scopeDone, "the scope ended with a task still running");
  gates[1]!.resolve(1);
  await scope;
  assertEquals(finished, [2, 0, 1]);
  assertEquals(group!.size, 0);
  assert(group!.closed);
});

Deno.test("TaskGroup.spawn() returns a handle of the task's result", {
  permissions: {},
}, async () => {
  await using group = new TaskGroup();
  const a = group.spawn(() => Promise.resolve(20));
  const b = group.spawn(() => "sync value");
  assertEquals(await a, 20);
  assertEquals(await b, "sync value");
});

Deno.test("TaskGroup aborts every sibling on the first failure", {
  permissions: {},
}, async () => {
  const log: string[] = [];
  const error = new Error("worker 2 failed");
  const group = new TaskGroup();
  const one = group.spawn(untilAborted(log, "one"));
  const three = group.spawn(untilAborted(log, "three"));
  group.spawn(async () => {
    await tick();
    throw error;
  });
  // The error itself, not an AggregateError: the siblings were cancelled.
  assertStrictEquals(await group.wait().catch((e) => e), error);
  assertEquals(log.sort(), [
    "one started",
    "one stopped",
    "three started",
    "three stopped",
  ]);
  for (const sibling of [one, three]) {
    const reason = sibling.signal.reason;
    assertInstanceOf(reason, DOMException);
    assertEquals(reason.name, "AbortError");
    assertStrictEquals((reason as { cause?: unknown }).cause, error);
    assertEquals(sibling.status, "rejected");
  }
  assert(group.signal.aborted);
});

Deno.test("TaskGroup reports several failures as an AggregateError", {
  permissions: {},
}, async () => {
  const group = new TaskGroup();
  const first = new Error("first");
  const second = new Error("second");
  group.spawn(() => Promise.reject(first));
  // Fails on its own after the abort, with an error of its own: a second
  // failure, not a cancellation.
  group.spawn(async (signal) => {
    await delay(60_000, { signal }).catch(() => {});
    throw second;
  });
  const error = await group.wait().catch((e) => e);
  assertInstanceOf(error, AggregateError);
  assertEquals(error.errors, [first, second]);
  assertEquals(error.message, "Cannot finish task group: 2 tasks failed");
});

Deno.test("TaskGroup lets tasks spawn tasks until it closes", {
  permissions: {},
}, async () => {
  const group = new TaskGroup();
  const order: string[] = [];
  group.spawn(async () => {
    await tick();
    group.spawn(async () => {
      await tick();
      order.push("child");
    });
    order.push("parent");
  });
  await group.wait();
  assertEquals(order, ["parent", "child"]);
  assert(group.closed);
  assertThrows(
    () => group.spawn(() => 1),
    Error,
    "Cannot spawn task: the task group is closed",
  );
});

Deno.test("TaskGroup.wait() can be called more than once", {
  permissions: {},
}, async () => {
  const group = new TaskGroup();
  group.spawn(() => tick());
  const [a, b] = [group.wait(), group.wait()];
  assertStrictEquals(a, b);
  await a;
  await group[Symbol.asyncDispose]();
});

Deno.test("TaskGroup follows its signal option", {
  permissions: {},
}, async (t) => {
  await t.step("aborting it cancels the tasks and wait() rejects", async () => {
    const log: string[] = [];
    const controller = new AbortController();
    const group = new TaskGroup({ signal: controller.signal });
    group.spawn(untilAborted(log, "a"));
    group.spawn(untilAborted(log, "b"));
    const reason = new Error("shutting down");
    controller.abort(reason);
    assertStrictEquals(await group.wait().catch((e) => e), reason);
    assertEquals(log.filter((l) => l.endsWith("stopped")).length, 2);
  });

  await t.step("spawning in an aborted group starts nothing", async () => {
    const group = new TaskGroup({
      signal: AbortSignal.abort(new Error("off")),
    });
    let called = false;
    const task = group.spawn(() => {
      called = true;
    });
    await assertRejects(() => Promise.resolve(task), Error, "off");
    assertFalse(called);
    await assertRejects(() => group.wait(), Error, "off");
  });
});

Deno.test("TaskGroup.abort() cancels the tasks and wait() resolves", {
  permissions: {},
}, async () => {
  const log: string[] = [];
  const group = new TaskGroup();
  const worker = group.spawn(untilAborted(log, "worker"));
  group.spawn(untilAborted(log, "other"));
  group.abort();
  await group.wait();
  assertEquals(worker.status, "rejected");
  assertEquals(log.filter((l) => l.endsWith("stopped")).length, 2);
  // A failure is still a failure.
  const failing = new TaskGroup();
  failing.spawn(async (signal) => {
    await delay(60_000, { signal }).catch(() => {});
    throw new Error("cleanup failed");
  });
  failing.abort();
  await assertRejects(() => failing.wait(), Error, "cleanup failed");
});

Deno.test(
  "TaskGroup counts a task aborted on its own as cancelled, not failed",
  {
    permissions: {},
  },
  async () => {
    const log: string[] = [];
    const group = new TaskGroup();
    const cancelled = group.spawn(untilAborted(log, "cancelled"));
    const sibling = group.spawn(async (signal) => {
      await delay(30, { signal });
      return "sibling done";
    });
    cancelled.abort();
    await group.wait();
    assertEquals(cancelled.status, "rejected");
    assertEquals(await sibling, "sibling done");
    assertEquals(group.signal.aborted, false, "the siblings go on");
  },
);

/** A task that rejects with its signal's reason once the signal aborts. */
function cancellable(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const stop = () => reject(signal.reason);
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
}

Deno.test("TaskGroup cancels a task that aborts the group while starting", {
  permissions: {},
}, async (t) => {
  await t.step("TaskGroup.abort()", async () => {
    const group = new TaskGroup();
    const reason = new Error("stop");
    let abortedAtOnce = false;
    const task = group.spawn((signal) => {
      group.abort(reason);
      abortedAtOnce = signal.aborted;
      return cancellable(signal);
    });
    assert(abortedAtOnce);
    assertStrictEquals(await task.then(() => null, (e) => e), reason);
    await group.wait();
  });

  await t.step("the signal option", async () => {
    const controller = new AbortController();
    const group = new TaskGroup({ signal: controller.signal });
    const reason = new Error("shutting down");
    const sibling = group.spawn(cancellable);
    const task = group.spawn((signal) => {
      controller.abort(reason);
      return cancellable(signal);
    });
    assert(task.signal.aborted);
    assertStrictEquals(await group.wait().catch((e) => e), reason);
    assertEquals([task.status, sibling.status], ["rejected", "rejected"]);
  });
});

Deno.test("TaskGroup and TaskHandle throw at once on bad arguments", {
  permissions: {},
}, async () => {
  const group = new TaskGroup();
  assertThrows(
    // @ts-expect-error: not a function
    () => group.spawn(5),
    TypeError,
    'Cannot spawn task: "fn" must be a function, received 5',
  );
  assertEquals(group.size, 0);
  await group.wait();
  // The argument is checked before the group's state.
  assertThrows(
    // @ts-expect-error: not a function
    () => group.spawn(5),
    TypeError,
    'Cannot spawn task: "fn" must be a function, received 5',
  );
  assertThrows(
    // @ts-expect-error: not a function
    () => new TaskHandle(null),
    TypeError,
    'Cannot start task: "fn" must be a function, received null',
  );
  assertThrows(
    () => new TaskHandle(() => 1, { signal: {} as AbortSignal }),
    TypeError,
    'Cannot start task: "signal" must be an AbortSignal, received an object',
  );
  assertThrows(
    () => new TaskGroup({ signal: {} as AbortSignal }),
    TypeError,
    'Cannot create task group: "signal" must be an AbortSignal, received an object',
  );
  assertThrows(
    // @ts-expect-error: options must be an object
    () => new TaskGroup(null),
    TypeError,
    'Cannot create task group: "options" must be an object, received null',
  );
  assertThrows(
    // @ts-expect-error: options must be an object
    () => new TaskHandle(() => 1, null),
    TypeError,
    'Cannot start task: "options" must be an object, received null',
  );
});

Deno.test("TaskGroup passes a null abort reason on as is", {
  permissions: {},
}, async (t) => {
  await t.step("the signal option", async () => {
    const controller = new AbortController();
    const group = new TaskGroup({ signal: controller.signal });
    const task = group.spawn(cancellable);
    controller.abort(null);
    assertStrictEquals(await task.then(() => "fulfilled", (e) => e), null);
    assertStrictEquals(await group.wait().catch((e) => e), null);
  });

  await t.step("TaskGroup.abort(null)", async () => {
    const group = new TaskGroup();
    const task = group.spawn(cancellable);
    group.abort(null);
    assertStrictEquals(group.signal.reason, null);
    assertStrictEquals(await task.then(() => "fulfilled", (e) => e), null);
    await group.wait();
  });

  await t.step("TaskHandle.abort(null)", async () => {
    const task = new TaskHandle(cancellable);
    task.abort(null);
    assertStrictEquals(await task.then(() => "fulfilled", (e) => e), null);
  });
});
