import { assert } from "@std/assert";
import { runDeno } from "./_deno.ts";

Deno.test(
  "serveHttp() context.signal of a streaming response, with and without --unstable-no-legacy-abort",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    for (const flags of [[], ["--unstable-no-legacy-abort"]]) {
      await t.step(flags.join(" ") || "legacy abort", async () => {
        // A signal that is never aborted leaves the child waiting for it.
        const { success, output } = await runDeno("test", [
          "--no-config",
          ...flags,
          "--sanitize-ops",
          "--sanitize-resources",
          "-N=127.0.0.1",
          "tests/testdata/streaming_signal.ts",
        ]);
        assert(success, output);
        assert(/[1-9]\d* passed/.test(output), output);
      });
    }
  },
);
