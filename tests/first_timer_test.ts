import { assert } from "@std/assert";
import { assertChildTestsPass, runDeno } from "./_deno.ts";

Deno.test(
  "shared timers start once when the first timer call runs microtasks",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    for (const name of ["deadline scopes", "timeout sweep"]) {
      await t.step(name, async () => {
        const output = await assertChildTestsPass([
          "--filter",
          name,
          "tests/testdata/first_timer.ts",
        ]);
        assert(output.includes("1 passed"), output);
      });
    }
  },
);

Deno.test(
  "the first timer call of a fresh process answers and aborts what it must",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    const cases = {
      // A chunked body past the limit, met by the server's first request.
      "serveHttp() 413": ["first_request.ts", "413"],
      // An abort queued as wait() starts its timeout, in a Deno.serve handler.
      "wait() abort": ["first_wait.ts", "aborted: stop"],
    };
    for (const [name, [script, expected]] of Object.entries(cases)) {
      await t.step(name, async () => {
        // The bugs this guards against left the child hanging.
        const { success, output } = await runDeno("run", [
          "--no-config",
          "-N=127.0.0.1",
          `tests/testdata/${script}`,
        ], 30_000);
        assert(success, output);
        assert(output.trim() === expected, output);
      });
    }
  },
);
