import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async";
import {
  gather,
  type GatherOptions,
  type GatherProgress,
  mapConcurrent,
} from "./gather.ts";
import { HttpError } from "./errors.ts";

/** Lets pending promise jobs and zero-delay timers run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Tasks whose completion the test controls, counting how many run at once. */
function controlledTasks(count: number) {
  const gates = Array.from(
    { length: count },
    () => Promise.withResolvers<void>(),
  );
  const state = {
    running: 0,
    peak: 0,
    started: [] as number[],
    aborted: [] as number[],
  };
  const tasks = gates.map((gate, i) => async (signal: AbortSignal) => {
    state.started.push(i);
    state.peak = Math.max(state.peak, ++state.running);
    const onAbort = () => gate.reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await gate.promise;
      return i;
    } catch (error) {
      if (signal.aborted) {
        state.aborted.push(i);
        await tick(); // some clean-up takes a while
      }
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
      state.running--;
    }
  });
  return { gates, state, tasks };
}

Deno.test("gather() resolves to the results in input order", {
  permissions: {},
}, async () => {
  const { gates, tasks } = controlledTasks(5);
  const result = gather(tasks);
  // Finish them in reverse order.
  for (let i = 4; i >= 0; i--) {
    gates[i]!.resolve();
    await tick();
  }
  assertEquals(await result, [0, 1, 2, 3, 4]);
});

Deno.test("gather() accepts plain values, thunks and sync throws", {
  permissions: {},
}, async () => {
  const [a, b, c] = await gather([
    () => 1,
    () => Promise.resolve("two"),
    () => null,
  ]);
  assertEquals([a, b, c], [1, "two", null]);
  await assertRejects(
    () =>
      gather([() => {
        throw new Error("sync");
      }]),
    Error,
    "sync",
  );
  assertEquals(await gather([]), []);
});

Deno.test("gather() never runs more than `concurrency` tasks at once", {
  permissions: {},
}, async (t) => {
  for (const concurrency of [1, 3, 64]) {
    await t.step(`concurrency ${concurrency}`, async () => {
      let running = 0;
      let peak = 0;
      const tasks = Array.from({ length: 200 }, (_, i) => async () => {
        peak = Math.max(peak, ++running);
        // Uneven durations, so slots free up in a mixed order.
        for (let n = i % 4; n >= 0; n--) await Promise.resolve();
        if (i % 7 === 0) await tick();
        running--;
        return i;
      });
      const results = await gather(tasks, { concurrency });
      assertEquals(results, Array.from({ length: 200 }, (_, i) => i));
      assertEquals(peak, concurrency);
    });
  }

  await t.step("Infinity starts everything at once", async () => {
    const { gates, state, tasks } = controlledTasks(50);
    const result = gather(tasks);
    await tick();
    assertEquals(state.running, 50);
    for (const gate of gates) gate.resolve();
    assertEquals((await result).length, 50);
  });
});

Deno.test(
  "gather() aborts the others on the first failure and waits for them",
  {
    permissions: {},
  },
  async () => {
    const { gates, state, tasks } = controlledTasks(6);
    const result = gather(tasks, { concurrency: 3 });
    await tick();
    assertEquals(state.started, [0, 1, 2]);
    const error = new Error("task 1 failed");
    gates[1]!.reject(error);
    assertStrictEquals(await result.catch((e) => e), error);
    // Nothing runs once gather() has rejected, and nothing more was started.
    assertEquals(state.running, 0);
    assertEquals(state.started, [0, 1, 2]);
    assertEquals(state.aborted.sort(), [0, 2]);
  },
);

Deno.test(
  "gather() gives aborted siblings an AbortError caused by the failure",
  {
    permissions: {},
  },
  async () => {
    const error = new Error("boom");
    let seen: unknown;
    await assertRejects(
      () =>
        gather([
          async (signal) => {
            await delay(60_000, { signal }).catch((reason) => {
              seen = reason;
            });
          },
          () => Promise.reject(error),
        ]),
      Error,
      "boom",
    );
    assertInstanceOf(seen, DOMException);
    assertEquals(seen.name, "AbortError");
    assertEquals(seen.message, "Cannot finish task: task 1 failed");
    assertStrictEquals((seen as { cause?: unknown }).cause, error);
  },
);

