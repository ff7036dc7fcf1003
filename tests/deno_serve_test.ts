import { assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import { startScript } from "./_script.ts";

Deno.test({
  name: "examples/deno_serve.ts runs under deno serve --parallel",
  permissions: {
    run: ["deno"],
    read: ["../shared/std-offline"],
    net: ["127.0.0.1"],
  },
  async fn() {
    const script = startScript("serve", [
      "--parallel",
      "-N=127.0.0.1",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "examples/deno_serve.ts",
    ], { DENO_JOBS: "2" });
    try {
      const [, port] = await script.waitFor(
        /Listening on http:\/\/127\.0\.0\.1:(\d+)\/ with 2 threads/,
      );
      const base = `http://127.0.0.1:${port}`;
      assertEquals(await (await fetch(`${base}/`)).text(), "Hello, world!");
      const echo = await fetch(`${base}/echo`, { method: "POST", body: "hi" });
      assertEquals(await echo.text(), "hi");
      // The limits of createFetchHandler apply in every worker.
      const tooLarge = await fetch(`${base}/echo`, {
        method: "POST",
        body: "x".repeat(64 * 1024 + 1),
      });
      assertEquals(tooLarge.status, 413);
      await tooLarge.body?.cancel();
      const missing = await fetch(`${base}/missing`);
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      // A new connection per request: both workers end up answering, once
      // the second one has loaded the module (it may lag on a busy machine).
      using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const workers = new Set<string>();
      const deadline = Date.now() + 20_000;
      while (workers.size < 2 && Date.now() < deadline) {
        const response = await fetch(`${base}/worker`, { client });
        workers.add(await response.text());
        if (workers.size < 2) await delay(10);
      }
      assertEquals(workers.size, 2);
    } finally {
      script.child.kill("SIGTERM");
    }
    // deno serve shuts down gracefully on SIGTERM.
    const { code, stderr } = await script.exited();
    assertEquals(code, 0);
    assertEquals(
      stderr.replace(/^deno serve: Listening on .*\n/, ""),
      "",
    );
  },
});
