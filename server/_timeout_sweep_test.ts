import { assertEquals, assertGreaterOrEqual, assertLess } from "@std/assert";
import { delay } from "@std/async/delay";
import { type Timed, TimeoutSweep } from "./_timeout_sweep.ts";

interface Item extends Timed<Item> {
  name: string;
}

function item(name: string): Item {
  return { name, since: 0, prev: undefined, next: undefined };
}

/** Keeps the event loop busy for `ms`, as a CPU-bound handler would. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Spin.
  }
}

Deno.test("TimeoutSweep times items out after their timeout, never before", {
  permissions: {},
}, async () => {
  const fired = Promise.withResolvers<number>();
  const timedOut: string[] = [];
  // Not disposed: the op sanitizer fails the test if the sweep that finds
  // the list empty does not stop the timer.
  const sweep = new TimeoutSweep<Item>(100, (it) => {
    timedOut.push(it.name);
    fired.resolve(performance.now());
  });
  const start = performance.now();
  const [a, b] = [item("a"), item("b")];
  sweep.add(a);
  sweep.add(b);
  sweep.delete(b);
  const at = await fired.promise;
  assertGreaterOrEqual(at - start, 100);
  assertEquals(timedOut, ["a"]);
  await delay(50); // the next sweep finds the list empty
});

Deno.test("TimeoutSweep does not add up a busy event loop's lag", {
  permissions: {},
}, async () => {
  const fired = Promise.withResolvers<number>();
  using sweep = new TimeoutSweep<Item>(100, () => fired.resolve(0));
  const start = performance.now();
  sweep.add(item("a"));
  // The loop is busy 50 ms at a time, so each 10 ms sweep runs ~50 ms late:
  // counting sweeps, 11 of them took ~550 ms or more. One lag: ~150 ms.
  let at: number | undefined;
  void fired.promise.then(() => at = performance.now());
  while (at === undefined && performance.now() - start < 2_000) {
    busy(50);
    await delay(0);
  }
  assertGreaterOrEqual(at! - start, 100);
  assertLess(at! - start, 400);
});

Deno.test("TimeoutSweep counts an item's wait from the start it is given", {
  permissions: {},
}, async () => {
  const fired = Promise.withResolvers<number>();
  using sweep = new TimeoutSweep<Item>(1_000, () => {
    fired.resolve(performance.now());
  });
  const start = performance.now();
  // Its wait began 900 ms ago (a handler's synchronous start, say).
  sweep.add(item("a"), start - 900);
  const after = await fired.promise - start;
  assertGreaterOrEqual(after, 95);
  assertLess(after, 700);
});