Deno.test(
  "gather() with settle: true reports every outcome and aborts nothing",
  {
    permissions: {},
  },
  async () => {
    const { gates, state, tasks } = controlledTasks(4);
    const result = gather(tasks, { settle: true, concurrency: 2 });
    const error = new Error("two");
    gates[2]!.reject(error);
    gates[0]!.resolve();
    await tick();
    gates[1]!.resolve();
    gates[3]!.resolve();
    assertEquals(await result, [
      { status: "fulfilled", value: 0 },
      { status: "fulfilled", value: 1 },
      { status: "rejected", reason: error },
      { status: "fulfilled", value: 3 },
    ]);
    assertEquals(state.aborted, []);
  },
);

Deno.test("gather() takes settle known only at run time", {
  permissions: {},
}, async () => {
  const error = new Error("no");
  const tasks = [() => 1, () => Promise.reject(error)] as const;
  for (const settle of [true, false]) {
    // A variable of the options type, whose settle is a boolean.
    const options: GatherOptions = { settle, concurrency: 1 };
    const outcome = await gather(tasks, options).catch((e) => e);
    assertEquals(
      outcome,
      settle
        ? [
          { status: "fulfilled", value: 1 },
          { status: "rejected", reason: error },
        ]
        : error,
    );
  }
});

Deno.test("gather() reports progress after each task", {
  permissions: {},
}, async (t) => {
  await t.step("counts done and failed", async () => {
    const seen: GatherProgress[] = [];
    await gather([
      () => 1,
      () => Promise.reject(new Error("x")),
      () => 3,
    ], { settle: true, concurrency: 1, onProgress: (p) => seen.push(p) });
    assertEquals(seen, [
      { done: 1, failed: 0, total: 3 },
      { done: 2, failed: 1, total: 3 },
      { done: 3, failed: 1, total: 3 },
    ]);
  });

  await t.step("stops reporting once the run has failed", async () => {
    const seen: GatherProgress[] = [];
    await assertRejects(
      () =>
        gather([
          () => Promise.reject(new Error("first")),
          (signal) => delay(60_000, { signal }),
          (signal) => delay(60_000, { signal }),
        ], { onProgress: (p) => seen.push(p) }),
      Error,
      "first",
    );
    assertEquals(seen, [{ done: 1, failed: 1, total: 3 }]);
  });

  await t.step("an onProgress error fails the run", async () => {
    let started = 0;
    const tasks = Array.from({ length: 5 }, () => () => ++started);
    await assertRejects(
      () =>
        gather(tasks, {
          concurrency: 1,
          onProgress: ({ done }) => {
            if (done === 2) throw new Error("progress bar broke");
          },
        }),
      Error,
      "progress bar broke",
    );
    assertEquals(started, 2);
  });
});

Deno.test("gather() stops on its signal and rejects with the reason", {
  permissions: {},
}, async (t) => {
  await t.step("while running", async () => {
    const { state, tasks } = controlledTasks(10);
    const controller = new AbortController();
    const result = gather(tasks, {
      concurrency: 4,
      signal: controller.signal,
      settle: true,
    });
    await tick();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    assertStrictEquals(await result.catch((e) => e), reason);
    assertEquals(state.running, 0);
    assertEquals(state.started, [0, 1, 2, 3]);
    assertEquals(state.aborted.sort(), [0, 1, 2, 3]);
  });

  await t.step("already aborted: nothing starts", async () => {
    const { state, tasks } = controlledTasks(3);
    const reason = new Error("too late");
    await assertRejects(
      () => gather(tasks, { signal: AbortSignal.abort(reason) }),
      Error,
      "too late",
    );
    assertEquals(state.started, []);
  });
});

