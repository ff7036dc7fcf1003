import {
  assert,
  assertEquals,
  assertFalse,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import net from "node:net";
import { AioError, TimeoutError } from "../errors.ts";
import { denoCommand } from "../tests/_deno.ts";
import { echo } from "./echo.ts";
import { serveTcp, type TcpContext } from "./tcp.ts";
import { serveLines } from "./lines.ts";
import { serveHttp } from "./http.ts";
import {
  aborted,
  assertNotServed,
  readEof,
  readExactly,
  roundTrip,
} from "./_test_util.ts";

const NET: Deno.PermissionOptionsObject = { net: ["127.0.0.1", "[::1]"] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test({
  name: "serveTcp() listens on the address it is given and reports it",
  permissions: NET,
  async fn(t) {
    for (const hostname of ["127.0.0.1", "::1"]) {
      await t.step(hostname, async () => {
        let listened: Deno.NetAddr | undefined;
        await using server = serveTcp(echo, {
          hostname,
          onListen: (addr) => listened = addr,
        });
        assertEquals(listened, server.addr);
        assertEquals(server.addr.hostname, hostname);
        assert(server.addr.port > 0);
        using conn = await Deno.connect({ hostname, port: server.addr.port });
        assertEquals(await roundTrip(conn, "ping"), "ping");
      });
    }
  },
});

Deno.test({
  name: "serveTcp() takes a handler whose promise resolves to a value",
  permissions: NET,
  async fn() {
    // conn.write() resolves to the number of bytes written.
    await using server = serveTcp((conn) => conn.write(encoder.encode("hi")));
    using conn = await Deno.connect({ port: server.addr.port });
    assertEquals(await new Response(conn.readable).text(), "hi");
  },
});

Deno.test({
  name: "serveTcp() gives each handler the addresses and counts connections",
  permissions: NET,
  async fn() {
    const contexts: TcpContext[] = [];
    await using server = serveTcp((conn, context) => {
      contexts.push(context);
      return echo(conn);
    });
    assertEquals(server.connections, 0);
    using a = await Deno.connect({ port: server.addr.port });
    using b = await Deno.connect({ port: server.addr.port });
    assertEquals(await roundTrip(a, "a"), "a");
    assertEquals(await roundTrip(b, "b"), "b");
    assertEquals(server.connections, 2);
    const ports = contexts.map((context) => context.remoteAddr.port).sort();
    assertEquals(ports, [a.localAddr.port, b.localAddr.port].sort());
    for (const context of contexts) {
      assertEquals(context.localAddr.port, server.addr.port);
      assertFalse(context.signal.aborted);
      assertFalse(context.draining.aborted);
    }
    a.close();
    await aborted(contexts[0]!.signal);
    assertEquals(await roundTrip(b, "still"), "still");
  },
});

Deno.test({
  name: "serveTcp() closes only the failing connection",
  permissions: NET,
  async fn(t) {
    const variants = [{
      name: "a handler that throws",
      send: "",
      fail: (): void => {
        throw new Error("boom");
      },
    }, {
      name: "a handler that rejects",
      send: "fail",
      fail: async (conn: Deno.TcpConn): Promise<void> => {
        await readExactly(conn, 4);
        throw new Error("boom");
      },
    }];
    for (const { name, send, fail } of variants) {
      await t.step(name, async () => {
        const errors: [unknown, Deno.TcpConn | undefined][] = [];
        let accepted = 0;
        await using server = serveTcp(
          (conn) => accepted++ === 1 ? fail(conn) : echo(conn),
          { onError: (error, conn) => errors.push([error, conn]) },
        );
        using good = await Deno.connect({ port: server.addr.port });
        assertEquals(await roundTrip(good, "before"), "before");
        using bad = await Deno.connect({ port: server.addr.port });
        if (send) await bad.write(encoder.encode(send));
        assertEquals(await readEof(bad), null);
        assertEquals(await roundTrip(good, "after"), "after");
        assertEquals(errors.length, 1);
        const [error, conn] = errors[0]!;
        assertInstanceOf(error, Error);
        assertEquals(error.message, "boom");
        assertEquals(conn?.remoteAddr.port, bad.localAddr.port);
        assertEquals(server.connections, 1);
      });
    }
  },
});

Deno.test({
  name: "serveTcp() closes connections idle for idleTimeout",
  permissions: NET,
  async fn(t) {
    await t.step("an idle connection is closed, not early", async () => {
      const reasons: unknown[] = [];
      const errors: unknown[] = [];
      await using server = serveTcp(async (conn, context) => {
        try {
          await echo(conn);
        } finally {
          reasons.push(context.signal.reason);
        }
      }, { idleTimeout: 200, onError: (error) => errors.push(error) });
      using conn = await Deno.connect({ port: server.addr.port });
      assertEquals(await roundTrip(conn, "hi"), "hi");
      const lastActivity = performance.now();
      assertEquals(await readEof(conn), null);
      const idle = performance.now() - lastActivity;
      assertGreaterOrEqual(idle, 195); // timers may round down a little
      assertLess(idle, 5000);
      await server.shutdown();
      assertEquals(errors, []);
      assertEquals(reasons.length, 1);
      assertInstanceOf(reasons[0], TimeoutError);
      assertEquals(reasons[0].timeout, 200);
      assertStringIncludes(reasons[0].message, "idle for 200 ms");
    });

    await t.step("an active connection stays open", async () => {
      await using server = serveTcp(echo, { idleTimeout: 300 });
      using conn = await Deno.connect({ port: server.addr.port });
      const start = performance.now();
      // Three idle timeouts long, with activity every 30 ms.
      while (performance.now() - start < 900) {
        assertEquals(await roundTrip(conn, "."), ".");
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      assertEquals(server.connections, 1);
    });
  },
});

Deno.test({
  name: "serveTcp() pauses accepting at maxConnections",
  permissions: NET,
  async fn() {
    let handled = 0;
    await using server = serveTcp((conn) => {
      handled++;
      return echo(conn);
    }, { maxConnections: 2 });
    const a = await Deno.connect({ port: server.addr.port });
    using b = await Deno.connect({ port: server.addr.port });
    assertEquals(await roundTrip(a, "a"), "a");
    assertEquals(await roundTrip(b, "b"), "b");
    // The kernel completes the handshake; the server does not accept it.
    using c = await Deno.connect({ port: server.addr.port });
    await c.write(encoder.encode("c"));
    const echoed = readExactly(c, 1);
    for (let i = 0; i < 10; i++) {
      assertEquals(await roundTrip(b, "b"), "b");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(server.connections, 2);
    assertEquals(handled, 2);
    a.close();
    assertEquals(decoder.decode(await echoed), "c");
    assertEquals(handled, 3);
    assertEquals(server.connections, 2);
  },
});

Deno.test({
  name:
    "serveTcp() skips peers that reset before they are accepted, unreported and without pausing",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    await using server = serveTcp(echo, {
      maxConnections: 1,
      onError: (error) => errors.push(error),
    });
    // The only slot is taken, so the resetting peers wait in the backlog:
    // accepting them fails (Deno: "Transport endpoint is not connected").
    const held = await Deno.connect({ port: server.addr.port });
    assertEquals(await roundTrip(held, "held"), "held");
    for (let i = 0; i < 3; i++) await connectAndReset(server.addr.port);
    using next = await Deno.connect({ port: server.addr.port });
    await next.write(encoder.encode("next"));
    const echoed = readExactly(next, 4);
    held.close();
    const start = performance.now();
    assertEquals(decoder.decode(await echoed), "next");
    assertEquals(errors, []);
    // Accepting went on at once, not after a 100 ms pause per failure.
    assertLess(performance.now() - start, 250);
  },
});

/** Connects and resets the connection (RST, not FIN) as soon as it is up. */
function connectAndReset(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.resetAndDestroy();
      socket.once("close", () => resolve());
    });
    socket.once("error", reject);
  });
}

