import { assert } from "@std/assert";
import { runDeno } from "./_deno.ts";

Deno.test(
  "request(): a body handed on stays under its deadline after a garbage collection",
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
      "-N=127.0.0.1",
      "tests/testdata/collected_response.ts",
    ]);
    assert(success, output);
    assert(/[1-9]\d* passed/.test(output), output);
  },
);