Deno.test("gather() rejects bad arguments", {
  permissions: {},
}, async () => {
  for (const concurrency of [0, -1, 2.5, NaN]) {
    await assertRejects(
      () => gather([() => 1], { concurrency }),
      RangeError,
      `Cannot gather: "concurrency" must be a positive integer or Infinity, received ${concurrency}`,
    );
  }
  await assertRejects(
    // @ts-expect-error: a string is not a boolean
    () => gather([() => 1], { settle: "false" }),
    TypeError,
    `Cannot gather: "settle" must be a boolean, received "false"`,
  );
  await assertRejects(
    // @ts-expect-error: a string is not a number
    () => gather([() => 1], { concurrency: "2" }),
    TypeError,
    `Cannot gather: "concurrency" must be a positive integer or Infinity, received "2"`,
  );
  await assertRejects(
    // @ts-expect-error: a task must be a function
    () => gather([() => 1, 42]),
    TypeError,
    "Cannot gather: task 1 must be a function, a URL or a Request, received 42",
  );
  await assertRejects(
    // @ts-expect-error: not a function
    () => gather(["/"], { request: "fetch" }),
    TypeError,
    'Cannot gather: "request" must be a function, received "fetch"',
  );
  await assertRejects(
    () => gather(new Set([() => 1]) as unknown as (() => number)[]),
    TypeError,
    'Cannot gather: "tasks" must be an array',
  );
  await assertRejects(
    () => gather([() => 1], { signal: {} as AbortSignal }),
    TypeError,
    'Cannot gather: "signal" must be an AbortSignal',
  );
  await assertRejects(
    // @ts-expect-error: options must be an object
    () => gather([() => 1], null),
    TypeError,
    'Cannot gather: "options" must be an object, received null',
  );
  let started = 0;
  await assertRejects(
    () =>
      gather([() => ++started, () => ++started], {
        concurrency: 1,
        // @ts-expect-error: not a function
        onProgress: 5,
      }),
    TypeError,
    'Cannot gather: "onProgress" must be a function, received 5',
  );
  assertEquals(started, 0);
  // A rejected promise, never a synchronous throw.
  const outcome = gather([() => 1], { concurrency: 0 }).catch(() => "caught");
  assertEquals(await outcome, "caught");
});

/**
 * A loopback server whose `/body/<name>` responses send their body in two
 * chunks 20 ms apart, counting responses in progress until the body ends.
 * `/empty` answers 204, `/missing` 404, and `/hang` a body that never ends.
 */
function bodyServer() {
  const state = {
    active: 0,
    peak: 0,
    hangCancelled: Promise.withResolvers<void>(),
  };
  const encoder = new TextEncoder();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/empty") return new Response(null, { status: 204 });
      if (path === "/missing") {
        return new Response("no such page", {
          status: 404,
        });
      }
      if (path === "/hang") {
        return new Response(
          new ReadableStream({
            start: (c) => c.enqueue(encoder.encode("partial")),
            cancel: () => state.hangCancelled.resolve(),
          }),
        );
      }
      const name = path.slice("/body/".length);
      state.peak = Math.max(state.peak, ++state.active);
      const stop = new AbortController();
      let sent = 0;
      const end = () => {
        state.active--;
        stop.abort();
      };
      return new Response(
        new ReadableStream({
          async pull(c) {
            if (sent++ === 0) {
              c.enqueue(encoder.encode(`${name}:`));
              return;
            }
            await delay(20, { signal: stop.signal });
            c.enqueue(encoder.encode("done"));
            c.close();
            end();
          },
          cancel: end,
        }),
        { headers: { "x-name": name } },
      );
    },
  );
  return { server, state, base: `http://127.0.0.1:${server.addr.port}` };
}

Deno.test(
  "gather() fetches URLs and Requests, reading each body within its slot",
  {
    permissions: { net: ["127.0.0.1"] },
  },
  async () => {
    const { server, state, base } = bodyServer();
    await using _ = server;
    const names = ["a", "b", "c", "d", "e", "f"];
    const responses = await gather([
      ...names.map((name) => `${base}/body/${name}`),
      new URL(`${base}/empty`),
      new Request(`${base}/body/g`, { headers: { accept: "text/plain" } }),
    ], { concurrency: 2 });
    // A slot is held until the body has arrived, not just the headers.
    assertLessOrEqual(state.peak, 2);
    assertEquals(state.active, 0);
    for (const [i, name] of [...names, "g"].entries()) {
      const response = responses[i === 6 ? 7 : i]!;
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("x-name"), name);
      assertEquals(response.url, `${base}/body/${name}`);
      assertEquals(await response.text(), `${name}:done`);
    }
    assertEquals(responses[6]!.status, 204);
    assertEquals(responses[6]!.body, null);
  },
);

