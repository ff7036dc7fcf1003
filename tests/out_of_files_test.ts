import { assert, assertEquals, assertMatch } from "@std/assert";
import { TextLineStream } from "@std/streams/text-line-stream";
import { denoArgs, ROOT } from "./_deno.ts";

/** What both tests need: Linux's `ulimit`, a shell, loopback. */
const CHILD = {
  ignore: Deno.build.os !== "linux",
  permissions: {
    run: ["sh"],
    net: ["127.0.0.1"],
    read: ["../shared/std-offline"],
  },
} satisfies Partial<Deno.TestDefinition>;

/**
 * `script` run in a child Deno under `ulimit -n 64`, its standard output
 * read line by line; disposing of it kills the child (a hang fails the test
 * after 30 s instead of stalling the run) and waits for it.
 */
function shortOfFiles(script: string) {
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 64 && exec "$0" "$@"',
      "deno",
      ...denoArgs("run", ["-N=127.0.0.1", script]),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const limit = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(new TextLineStream()).getReader();
  const next = async () => (await lines.read()).value;
  return {
    child,
    stderr,
    next,
    /** The next line that is not a report of the error. */
    async nextNews() {
      let line = await next();
      while (line?.startsWith("error ")) line = await next();
      return line;
    },
    /** The port of the child's `listening <port>` line. */
    async port() {
      const [, port] = (await next())?.match(/^listening (\d+)$/) ?? [];
      if (!port) throw new Error(await stderr);
      return Number(port);
    },
    async [Symbol.asyncDispose]() {
      clearTimeout(limit);
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await lines.cancel();
      await child.status;
      await stderr;
    },
  };
}

Deno.test({
  name:
    "serveHttp() out of file descriptors (EMFILE) reports it, listens again, and still shuts down in time",
  ...CHILD,
  async fn() {
    // Deno's accept loop fails on EMFILE and closes the listener.
    await using run = shortOfFiles("tests/testdata/out_of_files.ts");
    const { child, stderr, next, nextNews } = run;
    const conns: Deno.Conn[] = [];
    try {
      const port = await run.port();
      const hostname = "127.0.0.1";
      // Answered, its body stalled: Deno's shutdown() waits for it.
      using stalled = await Deno.connect({ hostname, port });
      await stalled.write(new TextEncoder().encode(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789",
      ));
      await stalled.read(new Uint8Array(1024));
      // In flight while the listener fails and comes back.
      const held = fetch(`http://${hostname}:${port}/hold`).then((r) =>
        r.text()
      );
      assertEquals(await next(), "holding");
      // More idle connections than the child has descriptors, until its
      // listener closes (refused, or reset while in the backlog).
      try {
        for (let i = 0; i < 100; i++) {
          conns.push(await Deno.connect({ hostname, port }));
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
      const base = `http://${hostname}:${port}`;
      assertEquals(await (await fetch(`${base}/release`)).text(), "released");
      assertEquals(await held, "held");
      // The shutdown still waits for what is in flight, shutdownTimeout
      // long, then answers 503 (it skipped the wait once an earlier idle
      // moment had passed).
      const hung = fetch(`${base}/hang`);
      assertEquals(await next(), "hanging");
      const stopping = performance.now();
      child.kill("SIGTERM");
      const response = await hung;
      assertEquals(response.status, 503);
      // Abandoned after shutdownTimeout (300 ms), not refused at once.
      assert(performance.now() - stopping >= 250);
      await response.body?.cancel();
      // shutdown() gives up on the stalled upload after its grace; finished
      // waits for that client.
      const news = await nextNews();
      if (news !== "shut down") throw new Error(`${news}\n${await stderr}`);
      stalled.close();
      assertEquals(await nextNews(), "finished");
      assertEquals((await child.status).code, 0);
    } finally {
      for (const conn of conns) conn.close();
    }
  },
});

Deno.test({
  name:
    "serveTcp() out of file descriptors (EMFILE) reports it, accepts again once they are free, and shuts down",
  ...CHILD,
  async fn() {
    await using run = shortOfFiles("tests/testdata/out_of_files_tcp.ts");
    const { next } = run;
    const conns: Deno.Conn[] = [];
    try {
      const port = await run.port();
      const hostname = "127.0.0.1";
      // More connections than the child has descriptors: the kernel
      // completes them in the backlog while its accept fails.
      for (let i = 0; i < 100; i++) {
        conns.push(await Deno.connect({ hostname, port }));
      }
      assertMatch(
        await next() ?? "",
        /^error .*(Too many open files|os error 24)/,
      );
      for (const conn of conns.splice(0)) conn.close();
      // Echoed again once descriptors are free (accept retries every 100
      // ms; the backlog's closed peers go first).
      const conn = await Deno.connect({ hostname, port });
      conns.push(conn);
      await conn.write(new TextEncoder().encode("ping"));
      const buffer = new Uint8Array(4);
      let read = 0;
      while (read < 4) {
        const n = await conn.read(buffer.subarray(read));
        if (n === null) break;
        read += n;
      }
      assertEquals(new TextDecoder().decode(buffer), "ping");
      for (const conn of conns.splice(0)) conn.close();
      run.child.kill("SIGTERM");
      const line = await run.nextNews();
      if (line !== "finished") throw new Error(`${line}\n${await run.stderr}`);
      assertEquals((await run.child.status).code, 0);
    } finally {
      for (const conn of conns) conn.close();
    }
  },
});