Deno.test({
  name: "serveTcp() lets in-flight connections finish on shutdown",
  permissions: NET,
  async fn() {
    const release = Promise.withResolvers<void>();
    const started = Promise.withResolvers<TcpContext>();
    const server = serveTcp(async (conn, context) => {
      const request = await readExactly(conn, 3);
      started.resolve(context);
      await release.promise;
      await conn.write(request);
    });
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode("req"));
    const context = await started.promise;
    let finished = false;
    server.finished.then(() => finished = true);
    const shutdown = server.shutdown();
    assert(context.draining.aborted);
    assertInstanceOf(context.draining.reason, AioError);
    await assertNotServed(server.addr.port);
    assertFalse(finished);
    release.resolve();
    assertEquals(decoder.decode(await readExactly(conn, 3)), "req");
    assertEquals(await readEof(conn), null);
    await shutdown;
    assert(finished);
    assertEquals(server.connections, 0);
    assert(context.signal.aborted); // closed after the handler returned
    assertStringIncludes(String(context.signal.reason), "it is closed");
  },
});

Deno.test({
  name: "serveTcp() aborts and closes connections past shutdownTimeout",
  permissions: NET,
  async fn(t) {
    await t.step("a handler waiting on its signal", async () => {
      const errors: unknown[] = [];
      const started = Promise.withResolvers<void>();
      let reason: unknown;
      const server = serveTcp(async (_conn, context) => {
        started.resolve();
        reason = await aborted(context.signal);
        throw new Error("ignored: the server stopped this connection");
      }, { shutdownTimeout: 100, onError: (error) => errors.push(error) });
      using conn = await Deno.connect({ port: server.addr.port });
      await started.promise;
      const start = performance.now();
      await server.shutdown();
      assertGreaterOrEqual(performance.now() - start, 95);
      assertInstanceOf(reason, AioError);
      assertStringIncludes(reason.message, "100 ms shutdownTimeout passed");
      assertEquals(await readEof(conn), null);
      assertEquals(errors, []);
    });

    await t.step("a handler blocked in a read", async () => {
      const errors: unknown[] = [];
      const server = serveTcp(echo, {
        shutdownTimeout: 50,
        onError: (error) => errors.push(error),
      });
      using conn = await Deno.connect({ port: server.addr.port });
      assertEquals(await roundTrip(conn, "x"), "x");
      await server.shutdown();
      assertEquals(await readEof(conn), null);
      assertEquals(server.connections, 0);
      assertEquals(errors, []);
    });

    await t.step("shutdownTimeout 0 closes everything at once", async () => {
      const server = serveTcp(echo, { shutdownTimeout: 0 });
      using conn = await Deno.connect({ port: server.addr.port });
      assertEquals(await roundTrip(conn, "x"), "x");
      await server.shutdown();
      assertEquals(await readEof(conn), null);
    });
  },
});

