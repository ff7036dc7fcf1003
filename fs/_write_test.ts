import { assertRejects, assertStrictEquals } from "@std/assert";
import { handled } from "./_write.ts";

Deno.test("handled() keeps a rejection nobody awaits from crashing", {
  permissions: "none",
}, async () => {
  // As `abortable` from @std/async before denoland/std#7277 does when the
  // signal has aborted: it never looks at the promise.
  const failing = Promise.reject(new Error("source failed after the abort"));
  assertStrictEquals(handled(failing), failing);
  // A rejection left unhandled fails the test once the event loop turns.
  await new Promise((resolve) => setTimeout(resolve, 0));
  // Whoever does await it still sees the error.
  await assertRejects(() => failing, Error, "source failed after the abort");
});
