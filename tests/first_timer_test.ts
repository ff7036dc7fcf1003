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

Deno.test(
  "serveHttp() answers a first request whose body passes the limit during the first timer call",
  {
    permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  },
  async () => {
    const child = denoCommand("run", [
      "--no-config",
      "-N=127.0.0.1",
      "tests/testdata/first_request.ts",
    ], { stdout: "piped", stderr: "piped" }).spawn();
    // The bug this guards against left the request, and the child, hanging.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      const { success, stdout, stderr } = await child.output();
      const output = new TextDecoder().decode(stdout) +
        new TextDecoder().decode(stderr);
      assert(success, output);
      assert(output.trim() === "413", output);
    } finally {
      clearTimeout(timer);
    }
  },
);
