import {
  assert,
  assertEquals,
  assertLess,
  assertMatch,
  assertRejects,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { denoCommand } from "../tests/_deno.ts";
import { echo } from "./echo.ts";
import { serveTcp } from "./tcp.ts";
import { assertNotServed, readExactly, writeAll } from "./_test_util.ts";

const NET: Deno.PermissionOptionsObject = { net: ["127.0.0.1"] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test({
  name: "echo() round-trips many concurrent clients",
  permissions: NET,
  async fn() {
    await using server = serveTcp(echo);
    const clients = Array.from({ length: 50 }, async (_, client) => {
      using conn = await Deno.connect({ port: server.addr.port });
      for (let message = 0; message < 20; message++) {
        const text = `client ${client} message ${message}`;
        await writeAll(conn, encoder.encode(text));
        const bytes = await readExactly(conn, text.length);
        assertEquals(decoder.decode(bytes), text);
      }
    });
    await Promise.all(clients);
  },
});

Deno.test({
  name: "echo() keeps binary data intact",
  permissions: NET,
  async fn() {
    await using server = serveTcp(echo);
    using conn = await Deno.connect({ port: server.addr.port });
    // Every byte value, in a pseudo-random order, 1 MiB long.
    const data = new Uint8Array(1 << 20);
    let state = 12345;
    for (let i = 0; i < data.length; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      data[i] = state >>> 24;
    }
    const [, echoed] = await Promise.all([
      writeAll(conn, data).then(() => conn.closeWrite()),
      new Response(conn.readable).bytes(),
    ]);
    assertEquals(echoed.length, data.length);
    assert(echoed.every((byte, i) => byte === data[i]), "bytes differ");
  },
});

Deno.test({
  name: "echo() finishes the echo after a half-close",
  permissions: NET,
  async fn() {
    await using server = serveTcp(echo);
    using conn = await Deno.connect({ port: server.addr.port });
    await writeAll(conn, encoder.encode("first "));
    await writeAll(conn, encoder.encode("second"));
    await conn.closeWrite();
    assertEquals(await new Response(conn.readable).text(), "first second");
  },
});

Deno.test({
  name: "echo() stops reading from a client that does not read its echo",
  permissions: NET,
  async fn() {
    let bufferSize = 0;
    await using server = serveTcp(echo);
    using conn = await Deno.connect({ port: server.addr.port });
    // Write without reading until a write stalls for 200 ms: the server
    // stopped reading because its writes wait for this client.
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let written = 0;
    let pending: Promise<number> | undefined;
    while (written < 256 * 1024 * 1024) {
      pending = conn.write(chunk);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), 200);
      });
      const n = await Promise.race([pending, stalled]);
      clearTimeout(timer);
      if (n === undefined) break;
      written += n;
      pending = undefined;
    }
    assert(pending, `all ${written} bytes were written without stalling`);
    bufferSize = written;
    // Now read everything back: the stalled write completes, and nothing
    // was lost or duplicated.
    const reading = (async () => {
      let total = 0;
      const buffer = new Uint8Array(256 * 1024);
      for (let n; (n = await conn.read(buffer)) !== null;) total += n;
      return total;
    })();
    written += await pending;
    await conn.closeWrite();
    assertEquals(await reading, written);
    // Kernel socket buffers, not the server, held what was in flight.
    assertLess(bufferSize, 256 * 1024 * 1024);
  },
});

Deno.test({
  name: "echo() stops when its signal aborts",
  permissions: NET,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using client = await Deno.connect({ port: listener.addr.port });
    const conn = await listener.accept();
    const controller = new AbortController();
    const echoing = echo(conn, { signal: controller.signal });
    await writeAll(client, encoder.encode("ping"));
    assertEquals(decoder.decode(await readExactly(client, 4)), "ping");
    const reason = new Error("stop");
    controller.abort(reason);
    const error = await assertRejects(() => echoing);
    assertEquals(error, reason);
    // echo closed the connection to end its pending read.
    assertEquals(await client.read(new Uint8Array(1)), null);
    await assertRejects(
      () => echo(conn, { signal: controller.signal }),
      Error,
      "stop",
    );
  },
});

