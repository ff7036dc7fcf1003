import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Limiter, Waiter } from "./_limiter.ts";

/** Lets every queued microtask and promise job run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A signal whose abort listeners are counted. */
function countedSignal(): {
  controller: AbortController;
  listeners: () => number;
} {
  const controller = new AbortController();
  const signal = controller.signal;
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (
    ...args: Parameters<AbortSignal["addEventListener"]>
  ) => {
    count++;
    add(...args);
  };
  signal.removeEventListener = (
    ...args: Parameters<AbortSignal["removeEventListener"]>
  ) => {
    count--;
    remove(...args);
  };
  return { controller, listeners: () => count };
}

Deno.test("Limiter rejects a limit that is not a positive integer", {
  permissions: {},
}, () => {
  for (const limit of [0, -1, 1.5, NaN, -Infinity]) {
    assertThrows(
      () => new Limiter(limit),
      RangeError,
      `"limit" must be a positive integer or Infinity, received ${limit}`,
    );
  }
  assertEquals(new Limiter(Infinity).limit, Infinity);
});

Deno.test("Limiter.run() never runs more than the limit at once", {
  permissions: {},
}, async () => {
  const limiter = new Limiter(3);
  let running = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await settle();
        running--;
        return i;
      })),
  );
  assertEquals(results, Array.from({ length: 20 }, (_, i) => i));
  assertEquals(peak, 3);
  assertEquals(limiter.active, 0);
  assertEquals(limiter.waiting, 0);
});

Deno.test("Limiter hands slots out in FIFO order", {
  permissions: {},
}, async () => {
  const limiter = new Limiter(1);
  await limiter.acquire();
  const order: number[] = [];
  const waiters = [1, 2, 3, 4].map((n) =>
    limiter.acquire().then(() => {
      order.push(n);
    })
  );
  assertEquals(limiter.waiting, 4);
  // A newcomer must not overtake the queue, even at the moment of release.
  limiter.release();
  assertFalse(limiter.tryAcquire());
  for (let i = 0; i < 4; i++) {
    await settle();
    limiter.release();
  }
  await Promise.all(waiters);
  assertEquals(order, [1, 2, 3, 4]);
  assertEquals(limiter.active, 0);
  assert(limiter.tryAcquire());
  limiter.release();
});

Deno.test("Limiter.acquire() gives up on abort and frees its place", {
  permissions: {},
}, async (t) => {
  await t.step(
    "a waiter aborted while queued rejects with the reason",
    async () => {
      const limiter = new Limiter(1);
      await limiter.acquire();
      const { controller, listeners } = countedSignal();
      const aborted = limiter.acquire(controller.signal);
      const next = limiter.acquire();
      assertEquals(listeners(), 1);
      const reason = new Error("gave up");
      controller.abort(reason);
      assertStrictEquals(await aborted.catch((e) => e), reason);
      assertEquals(listeners(), 0);
      assertEquals(limiter.waiting, 1);
      // The slot skips the aborted waiter and goes to the next one.
      limiter.release();
      await next;
      assertEquals(limiter.active, 1);
      limiter.release();
      assertEquals(limiter.active, 0);
    },
  );

  await t.step("a waiter that gets a slot removes its listener", async () => {
    const limiter = new Limiter(1);
    await limiter.acquire();
    const { controller, listeners } = countedSignal();
    const waiting = limiter.acquire(controller.signal);
    limiter.release();
    await waiting;
    assertEquals(listeners(), 0);
    // Aborting afterwards does not touch the slot already taken.
    controller.abort();
    assertEquals(limiter.active, 1);
    limiter.release();
  });

  await t.step("an already aborted signal takes no slot", async () => {
    const limiter = new Limiter(1);
    const reason = new Error("too late");
    await assertRejects(
      () => limiter.acquire(AbortSignal.abort(reason)),
      Error,
      "too late",
    );
    await assertRejects(
      () => limiter.run(() => 1, AbortSignal.abort(reason)),
      Error,
      "too late",
    );
    assertEquals(limiter.active, 0);
  });

  await t.step(
    "a slot released after 10,000 aborted waiters reaches the live one",
    async () => {
      const limiter = new Limiter(1);
      await limiter.acquire();
      for (let i = 0; i < 10_000; i++) {
        const controller = new AbortController();
        const waiting = limiter.acquire(controller.signal);
        controller.abort();
        await waiting.catch(() => {});
      }
      assertEquals(limiter.waiting, 0);
      const last = limiter.acquire();
      limiter.release();
      await last;
      limiter.release();
      assertEquals(limiter.active, 0);
    },
  );
});

