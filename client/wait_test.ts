import {
  assertEquals,
  assertFalse,
  assertGreaterOrEqual,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import { TaskGroup, TaskHandle } from "./task_group.ts";
import { wait } from "./wait.ts";

/** Lets pending promise jobs and zero-delay timers run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Tasks the test settles by hand; each records when its signal aborted. */
function gatedTasks(count: number) {
  const gates = Array.from(
    { length: count },
    () => Promise.withResolvers<number>(),
  );
  const stopped: number[] = [];
  const tasks = gates.map((gate, i) => async (signal: AbortSignal) => {
    const onAbort = () => gate.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await gate.promise;
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) {
        await tick(); // clean-up takes a moment
        stopped.push(i);
      }
    }
  });
  return { gates, stopped, tasks };
}

Deno.test("wait() waits for every task by default", {
  permissions: {},
}, async () => {
  const { gates, tasks } = gatedTasks(3);
  const result = wait(tasks);
  gates[1]!.resolve(1);
  await tick();
  gates[2]!.reject(new Error("two"));
  await tick();
  gates[0]!.resolve(0);
  const { done, pending } = await result;
  assertEquals(pending, []);
  // In the order they settled; a failure is reported, not thrown.
  assertEquals(done.map((t) => t.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
  ]);
  assertEquals(done[0]!.result(), 1);
  assertThrows(() => done[1]!.result(), Error, "two");
  assertEquals(done[2]!.result(), 0);
});

Deno.test("wait() with first-completed returns at the first settled task", {
  permissions: {},
}, async (t) => {
  for (const outcome of ["fulfilled", "rejected"] as const) {
    await t.step(outcome, async () => {
      const { gates, stopped, tasks } = gatedTasks(3);
      const result = wait(tasks, { returnWhen: "first-completed" });
      await tick();
      if (outcome === "fulfilled") gates[1]!.resolve(1);
      else gates[1]!.reject(new Error("one"));
      const { done, pending } = await result;
      assertEquals(done.length, 1);
      assertEquals(done[0]!.status, outcome);
      // The others keep running until the caller decides.
      assertEquals(pending.map((t) => t.status), ["pending", "pending"]);
      assertEquals(stopped, []);
      gates[0]!.resolve(0);
      gates[2]!.resolve(2);
      assertEquals(await pending[0]!, 0);
      assertEquals(await pending[1]!, 2);
    });
  }
});

Deno.test("wait() with first-error returns at the first failure", {
  permissions: {},
}, async (t) => {
  await t.step("a failure", async () => {
    const { gates, tasks } = gatedTasks(3);
    const result = wait(tasks, {
      returnWhen: "first-error",
      cancelPending: true,
    });
    gates[0]!.resolve(0);
    await tick();
    gates[2]!.reject(new Error("two"));
    const { done, pending } = await result;
    assertEquals(done.map((t) => t.status), ["fulfilled", "rejected"]);
    assertEquals(pending.length, 1);
  });

  await t.step("no failure: waits for all", async () => {
    const { gates, tasks } = gatedTasks(2);
    const result = wait(tasks, { returnWhen: "first-error" });
    gates[0]!.resolve(0);
    await tick();
    let returned = false;
    result.then(() => returned = true);
    await tick();
    assertFalse(returned);
    gates[1]!.resolve(1);
    const { done, pending } = await result;
    assertEquals(done.length, 2);
    assertEquals(pending, []);
  });
});

Deno.test(
  "wait() with cancelPending aborts the pending tasks and waits for them",
  {
    permissions: {},
  },
  async () => {
    const { gates, stopped, tasks } = gatedTasks(4);
    const result = wait(tasks, {
      returnWhen: "first-completed",
      cancelPending: true,
    });
    gates[2]!.resolve(2);
    const { done, pending } = await result;
    assertEquals(done.map((t) => t.result()), [2]);
    assertEquals(pending.length, 3);
    // They really stopped: every clean-up ran before wait() returned.
    assertEquals(stopped.sort(), [0, 1, 3]);
    for (const task of pending) {
      assertEquals(task.status, "rejected");
      assertEquals((task.signal.reason as DOMException).name, "AbortError");
    }
  },
);

Deno.test("wait() returns what is done when the timeout runs out", {
  permissions: {},
}, async () => {
  const { gates, stopped, tasks } = gatedTasks(2);
  gates[0]!.resolve(0);
  const startedAt = performance.now();
  const { done, pending } = await wait(tasks, { timeout: 50 });
  // Generous margin: timers may fire a little early but not much.
  assertGreaterOrEqual(performance.now() - startedAt, 40);
  assertEquals(done.map((t) => t.result()), [0]);
  assertEquals(pending.length, 1);
  assertEquals(pending[0]!.status, "pending");
  assertEquals(stopped, []);
  pending[0]!.abort();
  await pending[0]!.then(() => {}, () => {});
  assertEquals(stopped, [1]);
});