Deno.test({
  name: "serveTcp() treats a shutdownTimeout past the timer limit as Infinity",
  permissions: NET,
  async fn() {
    // setTimeout fires at once for a delay above 2 ** 31 - 1 ms.
    const release = Promise.withResolvers<void>();
    const started = Promise.withResolvers<TcpContext>();
    const server = serveTcp(async (conn, context) => {
      started.resolve(context);
      await release.promise;
      await conn.write(encoder.encode("done"));
    }, { shutdownTimeout: 2 ** 31 });
    using conn = await Deno.connect({ port: server.addr.port });
    const context = await started.promise;
    let stopped = false;
    const shutdown = server.shutdown().then(() => stopped = true);
    await delay(200);
    assertFalse(context.signal.aborted);
    assertFalse(stopped);
    assertEquals(server.connections, 1);
    release.resolve();
    assertEquals(decoder.decode(await readExactly(conn, 4)), "done");
    assertEquals(await readEof(conn), null);
    await shutdown;
    await server.finished;
    assertStringIncludes(String(context.signal.reason), "it is closed");
  },
});

Deno.test({
  name: "serveTcp() shuts down at the end of an await using block",
  permissions: NET,
  async fn() {
    let finished: Promise<void>;
    let port: number;
    {
      await using server = serveTcp(echo);
      finished = server.finished;
      port = server.addr.port;
      using conn = await Deno.connect({ port });
      assertEquals(await roundTrip(conn, "x"), "x");
      conn.close();
    }
    assertEquals(await finished, undefined);
    await assertRejects(
      () => Deno.connect({ port }),
      Deno.errors.ConnectionRefused,
    );
  },
});

