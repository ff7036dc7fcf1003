import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLess,
  assertNotStrictEquals,
  assertStrictEquals,
} from "@std/assert";
import { joinScope, leaveScope, TICK } from "./_deadlines.ts";

function aborted(signal: AbortSignal): Promise<number> {
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(performance.now()), {
      once: true,
    })
  );
}

Deno.test("joinScope() shares a scope within a tick, per parent and limit", {
  permissions: {},
}, () => {
  // The process's first timer can take over a tick to start under `deno
  // test`; start and stop one first, so that `a` and `b` are one tick apart.
  leaveScope(joinScope(undefined, 1_000));
  const parent = new AbortController().signal;
  let a = joinScope(parent, 1_000)!;
  let b = joinScope(parent, 1_000)!;
  // A pause of a whole tick between the two calls (a GC, the OS switching
  // the process out) rightly opens a second scope: try again.
  for (let retry = 0; a !== b && retry < 5; retry++) {
    leaveScope(a);
    leaveScope(b);
    a = joinScope(parent, 1_000)!;
    b = joinScope(parent, 1_000)!;
  }
  const otherLimit = joinScope(parent, 2_000)!;
  const otherParent = joinScope(new AbortController().signal, 1_000)!;
  try {
    assertStrictEquals(a, b);
    assertEquals(a.users, 2);
    assertNotStrictEquals(a, otherLimit);
    assertNotStrictEquals(a, otherParent);
  } finally {
    for (const scope of [a, b, otherLimit, otherParent]) leaveScope(scope);
  }
  assertEquals(a.users, 0);
  const fresh = joinScope(parent, 1_000)!;
  assertNotStrictEquals(fresh, a, "a disposed scope is not joined again");
  leaveScope(fresh);
});

Deno.test("joinScope() gives nothing when there is no parent and no limit", {
  permissions: {},
}, () => {
  assertEquals(joinScope(undefined, Infinity), undefined);
  leaveScope(undefined);
});

Deno.test("a scope expires after its limit, never early and within two ticks", {
  permissions: {},
}, async () => {
  const start = performance.now();
  const scope = joinScope(undefined, 100)!;
  try {
    const at = await aborted(scope.signal);
    assert(scope.expired);
    assertEquals(scope.signal.reason.name, "TimeoutError");
    assertGreaterOrEqual(at - start, 100);
    assertLess(
      at - start,
      100 + 2 * TICK + 200,
      "with a margin for a busy machine",
    );
  } finally {
    leaveScope(scope);
  }
});

Deno.test("a scope follows its parent's abort, and stops following when left", {
  permissions: {},
}, () => {
  const controller = new AbortController();
  const scope = joinScope(controller.signal, Infinity)!;
  const reason = new Error("stop");
  controller.abort(reason);
  assert(scope.signal.aborted);
  assertEquals(scope.signal.reason, reason);
  assertEquals(scope.expired, false);
  leaveScope(scope);

  const later = new AbortController();
  const left = joinScope(later.signal, Infinity)!;
  leaveScope(left);
  later.abort();
  assertEquals(left.signal.aborted, false);

  const already = joinScope(AbortSignal.abort(reason), 1_000)!;
  assertEquals(
    already.signal.reason,
    reason,
    "an aborted parent aborts it at once",
  );
  leaveScope(already);
});

Deno.test("a scope's watchers run once on abort, unless unwatched", {
  permissions: {},
}, () => {
  const controller = new AbortController();
  const scope = joinScope(controller.signal, Infinity)!;
  const calls: string[] = [];
  const a = () => calls.push("a");
  const b = () => calls.push("b");
  scope.watch(a);
  scope.watch(b);
  scope.unwatch(b);
  controller.abort();
  controller.abort();
  assertEquals(calls, ["a"]);
  leaveScope(scope);
});