Deno.test("wait() rejects on abort once the tasks it started have stopped", {
  permissions: {},
}, async (t) => {
  await t.step("while waiting", async () => {
    const { stopped, tasks } = gatedTasks(2);
    const outside = new TaskHandle((signal) => delay(60_000, { signal }));
    const controller = new AbortController();
    const result = wait([...tasks, outside], { signal: controller.signal });
    await tick();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    assertStrictEquals(await result.catch((e) => e), reason);
    assertEquals(stopped.sort(), [0, 1]);
    // A handle passed in belongs to the caller: not aborted.
    assertEquals(outside.status, "pending");
    outside.abort();
    await outside.then(() => {}, () => {});
  });

  await t.step("aborted by a task as it starts", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const outside = new TaskHandle((signal) => delay(60_000, { signal }));
    for (const returnWhen of ["all-completed", "first-error"] as const) {
      const result = wait([() => controller.abort(reason), outside], {
        signal: controller.signal,
        returnWhen,
      });
      // Does not wait for the handle passed in.
      assertStrictEquals(await result.catch((e) => e), reason);
    }
    assertEquals(outside.status, "pending");
    outside.abort();
    await outside.then(() => {}, () => {});
  });

  await t.step("already aborted: nothing starts", async () => {
    let called = false;
    await assertRejects(
      () =>
        wait([() => {
          called = true;
        }], { signal: AbortSignal.abort(new Error("too late")) }),
      Error,
      "too late",
    );
    assertFalse(called);
  });
});

Deno.test("wait() accepts running and settled task handles", {
  permissions: {},
}, async () => {
  await using group = new TaskGroup();
  const finished = group.spawn(() => "early");
  await finished;
  const gate = Promise.withResolvers<string>();
  const running = group.spawn(() => gate.promise);
  const first = await wait([running, finished], {
    returnWhen: "first-completed",
  });
  assertEquals(first.done, [finished]);
  assertEquals(first.pending, [running]);
  gate.resolve("late");
  // Listed twice, counted once.
  const all = await wait([running, running, finished]);
  assertEquals(all.done.length, 2);
  assertEquals(all.pending, []);
  assertEquals(await wait([]), { done: [], pending: [] });
});

Deno.test("wait() rejects bad arguments", {
  permissions: {},
}, async () => {
  await assertRejects(
    // @ts-expect-error: not a ReturnWhen
    () => wait([], { returnWhen: "FIRST_COMPLETED" }),
    TypeError,
    `Cannot wait: "returnWhen" must be "first-completed", "first-error" or "all-completed", received "FIRST_COMPLETED"`,
  );
  await assertRejects(
    () => wait([], { returnWhen: 1n as never }),
    TypeError,
    `Cannot wait: "returnWhen" must be "first-completed", "first-error" or "all-completed", received 1n`,
  );
  for (const timeout of [-1, NaN]) {
    await assertRejects(
      () => wait([], { timeout }),
      RangeError,
      `Cannot wait: "timeout" must be a non-negative number, received ${timeout}`,
    );
  }
  await assertRejects(
    // @ts-expect-error: a string is not a boolean
    () => wait([], { cancelPending: "no" }),
    TypeError,
    `Cannot wait: "cancelPending" must be a boolean, received "no"`,
  );
  await assertRejects(
    // @ts-expect-error: a string is not a number
    () => wait([], { timeout: "5" }),
    TypeError,
    `Cannot wait: "timeout" must be a non-negative number, received "5"`,
  );
  await assertRejects(
    // @ts-expect-error: a promise is not a task
    () => wait([Promise.resolve(1)]),
    TypeError,
    "Cannot wait: task 0 must be a function or a TaskHandle, received an instance of Promise",
  );
  await assertRejects(
    // @ts-expect-error: not an iterable
    () => wait(null),
    TypeError,
    'Cannot wait: "tasks" must be an iterable, received null',
  );
  await assertRejects(
    // @ts-expect-error: options must be an object
    () => wait([], null),
    TypeError,
    'Cannot wait: "options" must be an object, received null',
  );
  let called = false;
  await assertRejects(
    () =>
      wait([() => {
        called = true;
      }], { signal: {} as AbortSignal }),
    TypeError,
    'Cannot wait: "signal" must be an AbortSignal, received an object',
  );
  assertFalse(called);
  // A rejected promise, never a synchronous throw.
  const outcome = wait([], { timeout: -1 }).catch(() => "caught");
  assertEquals(await outcome, "caught");
});

Deno.test("wait() lists the tasks settled before the call first", {
  permissions: {},
}, async () => {
  const gate = Promise.withResolvers<string>();
  const late = new TaskHandle(() => gate.promise);
  const first = new TaskHandle(() => "first");
  const second = new TaskHandle(() => "second");
  await Promise.all([first, second]);
  const result = wait([late, second, first, () => "started here"]);
  gate.resolve("late");
  const { done } = await result;
  // Those already settled in input order, then the others as they settled.
  assertEquals(done.map((task) => task.result()), [
    "second",
    "first",
    "started here",
    "late",
  ]);
});

Deno.test("wait() with no tasks resolves at once", {
  permissions: {},
}, async () => {
  for (const returnWhen of ["first-completed", "all-completed"] as const) {
    assertEquals(await wait([], { returnWhen }), { done: [], pending: [] });
  }
});

Deno.test(
  "wait() with a timeout past what setTimeout takes waits for the tasks",
  {
    permissions: {},
  },
  async () => {
    const started = performance.now();
    const { done, pending } = await wait([
      (signal) => delay(50, { signal }).then(() => "late"),
    ], { timeout: 2 ** 31 });
    assertEquals([done.length, pending.length], [1, 0]);
    assertGreaterOrEqual(performance.now() - started, 45);
  },
);
