import { assert } from "@std/assert";
import { runDeno } from "./_deno.ts";

Deno.test(
  "serveHttp(): a request given up on is collected while its handler hangs",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async () => {
    // `gc()` needs a V8 flag: run in a child.
    const { success, output } = await runDeno("test", [
      "--no-config",
      "--v8-flags=--expose-gc",
      "--sanitize-ops",
      "--sanitize-resources",
      "tests/testdata/given_up_gc.ts",
    ]);
    assert(success, output);
    assert(/[1-9]\d* passed/.test(output), output);
  },
);