Deno.test("gather() sends URL tasks with the request option", {
  permissions: { net: ["127.0.0.1"] },
}, async () => {
  const { server, state, base } = bodyServer();
  await using _ = server;
  const sent: string[] = [];
  const responses = await gather(["/body/p", "/body/q", "/body/r"], {
    concurrency: 1,
    request: (input, { signal }) => {
      assert(signal instanceof AbortSignal);
      sent.push(String(input));
      // A session would resolve against its base URL and apply its defaults.
      return fetch(new URL(String(input), base), { signal });
    },
  });
  assertEquals(sent, ["/body/p", "/body/q", "/body/r"]);
  // Still one whole transfer per slot.
  assertEquals(state.peak, 1);
  assertEquals(
    await Promise.all(responses.map((r) => r.text())),
    ["p:done", "q:done", "r:done"],
  );
});

Deno.test("gather() turns a failed URL into an HttpError and leaks no body", {
  permissions: { net: ["127.0.0.1"] },
}, async (t) => {
  const { server, state, base } = bodyServer();
  await using _ = server;

  await t.step("fail fast: the transfer in flight is cancelled", async () => {
    const error = await gather([`${base}/hang`, `${base}/missing`]).catch((e) =>
      e
    );
    assertInstanceOf(error, HttpError);
    assertEquals(error.status, 404);
    // The hanging body was cancelled, not left open.
    await state.hangCancelled.promise;
  });

  await t.step("settle: each outcome", async () => {
    const [ok, missing] = await gather([`${base}/body/x`, `${base}/missing`], {
      settle: true,
    });
    assertEquals(ok.status, "fulfilled");
    assertEquals(
      await (ok as PromiseFulfilledResult<Response>).value.text(),
      "x:done",
    );
    assertEquals(missing.status, "rejected");
    assertInstanceOf((missing as PromiseRejectedResult).reason, HttpError);
  });
});