Deno.test("Limiter shares one abort listener among a signal's waiters", {
  permissions: {},
}, async (t) => {
  await t.step(
    "20,000 waiters on one signal get slots in order, then abort together",
    async () => {
      const limiter = new Limiter(1);
      await limiter.acquire();
      const { controller, listeners } = countedSignal();
      const order: number[] = [];
      const outcomes = Array.from(
        { length: 20_000 },
        (_, n) =>
          limiter.acquire(controller.signal).then(
            () => order.push(n),
            (reason) => reason,
          ),
      );
      assertEquals(listeners(), 1);
      for (let i = 0; i < 10_000; i++) limiter.release();
      assertEquals(limiter.waiting, 10_000);
      assertEquals(listeners(), 1);
      const reason = new Error("gave up");
      controller.abort(reason);
      assertEquals(limiter.waiting, 0);
      assertEquals(listeners(), 0);
      const settled = await Promise.all(outcomes);
      assertEquals(order, Array.from({ length: 10_000 }, (_, n) => n));
      for (const outcome of settled.slice(10_000)) {
        assertStrictEquals(outcome, reason);
      }
      assertEquals(limiter.active, 1);
      limiter.release();
      assertEquals(limiter.active, 0);
    },
  );

  await t.step(
    "the last waiter to get a slot removes the listener",
    async () => {
      const limiter = new Limiter(1);
      await limiter.acquire();
      const { controller, listeners } = countedSignal();
      const first = limiter.acquire(controller.signal);
      const second = limiter.acquire(controller.signal);
      limiter.release();
      await first;
      assertEquals(listeners(), 1);
      limiter.release();
      await second;
      assertEquals(listeners(), 0);
      // A later waiter on the same signal listens again.
      const third = limiter.acquire(controller.signal);
      assertEquals(listeners(), 1);
      limiter.release();
      await third;
      assertEquals(listeners(), 0);
      limiter.release();
    },
  );

  await t.step(
    "aborting one signal keeps the others' waiters in FIFO order",
    async () => {
      const limiter = new Limiter(1);
      await limiter.acquire();
      const a = new AbortController();
      const b = new AbortController();
      const order: string[] = [];
      const waiters = ["a1", "b1", "-1", "a2", "b2", "-2"].map((name) =>
        limiter.acquire(
          name[0] === "a" ? a.signal : name[0] === "b" ? b.signal : undefined,
        ).then(() => order.push(name), () => order.push(`${name} aborted`))
      );
      a.abort();
      await settle();
      assertEquals(order, ["a1 aborted", "a2 aborted"]);
      for (let i = 0; i < 4; i++) {
        limiter.release();
        await settle();
      }
      await Promise.all(waiters);
      assertEquals(order.slice(2), ["b1", "-1", "b2", "-2"]);
      limiter.release();
      assertEquals(limiter.active, 0);
    },
  );

  await t.step(
    "a hand-off costs the same with 20 or 20,000 waiters on the signal",
    async () => {
      // Best of several rounds, and a 10x margin: a listener per waiter made
      // the large queue about 60x slower per hand-off.
      const costPerHandOff = async (queued: number) => {
        const limiter = new Limiter(1);
        await limiter.acquire();
        const controller = new AbortController();
        const { signal } = controller;
        const ignore = () => {};
        for (let i = 0; i < queued; i++) limiter.acquire(signal).catch(ignore);
        let best = Infinity;
        for (let round = 0; round < 5; round++) {
          const start = performance.now();
          for (let i = 0; i < 2_000; i++) {
            limiter.acquire(signal).catch(ignore);
            limiter.release();
          }
          best = Math.min(best, performance.now() - start);
        }
        controller.abort();
        await settle();
        limiter.release();
        return best;
      };
      await costPerHandOff(20_000);
      const small = await costPerHandOff(20);
      const large = await costPerHandOff(20_000);
      assert(
        large < small * 10 + 5,
        `2,000 hand-offs took ${large.toFixed(1)} ms with 20,000 waiters, ${
          small.toFixed(1)
        } ms with 20`,
      );
    },
  );
});

Deno.test("Limiter.run() releases its slot when fn throws", {
  permissions: {},
}, async () => {
  const limiter = new Limiter(1);
  await assertRejects(
    () =>
      limiter.run(() => {
        throw new Error("sync failure");
      }),
    Error,
    "sync failure",
  );
  await assertRejects(
    () => limiter.run(() => Promise.reject(new Error("async failure"))),
    Error,
    "async failure",
  );
  assertEquals(limiter.active, 0);
  assertEquals(await limiter.run(() => "ok"), "ok");
});

Deno.test("Limiter.release() throws when no slot is held", {
  permissions: {},
}, () => {
  const limiter = new Limiter(2);
  assertThrows(() => limiter.release(), Error, "no slot is held");
  assert(limiter.tryAcquire());
  limiter.release();
  assertThrows(() => limiter.release(), Error, "no slot is held");
});

Deno.test("Limiter with an Infinity limit never waits", {
  permissions: {},
}, async () => {
  const limiter = new Limiter(Infinity);
  for (let i = 0; i < 1000; i++) await limiter.acquire();
  assertEquals(limiter.active, 1000);
  assertEquals(limiter.waiting, 0);
  for (let i = 0; i < 1000; i++) limiter.release();
});

Deno.test(
  "Limiter.wait() calls one method of its waiter, in turn with acquire()",
  {
    permissions: {},
  },
  async () => {
    const events: string[] = [];
    class Recorder extends Waiter {
      constructor(readonly name: string) {
        super();
      }
      granted(): void {
        events.push(`${this.name} granted`);
      }
      refused(reason: unknown): void {
        events.push(`${this.name} refused: ${reason}`);
      }
    }
    const limiter = new Limiter(1);
    limiter.wait(undefined, new Recorder("a"));
    assertEquals(events, ["a granted"], "a free slot is granted at once");
    const controller = new AbortController();
    limiter.wait(controller.signal, new Recorder("b"));
    const c = limiter.acquire().then(() => events.push("c granted"));
    limiter.wait(undefined, new Recorder("d"));
    assertEquals(limiter.waiting, 3);
    controller.abort("stop");
    assertEquals(events, ["a granted", "b refused: stop"]);
    limiter.release();
    await c;
    limiter.release();
    assertEquals(events, [
      "a granted",
      "b refused: stop",
      "c granted",
      "d granted",
    ]);
    limiter.release();
    assertEquals([limiter.active, limiter.waiting], [0, 0]);
    limiter.wait(controller.signal, new Recorder("e"));
    assertEquals(events.at(-1), "e refused: stop", "an aborted signal refuses");
    assertEquals(limiter.active, 0);
  },
);
