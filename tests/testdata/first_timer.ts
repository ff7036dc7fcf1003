/**
 * Run by `tests/first_timer_test.ts` as `deno test --filter <name>`: each
 * test here must make the first timer call of its process, which under
 * `deno test` runs pending microtasks before it returns. A microtask that
 * starts the same shared timer then must not leave a second one behind (the
 * op sanitizer reports a leaked interval).
 *
 * @module
 */

import { joinScope, leaveScope } from "../../client/_deadlines.ts";
import { type Timed, TimeoutSweep } from "../../server/_timeout_sweep.ts";

Deno.test("deadline scopes", () => {
  let inner: ReturnType<typeof joinScope>;
  queueMicrotask(() => inner = joinScope(undefined, 2_000));
  const outer = joinScope(undefined, 1_000);
  leaveScope(outer);
  leaveScope(inner);
});

Deno.test("timeout sweep", () => {
  interface Item extends Timed<Item> {
    name: string;
  }
  const item = (name: string): Item => ({
    name,
    since: 0,
    prev: undefined,
    next: undefined,
  });
  using sweep = new TimeoutSweep<Item>(1_000, () => {});
  const [a, b] = [item("a"), item("b")];
  queueMicrotask(() => sweep.add(b));
  sweep.add(a);
  sweep.delete(a);
  sweep.delete(b);
});