Deno.test({
  name: "serveTcp() shuts down when its signal aborts",
  permissions: NET,
  async fn(t) {
    await t.step("aborted while serving", async () => {
      const controller = new AbortController();
      const server = serveTcp(echo, { signal: controller.signal });
      using conn = await Deno.connect({ port: server.addr.port });
      assertEquals(await roundTrip(conn, "x"), "x");
      conn.close();
      controller.abort();
      await server.finished;
      assertEquals(server.connections, 0);
    });

    await t.step("aborted before it started", async () => {
      const server = serveTcp(echo, { signal: AbortSignal.abort() });
      await server.finished;
      await assertRejects(
        () => Deno.connect({ port: server.addr.port }),
        Deno.errors.ConnectionRefused,
      );
    });
  },
});

Deno.test({
  name: "serveTcp() aborts the signal when the peer is gone, not at half-close",
  permissions: NET,
  async fn(t) {
    await t.step("the peer resets the connection", async () => {
      const wrote = Promise.withResolvers<void>();
      const closed = Promise.withResolvers<void>();
      const result = Promise.withResolvers<unknown>();
      await using server = serveTcp(async (conn, context) => {
        await conn.write(encoder.encode("unread"));
        wrote.resolve();
        await closed.promise;
        // Deno reads a reset as the end of input; writing reveals it.
        const writing = (async () => {
          while (true) await conn.write(encoder.encode("more"));
        })().catch(() => {});
        result.resolve(await aborted(context.signal));
        await writing;
      });
      const conn = await Deno.connect({ port: server.addr.port });
      await wrote.promise;
      // Closing with unread data makes the kernel send a reset.
      conn.close();
      closed.resolve();
      const reason = await result.promise;
      assert(
        reason instanceof Deno.errors.BrokenPipe ||
          reason instanceof Deno.errors.ConnectionReset,
        `unexpected reason: ${reason}`,
      );
    });

    await t.step("the peer half-closes and waits for the reply", async () => {
      let abortedAtEof: boolean | undefined;
      await using server = serveTcp(async (conn, context) => {
        const request = await new Response(conn.readable).text();
        abortedAtEof = context.signal.aborted;
        await conn.write(encoder.encode(`got ${request.length} bytes`));
      });
      using conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode("request"));
      await conn.closeWrite();
      assertEquals(await new Response(conn.readable).text(), "got 7 bytes");
      assertEquals(abortedAtEof, false);
    });
  },
});

Deno.test({
  name: "serveTcp() connection streams half-close instead of closing",
  permissions: NET,
  async fn() {
    await using server = serveTcp((conn) =>
      conn.readable.pipeTo(conn.writable)
    );
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode("piped"));
    await conn.closeWrite();
    assertEquals(await new Response(conn.readable).text(), "piped");
  },
});

Deno.test({
  name: "serveTcp() validates its arguments",
  permissions: NET,
  async fn(t) {
    const cases: [string, () => unknown, typeof Error, string][] = [
      [
        "handler",
        () => serveTcp("echo" as never),
        TypeError,
        'Cannot serve: "handler" must be a function, received "echo"',
      ],
      [
        "port",
        () => serveTcp(echo, { port: 70000 }),
        RangeError,
        'Cannot serve: "port" must be an integer from 0 to 65535, received 70000',
      ],
      [
        "hostname",
        () => serveTcp(echo, { hostname: "" }),
        TypeError,
        'Cannot serve: "hostname" must be a non-empty string, received ""',
      ],
      [
        "maxConnections",
        () => serveTcp(echo, { maxConnections: -1 }),
        RangeError,
        'Cannot serve: "maxConnections" must be a positive integer or Infinity, received -1',
      ],
      [
        "idleTimeout",
        () => serveTcp(echo, { idleTimeout: 0 }),
        RangeError,
        'Cannot serve: "idleTimeout" must be a positive number or Infinity, received 0',
      ],
      [
        "shutdownTimeout",
        () => serveTcp(echo, { shutdownTimeout: NaN }),
        RangeError,
        'Cannot serve: "shutdownTimeout" must be a non-negative number or Infinity, received NaN',
      ],
      [
        "signal",
        () => serveTcp(echo, { signal: {} as AbortSignal }),
        TypeError,
        'Cannot serve: "signal" must be an AbortSignal, received an object',
      ],
      [
        "a limit that is not a number",
        () => serveTcp(echo, { maxConnections: "5" as unknown as number }),
        TypeError,
        'Cannot serve: "maxConnections" must be a positive integer or Infinity, received "5"',
      ],
      [
        "reusePort without --unstable-net",
        () => serveTcp(echo, { reusePort: true }),
        TypeError,
        'Cannot serve: "reusePort" needs the --unstable-net flag on Deno 2.9',
      ],
    ];
    for (const [name, call, ErrorClass, message] of cases) {
      await t.step(name, () => {
        assertThrows(call, ErrorClass, message);
      });
    }
    await t.step("an onListen that throws closes the listener", () => {
      assertThrows(
        () =>
          serveTcp(echo, {
            onListen: () => {
              throw new Error("no");
            },
          }),
        Error,
        "no",
      );
    });
  },
});