/** A lazy source that records how many items were pulled and whether it was closed. */
function countingSource(count: number) {
  const state = { pulled: 0, closed: false };
  function* generate() {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}

Deno.test("mapConcurrent() yields results in input order by default", {
  permissions: {},
}, async () => {
  const { gates, tasks } = controlledTasks(6);
  const results: number[] = [];
  const done = (async () => {
    for await (
      const value of mapConcurrent(tasks, (task, signal) => task(signal), {
        concurrency: 6,
      })
    ) results.push(value);
  })();
  for (let i = 5; i >= 0; i--) {
    gates[i]!.resolve();
    await tick();
  }
  await done;
  assertEquals(results, [0, 1, 2, 3, 4, 5]);
});

Deno.test("mapConcurrent() with ordered: false yields in completion order", {
  permissions: {},
}, async () => {
  const { gates, tasks } = controlledTasks(4);
  const results: number[] = [];
  const done = (async () => {
    for await (
      const value of mapConcurrent(tasks, (task, signal) => task(signal), {
        concurrency: 4,
        ordered: false,
      })
    ) results.push(value);
  })();
  for (const i of [2, 0, 3, 1]) {
    gates[i]!.resolve();
    await tick();
  }
  await done;
  assertEquals(results, [2, 0, 3, 1]);
});

Deno.test("mapConcurrent() never runs more than `concurrency` calls at once", {
  permissions: {},
}, async (t) => {
  for (const ordered of [true, false]) {
    await t.step(`ordered: ${ordered}`, async () => {
      let running = 0;
      let peak = 0;
      const seen: number[] = [];
      const results = mapConcurrent(
        Array.from({ length: 300 }, (_, i) => i),
        async (i) => {
          peak = Math.max(peak, ++running);
          if (i % 5 === 0) await tick();
          else await Promise.resolve();
          running--;
          return i;
        },
        { concurrency: 8, ordered },
      );
      for await (const i of results) seen.push(i);
      assertEquals(peak, 8);
      assertEquals(
        seen.sort((a, b) => a - b),
        Array.from({ length: 300 }, (_, i) => i),
      );
    });
  }
});

Deno.test("mapConcurrent() pulls at most 2 × concurrency inputs ahead", {
  permissions: {},
}, async (t) => {
  await t.step("a million lazily generated inputs", async () => {
    const { state, source } = countingSource(1_000_000);
    let consumed = 0;
    let ahead = 0;
    for await (
      const i of mapConcurrent(source, (i) => i, { concurrency: 16 })
    ) {
      assertEquals(i, consumed);
      consumed++;
      ahead = Math.max(ahead, state.pulled - consumed);
    }
    assertEquals(consumed, 1_000_000);
    assertLessOrEqual(ahead, 32);
    assert(ahead >= 16, `only ${ahead} ahead: the pool was not kept full`);
  });

  await t.step("a slow consumer holds the producer back", async () => {
    const { state, source } = countingSource(100);
    const results = mapConcurrent(source, (i) => Promise.resolve(i), {
      concurrency: 4,
    });
    assertEquals((await results.next()).value, 0);
    // Give the calls every chance to run ahead.
    await tick();
    await tick();
    assertLessOrEqual(state.pulled, 1 + 8);
    await results.return();
    assert(state.closed);
  });
});

Deno.test("mapConcurrent() aborts running calls when the loop is left", {
  permissions: {},
}, async () => {
  const { state: source, source: items } = countingSource(1000);
  const running = new Set<number>();
  const aborted: number[] = [];
  for await (
    const value of mapConcurrent(items, async (i, signal) => {
      running.add(i);
      try {
        if (i === 0) return i;
        await delay(60_000, { signal });
      } catch (error) {
        aborted.push(i);
        await tick(); // some clean-up takes a while
        throw error;
      } finally {
        running.delete(i);
      }
    }, { concurrency: 4, ordered: false })
  ) {
    assertEquals(value, 0);
    break;
  }
  // Leaving the loop waited for the aborted calls and closed the source.
  assertEquals(running.size, 0);
  assertEquals(aborted.sort(), [1, 2, 3, 4]);
  assert(source.closed);
  assertLessOrEqual(source.pulled, 5);
});

Deno.test("mapConcurrent()'s return() stops the calls while a next() waits", {
  permissions: {},
}, async () => {
  const { state: source, source: items } = countingSource(1000);
  const aborted: number[] = [];
  // Calls that end only when aborted: the pending next() waits for ever
  // unless return() reaches the loop.
  const results = mapConcurrent(items, async (i, signal) => {
    try {
      await delay(60_000, { signal });
    } catch (error) {
      aborted.push(i);
      await tick(); // some clean-up takes a while
      throw error;
    }
  }, { concurrency: 3 });
  // A read raced against a timeout, which wins.
  const read = results.next();
  await tick();
  assertEquals(await results.return(), { done: true, value: undefined });
  assertEquals(await read, { done: true, value: undefined });
  assertEquals(aborted.sort(), [0, 1, 2]);
  assert(source.closed);
  assertEquals(await results.next(), { done: true, value: undefined });
});

Deno.test("mapConcurrent() throws the first error and aborts the rest", {
  permissions: {},
}, async (t) => {
  await t.step("an error from fn", async () => {
    const { state: source, source: items } = countingSource(1000);
    const error = new Error("item 3 failed");
    let running = 0;
    const seen: number[] = [];
    const results = mapConcurrent(items, async (i, signal) => {
      running++;
      try {
        if (i === 3) throw error;
        if (i < 2) return i;
        await delay(60_000, { signal });
        return i;
      } finally {
        running--;
      }
    }, { concurrency: 4 });
    const thrown = await (async () => {
      for await (const i of results) seen.push(i);
    })().catch((e) => e);
    assertStrictEquals(thrown, error);
    assertEquals(running, 0);
    assert(source.closed);
    assertLessOrEqual(source.pulled, 8);
    assertLessOrEqual(seen.length, 2);
  });

  await t.step("an error from the input", async () => {
    async function* failing() {
      yield 1;
      throw new Error("source broke");
    }
    await assertRejects(
      async () => {
        for await (const _ of mapConcurrent(failing(), (i) => i)) {
          // drain
        }
      },
      Error,
      "source broke",
    );
  });
});

Deno.test("mapConcurrent() reads async iterables lazily", {
  permissions: {},
}, async () => {
  let pulled = 0;
  async function* source() {
    for (let i = 0; i < 50; i++) {
      pulled++;
      await Promise.resolve();
      yield i;
    }
  }
  let consumed = 0;
  let ahead = 0;
  for await (
    const value of mapConcurrent(source(), (i) => Promise.resolve(i * 2), {
      concurrency: 3,
    })
  ) {
    assertEquals(value, consumed * 2);
    consumed++;
    ahead = Math.max(ahead, pulled - consumed);
  }
  assertEquals(consumed, 50);
  assertLessOrEqual(ahead, 6);
});

Deno.test(
  "mapConcurrent() does not wait for a pending read when the loop is left",
  {
    permissions: {},
  },
  async () => {
    const stuck = Promise.withResolvers<void>();
    let closed = false;
    async function* source() {
      try {
        yield 0;
        await stuck.promise; // an input that is slow to produce its next item
        yield 1;
      } finally {
        closed = true;
      }
    }
    for await (const value of mapConcurrent(source(), (i) => i)) {
      assertEquals(value, 0);
      break;
    }
    assertFalse(closed);
    // Once the pending read returns, the input is closed.
    stuck.resolve();
    await tick();
    assert(closed);
  },
);

Deno.test(
  "mapConcurrent() stops on its signal",
  { permissions: {} },
  async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    let aborted = 0;
    const results = mapConcurrent([1, 2, 3], async (_, signal) => {
      await delay(60_000, { signal }).catch((e) => {
        aborted++;
        throw e;
      });
    }, { signal: controller.signal });
    const next = results.next();
    await tick();
    controller.abort(reason);
    assertStrictEquals(await next.catch((e) => e), reason);
    assertEquals(aborted, 3);
    await assertRejects(
      () =>
        mapConcurrent([1], (i) => i, { signal: AbortSignal.abort(reason) })
          .next(),
      Error,
      "stop",
    );
  },
);

