import { assertChildTestsPass } from "./_deno.ts";

// `gc()` needs a V8 flag: each case runs in a child.
Deno.test(
  "what must be collected is, after a garbage collection",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    const cases = {
      "request(): a body handed on stays under its deadline": [
        "-N=127.0.0.1",
        "tests/testdata/collected_response.ts",
      ],
      "serveHttp(): a request given up on, while its handler hangs": [
        "tests/testdata/given_up_gc.ts",
      ],
    };
    for (const [name, args] of Object.entries(cases)) {
      await t.step(name, async () => {
        await assertChildTestsPass(["--v8-flags=--expose-gc", ...args]);
      });
    }
  },
);
