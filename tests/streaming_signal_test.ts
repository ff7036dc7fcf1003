import { assertChildTestsPass } from "./_deno.ts";

Deno.test(
  "serveHttp() context.signal of a streaming response, with and without --unstable-no-legacy-abort",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    for (const flags of [[], ["--unstable-no-legacy-abort"]]) {
      await t.step(flags.join(" ") || "legacy abort", async () => {
        // A signal that is never aborted leaves the child waiting for it.
        await assertChildTestsPass([
          ...flags,
          "-N=127.0.0.1",
          "tests/testdata/streaming_signal.ts",
        ]);
      });
    }
  },
);