Deno.test(
  "mapConcurrent() throws at once on bad arguments",
  { permissions: {} },
  () => {
    for (const concurrency of [0, -3, 1.5]) {
      assertThrows(
        () => mapConcurrent([1], (i) => i, { concurrency }),
        RangeError,
        `Cannot map concurrently: "concurrency" must be a positive integer, received ${concurrency}`,
      );
    }
    assertThrows(
      // @ts-expect-error: a string is not a boolean
      () => mapConcurrent([1], (i) => i, { ordered: "false" }),
      TypeError,
      `Cannot map concurrently: "ordered" must be a boolean, received "false"`,
    );
    assertThrows(
      () => mapConcurrent([1], (i) => i, { concurrency: Infinity }),
      RangeError,
      `Cannot map concurrently: "concurrency" must be a positive integer (not Infinity: the input may be endless), received Infinity`,
    );
    assertThrows(
      // @ts-expect-error: a string is not a number
      () => mapConcurrent([1], (i) => i, { concurrency: "2" }),
      TypeError,
      `Cannot map concurrently: "concurrency" must be a positive integer, received "2"`,
    );
    for (const [input, received] of [[null, "null"], [5, "5"]]) {
      assertThrows(
        () => mapConcurrent(input as unknown as number[], (i) => i),
        TypeError,
        `Cannot map concurrently: "iterable" must be an iterable or an async iterable, received ${received}`,
      );
    }
    assertThrows(
      () => mapConcurrent({} as number[], (i) => i),
      TypeError,
      "received an object",
    );
    assertThrows(
      // @ts-expect-error: not a function
      () => mapConcurrent([1], 5),
      TypeError,
      'Cannot map concurrently: "fn" must be a function, received 5',
    );
    assertThrows(
      () => mapConcurrent([1], (i) => i, { signal: {} as AbortSignal }),
      TypeError,
      'Cannot map concurrently: "signal" must be an AbortSignal, received an object',
    );
    assertThrows(
      // @ts-expect-error: options must be an object
      () => mapConcurrent([1], (i) => i, null),
      TypeError,
      'Cannot map concurrently: "options" must be an object, received null',
    );
  },
);

Deno.test(
  "mapConcurrent() throws a TypeError when the input's next() returns a non-object",
  { permissions: {} },
  async (t) => {
    const message =
      "Cannot map concurrently: the input's next() must return an object, received undefined";
    await t.step("sync input", async () => {
      const input = { [Symbol.iterator]: () => ({ next: () => undefined }) };
      await assertRejects(
        () => mapConcurrent(input as unknown as number[], (i) => i).next(),
        TypeError,
        message,
      );
    });
    await t.step("async input", async () => {
      const input = {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve() }),
      };
      await assertRejects(
        () =>
          mapConcurrent(input as unknown as AsyncIterable<number>, (i) => i)
            .next(),
        TypeError,
        message,
      );
    });
  },
);

/** An endless input whose return() throws `error` synchronously. */
function throwingReturn(error: Error, kind: "sync" | "async") {
  let i = 0;
  const iterator = {
    next: () => {
      const result = { value: i++, done: false };
      return kind === "sync" ? result : Promise.resolve(result);
    },
    return: () => {
      throw error;
    },
  };
  return (kind === "sync"
    ? { [Symbol.iterator]: () => iterator }
    : { [Symbol.asyncIterator]: () => iterator }) as
      | Iterable<number>
      | AsyncIterable<number>;
}

