import { assert } from "@std/assert";
import { denoCommand } from "./_deno.ts";

Deno.test(
  "shared timers start once when the first timer call runs microtasks",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async (t) => {
    for (const name of ["deadline scopes", "timeout sweep"]) {
      await t.step(name, async () => {
        const { success, stdout, stderr } = await denoCommand("test", [
          "--no-config",
          "--sanitize-ops",
          "--sanitize-resources",
          "--filter",
          name,
          "tests/testdata/first_timer.ts",
        ], { stdout: "piped", stderr: "piped" }).output();
        const output = new TextDecoder().decode(stdout) +
          new TextDecoder().decode(stderr);
        assert(success, output);
        assert(output.includes("1 passed"), output);
      });
    }
  },
);
