import { assert } from "@std/assert";
import { denoCommand } from "./_deno.ts";

Deno.test(
  "serveHttp() context.signal of a streaming response, with and without --unstable-no-legacy-abort",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    for (const flags of [[], ["--unstable-no-legacy-abort"]]) {
      await t.step(flags.join(" ") || "legacy abort", async () => {
        const child = denoCommand("test", [
          "--no-config",
          ...flags,
          "--sanitize-ops",
          "--sanitize-resources",
          "-N=127.0.0.1",
          "tests/testdata/streaming_signal.ts",
        ], { stdout: "piped", stderr: "piped" }).spawn();
        // A signal that is never aborted leaves the child waiting for it.
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        try {
          const { success, stdout, stderr } = await child.output();
          const output = new TextDecoder().decode(stdout) +
            new TextDecoder().decode(stderr);
          assert(success, output);
          assert(/[1-9]\d* passed/.test(output), output);
        } finally {
          clearTimeout(timer);
        }
      });
    }
  },
);