Deno.test(
  "mapConcurrent() lets the first error win over the input's return()",
  { permissions: {} },
  async (t) => {
    for (const kind of ["sync", "async"] as const) {
      await t.step(`${kind} input: the error of fn`, async () => {
        const error = new Error("item 2 failed");
        const input = throwingReturn(new Error("return() failed"), kind);
        const thrown = await (async () => {
          for await (
            const _ of mapConcurrent(input, async (i) => {
              await tick();
              if (i === 2) throw error;
            }, { concurrency: 2 })
          ) {
            // drain
          }
        })().catch((e) => e);
        assertStrictEquals(thrown, error);
      });

      await t.step(`${kind} input: the signal's reason`, async () => {
        const reason = new Error("caller gave up");
        const controller = new AbortController();
        const input = throwingReturn(new Error("return() failed"), kind);
        const thrown = await (async () => {
          for await (
            const _ of mapConcurrent(input, (i) => i, {
              signal: controller.signal,
            })
          ) controller.abort(reason);
        })().catch((e) => e);
        assertStrictEquals(thrown, reason);
      });
    }

    // With no read pending (a sync input), as in for-of; the calls still
    // running when the loop is left may reject as they are aborted.
    for (const calls of ["resolve", "reject on abort"] as const) {
      await t.step(`break, calls that ${calls}: return()'s error`, async () => {
        const error = new Error("return() failed");
        const thrown = await (async () => {
          for await (
            const _ of mapConcurrent(
              throwingReturn(error, "sync"),
              firstThenWaiting(calls),
              { concurrency: 2 },
            )
          ) break;
        })().catch((e) => e);
        assertStrictEquals(thrown, error);
      });
    }
  },
);

/**
 * A mapConcurrent `fn`: input 0 at once, every other one only when its signal
 * aborts, resolving then or rejecting with the reason.
 */
function firstThenWaiting(calls: "resolve" | "reject on abort") {
  return (i: number, signal: AbortSignal): number | Promise<number> =>
    i === 0
      ? i
      : calls === "resolve"
      ? resolveOnAbort(signal, i)
      : rejectOnAbort(signal);
}

/** Never settles unless `signal` aborts; then resolves to `value`. */
function resolveOnAbort<T>(signal: AbortSignal, value: T): Promise<T> {
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(value), { once: true })
  );
}

/** Never settles unless `signal` aborts; then rejects with its reason. */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener("abort", () => reject(signal.reason), {
      once: true,
    })
  );
}

Deno.test(
  "mapConcurrent() waits for the input to close when the loop is left",
  { permissions: {} },
  async (t) => {
    for (const calls of ["resolve", "reject on abort"] as const) {
      await t.step(`calls that ${calls}`, async () => {
        const log: string[] = [];
        async function* input() {
          try {
            for (let i = 0;; i++) yield i;
          } finally {
            log.push("closing");
            await delay(5);
            log.push("closed");
          }
        }
        const results = mapConcurrent(
          input(),
          firstThenWaiting(calls),
          { concurrency: 2 },
        );
        for await (const _ of results) break;
        log.push("loop left");
        assertEquals(log, ["closing", "closed", "loop left"]);
      });
    }
  },
);

/**
 * A hand-written async input whose second read waits until `release()` or
 * return(); `settleLate` says how that read ends once released.
 */
function stalledInput(settleLate: "resolve" | "reject") {
  const state = { returns: 0 };
  const gate = Promise.withResolvers<void>();
  let reads = 0;
  const iterator: AsyncIterator<number> = {
    next: async () => {
      if (reads++ === 0) return { value: 0, done: false };
      await gate.promise;
      if (settleLate === "reject") throw new Error("late read failed");
      return { value: reads, done: false };
    },
    return: () => {
      state.returns++;
      throw new Error("return() failed");
    },
  };
  return {
    state,
    release: gate.resolve,
    input: { [Symbol.asyncIterator]: () => iterator },
  };
}