Deno.test({
  name: "echo() validates bufferSize",
  permissions: NET,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    using _client = await Deno.connect({ port: listener.addr.port });
    using conn = await listener.accept();
    const cases: [() => Promise<void>, typeof Error, string][] = [
      [
        () => echo(conn, { bufferSize: 0 }),
        RangeError,
        '"bufferSize" must be a positive integer, received 0',
      ],
      [
        () => echo(conn, { bufferSize: Infinity }),
        RangeError,
        '"bufferSize" must be a positive integer, received Infinity',
      ],
      [
        () => echo(conn, { bufferSize: "1024" as never }),
        TypeError,
        '"bufferSize" must be a positive integer, received "1024"',
      ],
      [
        () => echo(null as never),
        TypeError,
        '"conn" must be a Deno.Conn, received null',
      ],
      [
        () => echo(conn, { signal: "stop" as never }),
        TypeError,
        '"signal" must be an AbortSignal, received "stop"',
      ],
    ];
    for (const [call, ErrorClass, message] of cases) {
      await assertRejects(call, ErrorClass, `Cannot echo: ${message}`);
    }
  },
});

/** Starts `server/echo.ts` with `args`; `waitFor` reads stdout up to a match. */
function startEchoScript(args: string[]) {
  const child = denoCommand("run", [
    "-N=127.0.0.1",
    "server/echo.ts",
    ...args,
  ], { stdout: "piped", stderr: "piped", stdin: "null" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  async function waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    while (true) {
      const match = stdout.match(pattern);
      if (match) return match;
      const { done, value } = await reader.read();
      if (done) throw new Error(`No ${pattern} in the output: ${stdout}`);
      stdout += value;
    }
  }
  async function exited() {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      stdout += r.value;
    }
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    return { code: status.code, stdout, stderr };
  }
  return { child, waitFor, exited };
}

Deno.test({
  name:
    "server/echo.ts serves until SIGINT or SIGTERM, letting open connections finish",
  permissions: { run: ["deno"], read: ["../shared/std-offline"], ...NET },
  async fn(t) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      await t.step(signal, async () => {
        const script = startEchoScript(["--port", "0"]);
        const [, port] = await script.waitFor(
          /^Echo server on 127\.0\.0\.1:(\d+)$/m,
        );
        using conn = await Deno.connect({ port: Number(port) });
        await writeAll(conn, encoder.encode("before"));
        assertEquals(decoder.decode(await readExactly(conn, 6)), "before");
        script.child.kill(signal);
        await script.waitFor(/^Shutting down$/m);
        await assertNotServed(Number(port));
        await writeAll(conn, encoder.encode("after"));
        assertEquals(decoder.decode(await readExactly(conn, 5)), "after");
        conn.close();
        const { code, stdout, stderr } = await script.exited();
        assertEquals(stderr, "");
        assertEquals(code, 0);
        assertMatch(stdout, /Shutting down\nClosed\n$/);
      });
    }
  },
});

Deno.test({
  name: "server/echo.ts rejects bad arguments",
  permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  async fn(t) {
    for (const args of [["--port", "x"], ["--bogus"], ["--port"]]) {
      await t.step(args.join(" "), async () => {
        const { code, stderr } = await startEchoScript(args).exited();
        assertEquals(code, 2);
        assertMatch(stderr, /^aio: Cannot [\s\S]*usage: aio serve/);
      });
    }
  },
});

Deno.test({
  name: "serveTcp(echo) ends quietly when peers reset with the echo unread",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    const server = serveTcp(echo, { onError: (error) => errors.push(error) });
    for (let i = 0; i < 10; i++) {
      const conn = await Deno.connect({ port: server.addr.port });
      // More than the socket buffers take, then gone without reading.
      await conn.write(new Uint8Array(1 << 20)).catch(() => {});
      conn.close();
    }
    // Before shutdown, which would stop the handlers and silence them.
    for (let i = 0; server.connections > 0; i++) {
      assert(i < 500, "the connections did not end within 5 s");
      await delay(10);
    }
    await server.shutdown();
    await server.finished;
    assertEquals(errors, []);
  },
});
