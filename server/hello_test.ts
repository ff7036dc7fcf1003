import { assertEquals, assertMatch } from "@std/assert";
import { startScript } from "../tests/_script.ts";
import { hello } from "./hello.ts";
import { assertNotServed } from "./_test_util.ts";

const SCRIPT: Deno.PermissionOptionsObject = {
  run: ["deno"],
  read: ["../shared/std-offline"],
  net: ["127.0.0.1"],
};

Deno.test({
  name: "hello() answers Hello, world! as plain text",
  permissions: {},
  async fn() {
    const response = hello();
    assertEquals(response.status, 200);
    assertEquals(
      response.headers.get("content-type"),
      "text/plain;charset=UTF-8",
    );
    assertEquals(await response.text(), "Hello, world!");
  },
});

Deno.test({
  name: "server/hello.ts serves until SIGINT or SIGTERM and logs requests",
  permissions: SCRIPT,
  async fn(t) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      await t.step(signal, async () => {
        const script = startScript("run", [
          "-N=127.0.0.1",
          "server/hello.ts",
          "--port",
          "0",
        ]);
        const [, port] = await script.waitFor(
          /^Hello server on http:\/\/127\.0\.0\.1:(\d+)\/$/m,
        );
        const response = await fetch(`http://127.0.0.1:${port}/greet?x=1`);
        assertEquals(await response.text(), "Hello, world!");
        await script.waitFor(/ 127\.0\.0\.1 "GET http:\S+\/greet\?x=1" 200 /);
        script.child.kill(signal);
        const { code, stdout, stderr } = await script.exited();
        assertEquals(stderr, "");
        assertEquals(code, 0);
        assertMatch(stdout, /Shutting down\nClosed\n$/);
        await assertNotServed(Number(port));
      });
    }
  },
});

Deno.test({
  name: "server/hello.ts rejects bad arguments",
  permissions: SCRIPT,
  async fn(t) {
    for (const args of [["--port", "x"], ["--bogus"], ["--port"]]) {
      await t.step(args.join(" "), async () => {
        const script = startScript("run", ["server/hello.ts", ...args]);
        const { code, stderr } = await script.exited();
        assertEquals(code, 2);
        assertMatch(stderr, /^aio: Cannot [\s\S]*usage: aio serve/);
      });
    }
  },
});