Deno.test(
  "mapConcurrent() closes the input at once when the loop is left during a read",
  { permissions: {} },
  async (t) => {
    for (const settleLate of ["resolve", "reject"] as const) {
      await t.step(`the read ends later: ${settleLate}`, async () => {
        const { state, release, input } = stalledInput(settleLate);
        for await (const value of mapConcurrent(input, (i) => i)) {
          assertEquals(value, 0);
          break;
        }
        // return() was called without waiting for the read, and neither its
        // error nor the late read's outcome escapes as an unhandled rejection.
        assertEquals(state.returns, 1);
        release();
        await tick();
        assertEquals(state.returns, 1);
      });
    }

    await t.step("a channel whose return() ends the pending read", async () => {
      const pending = Promise.withResolvers<IteratorResult<number>>();
      let reads = 0;
      let closed = false;
      const channel: AsyncIterableIterator<number> = {
        [Symbol.asyncIterator]: () => channel,
        next: () =>
          reads++ === 0
            ? Promise.resolve({ value: 0, done: false })
            : pending.promise,
        return: () => {
          closed = true;
          pending.resolve({ value: undefined, done: true });
          return pending.promise;
        },
      };
      for await (const _ of mapConcurrent(channel, (i) => i)) break;
      assert(closed);
    });
  },
);

Deno.test(
  "mapConcurrent() awaits promises a sync input yields, as for await does",
  { permissions: {} },
  async (t) => {
    await t.step("fn gets the values, in input order", async () => {
      const late = Promise.withResolvers<number>();
      function* input() {
        yield 1;
        yield late.promise;
        yield Promise.resolve(3);
        yield 4;
      }
      const seen: unknown[] = [];
      const results: unknown[] = [];
      const run = (async () => {
        for await (
          const value of mapConcurrent(input(), (item) => {
            seen.push(item);
            return item;
          }, { concurrency: 4 })
        ) results.push(value);
      })();
      await tick();
      assertEquals(seen, [1]);
      late.resolve(2);
      await run;
      assertEquals(seen, [1, 2, 3, 4]);
      assertEquals(results, [1, 2, 3, 4]);
    });

    await t.step("a rejected item is an input error", async () => {
      const error = new Error("item rejected");
      let closed = false;
      function* input() {
        try {
          yield 1;
          yield Promise.reject(error);
          yield 3;
        } finally {
          closed = true;
        }
      }
      const seen: unknown[] = [];
      const thrown = await (async () => {
        for await (
          const _ of mapConcurrent(input(), (item) => seen.push(item))
        ) {
          // drain
        }
      })().catch((e) => e);
      assertStrictEquals(thrown, error);
      assertEquals(seen, [1]);
      // The suspended generator is closed, as for await closes it.
      assert(closed);
    });
  },
);

Deno.test(
  "gather() and mapConcurrent() refuse p-map's stopOnError with a hint",
  {
    permissions: {},
  },
  async () => {
    await assertRejects(
      () => gather([() => 1], { stopOnError: false } as never),
      TypeError,
      'Cannot gather: "stopOnError" is not an option here: gather()\'s `settle: true`',
    );
    assertThrows(
      () => mapConcurrent([1], (i) => i, { stopOnError: false } as never),
      TypeError,
      'Cannot map concurrently: "stopOnError" is not an option here',
    );
  },
);

Deno.test("mapConcurrent() gives fn each input's index", {
  permissions: {},
}, async () => {
  const inputs = async function* () {
    yield* ["a", "b", "c", "d"];
  };
  for (const ordered of [true, false]) {
    const results = await Array.fromAsync(
      mapConcurrent(inputs(), async (item, _signal, index) => {
        // Later inputs finish first.
        await new Promise((resolve) => setTimeout(resolve, 4 - index));
        return `${item}${index}`;
      }, { concurrency: 4, ordered }),
    );
    assertEquals(results.toSorted(), ["a0", "b1", "c2", "d3"]);
    if (ordered) assertEquals(results, ["a0", "b1", "c2", "d3"]);
  }
});

Deno.test("mapConcurrent() throws fn's synchronous error before reading on", {
  permissions: {},
}, async () => {
  let read = 0;
  function* inputs() {
    read++;
    yield 0;
    read++;
    throw new Error("input failed");
  }
  await assertRejects(
    async () => {
      for await (
        const _ of mapConcurrent(inputs(), () => {
          throw new Error("fn failed");
        }, { concurrency: 2 })
      ) {
        // Nothing comes out.
      }
    },
    Error,
    "fn failed",
  );
  assertEquals(read, 1);
});
