import { assert, assertEquals, assertMatch } from "@std/assert";
import { TextLineStream } from "@std/streams/text-line-stream";
import { denoArgs, ROOT } from "./_deno.ts";

Deno.test({
  name:
    "serveHttp() out of file descriptors (EMFILE) reports it and listens again",
  ignore: Deno.build.os !== "linux",
  permissions: {
    run: ["sh"],
    net: ["127.0.0.1"],
    read: ["../shared/std-offline"],
  },
  async fn() {
    // Deno's accept loop fails on EMFILE and closes the listener.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'ulimit -n 64 && exec "$0" "$@"',
        "deno",
        ...denoArgs("run", [
          "-N=127.0.0.1",
          "tests/testdata/out_of_files.ts",
        ]),
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream()).getReader();
    const next = async () => (await lines.read()).value;
    const conns: Deno.Conn[] = [];
    try {
      const [, port] = (await next())?.match(/^listening (\d+)$/) ?? [];
      if (!port) throw new Error(await stderr);
      const hostname = "127.0.0.1";
      // More idle connections than the child has descriptors, until its
      // listener closes (refused, or reset while in the backlog).
      try {
        for (let i = 0; i < 100; i++) {
          conns.push(await Deno.connect({ hostname, port: Number(port) }));
        }
      } catch (error) {
        assert(
          error instanceof Deno.errors.ConnectionRefused ||
            error instanceof Deno.errors.ConnectionReset,
          String(error),
        );
      }
      assertMatch(
        await next() ?? "",
        /^error .*(Too many open files|os error 24)/,
      );
      for (const conn of conns.splice(0)) conn.close();
      // Served again once descriptors are free: within a few retries.
      let answer = "";
      for (let tries = 0; answer !== "ok" && tries < 50; tries++) {
        try {
          const response = await fetch(`http://${hostname}:${port}/`);
          answer = await response.text();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assertEquals(answer, "ok");
      child.kill("SIGTERM");
      // More reports of the error may have come before it listened.
      let last = await next();
      while (last?.startsWith("error ")) last = await next();
      if (last !== "finished") throw new Error(`${last}\n${await stderr}`);
      assertEquals((await child.status).code, 0);
    } finally {
      for (const conn of conns) conn.close();
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await lines.cancel();
      await child.status;
      await stderr;
    }
  },
});