Deno.test({
  name: "serveTcp() shares a port between two servers with reusePort",
  permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  async fn() {
    const script = `
      import { serveTcp } from "./server/tcp.ts";
      import { echo } from "./server/echo.ts";
      const a = serveTcp(echo, { reusePort: true });
      const b = serveTcp(echo, { reusePort: true, port: a.addr.port });
      console.log(a.addr.port === b.addr.port ? "shared" : "different");
      await Promise.all([a.shutdown(), b.shutdown()]);
    `;
    const { code, stdout, stderr } = await denoCommand("eval", [
      "--unstable-net",
      "-N=127.0.0.1",
      script,
    ], { stdout: "piped", stderr: "piped" }).output();
    assertEquals(decoder.decode(stderr), "");
    assertEquals(code, 0);
    assertEquals(decoder.decode(stdout).trim(), "shared");
  },
});

Deno.test({
  name: "serveTcp() does not report a handler ended by a peer that reset",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    const ended = Promise.withResolvers<void>();
    const server = serveTcp(async (conn) => {
      try {
        // Writes until the peer, gone without reading, makes one fail.
        while (true) await conn.write(new Uint8Array(64 * 1024));
      } finally {
        ended.resolve();
      }
    }, { onError: (error) => errors.push(error) });
    const conn = await Deno.connect({ port: server.addr.port });
    conn.close();
    await ended.promise;
    await server.shutdown();
    assertEquals(errors, []);
  },
});

Deno.test("the servers and echo refuse null options with a clear TypeError", {
  permissions: {},
}, async () => {
  const message = '"options" must be an object, received ';
  // @ts-expect-error: not an object
  assertThrows(() => serveTcp(echo, null), TypeError, message);
  // @ts-expect-error: not an object
  assertThrows(() => serveLines((line) => line, null), TypeError, message);
  // @ts-expect-error: not an object
  assertThrows(() => serveHttp(() => new Response(), null), TypeError, message);
  await assertRejects(
    // @ts-expect-error: not an object
    () => echo({ read() {}, write() {} } as unknown as Deno.Conn, null),
    TypeError,
    'Cannot echo: "options" must be an object, received null',
  );
});

Deno.test({
  name:
    "serveTcp() and serveHttp() name the address they cannot listen on, keeping Deno's error class",
  permissions: NET,
  fn() {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = taken.addr;
    const servers = [
      () => serveTcp(() => {}, { port }),
      () => serveHttp(() => new Response(), { port }),
    ];
    for (const serve of servers) {
      const error = assertThrows(
        serve,
        Deno.errors.AddrInUse,
        `Cannot listen on 127.0.0.1:${port}: Address already in use`,
      );
      assertInstanceOf(error.cause, Deno.errors.AddrInUse);
      assertEquals((error as { code?: string }).code, "EADDRINUSE");
    }
    // IPv6, with the brackets Deno also takes, written once.
    using taken6 = Deno.listen({ hostname: "::1", port: 0 });
    for (const hostname of ["::1", "[::1]"]) {
      assertThrows(
        () => serveTcp(() => {}, { hostname, port: taken6.addr.port }),
        Deno.errors.AddrInUse,
        `Cannot listen on [::1]:${taken6.addr.port}: Address already in use`,
      );
    }
  },
});
