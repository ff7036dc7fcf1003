import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { LineTooLongError, TimeoutError } from "../errors.ts";
import { type LineReply, serveLines } from "./lines.ts";
import { readEof, readExactly, writeAll } from "./_test_util.ts";

const NET: Deno.PermissionOptionsObject = { net: ["127.0.0.1"] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends `input`, half-closes, and returns everything the server sent. */
async function exchange(port: number, input: string | Uint8Array) {
  using conn = await Deno.connect({ port });
  await writeAll(conn, input);
  await conn.closeWrite();
  return await new Response(conn.readable).text();
}

/** Reads until `count` lines arrived; returns them. */
async function readLines(conn: Deno.Conn, count: number): Promise<string[]> {
  let text = "";
  const buffer = new Uint8Array(1024);
  while (text.split("\n").length <= count) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return text.split("\n").slice(0, count);
}

Deno.test({
  name: "serveLines() answers each line in order",
  permissions: NET,
  async fn() {
    const seen: [string, number][] = [];
    await using server = serveLines(async (line, context) => {
      seen.push([line, context.lineNumber]);
      // Later lines answer faster; replies must still come in order.
      await new Promise((resolve) => setTimeout(resolve, 30 - line.length));
      return `${context.lineNumber}:${line}`;
    });
    const reply = await exchange(
      server.addr.port,
      "a\r\nbb\n\nccc\nlast without newline",
    );
    assertEquals(reply, "1:a\n2:bb\n3:\n4:ccc\n5:last without newline\n");
    assertEquals(seen.map(([, n]) => n), [1, 2, 3, 4, 5]);
  },
});

Deno.test({
  name: "serveLines() keeps a leading byte order mark as data",
  permissions: NET,
  async fn() {
    await using server = serveLines((line) =>
      `${line.length} ${line.charCodeAt(0).toString(16)}`
    );
    assertEquals(
      await exchange(server.addr.port, "\uFEFFhi\r\n\uFEFF\n"),
      "3 feff\n1 feff\n",
    );
  },
});

Deno.test({
  name: "serveLines() sends every kind of reply",
  permissions: NET,
  async fn(t) {
    const replies: [string, (line: string) => LineReply, string][] = [
      ["a string", (line) => `<${line}>`, "<x>\n<y>\n"],
      ["nothing", () => undefined, ""],
      ["an array", (line) => [line, line], "x\nx\ny\ny\n"],
      ["a generator", function* (line) {
        yield line;
        yield "-";
      }, "x\n-\ny\n-\n"],
      ["an async generator", async function* (line) {
        await Promise.resolve();
        yield line.toUpperCase();
      }, "X\nY\n"],
    ];
    for (const [name, handler, expected] of replies) {
      await t.step(name, async () => {
        await using server = serveLines(handler);
        assertEquals(await exchange(server.addr.port, "x\ny\n"), expected);
      });
    }

    await t.step("a large array, batched", async () => {
      const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
      await using server = serveLines(() => lines);
      const reply = await exchange(server.addr.port, "go\n");
      assertEquals(reply, lines.join("\n") + "\n");
    });

    await t.step("a line that is no string closes the connection", async () => {
      const items: [string, () => LineReply, string, string][] = [
        // The lines before the bad one are sent, whatever the iterable.
        ["an array", () => ["a", 7 as unknown as string], "a\n", "7"],
        [
          "a generator",
          function* () {
            yield "a";
            yield {} as string;
          },
          "a\n",
          "an object",
        ],
        [
          "an async generator",
          async function* () {
            yield "a";
            await Promise.resolve();
            yield null as unknown as string;
          },
          "a\n",
          "null",
        ],
      ];
      for (const [name, handler, sent, type] of items) {
        const errors: unknown[] = [];
        await using server = serveLines(handler, {
          onError: (error) => errors.push(error),
        });
        assertEquals(await exchange(server.addr.port, "x\ny\n"), sent, name);
        assertEquals(errors.length, 1, name);
        assertInstanceOf(errors[0], TypeError);
        assertStringIncludes(
          errors[0].message,
          `Cannot reply to line 1 from 127.0.0.1:`,
        );
        assertStringIncludes(
          errors[0].message,
          `the handler returned an iterable holding ${type}, expected an iterable of strings`,
        );
      }
    });

    await t.step("a value that is no reply closes the connection", async () => {
      const errors: unknown[] = [];
      await using server = serveLines(() => 42 as unknown as string, {
        onError: (error) => errors.push(error),
      });
      assertEquals(await exchange(server.addr.port, "x\n"), "");
      assertEquals(errors.length, 1);
      assertInstanceOf(errors[0], TypeError);
      assertStringIncludes(
        errors[0].message,
        "the handler returned 42, expected a string, nothing, or an iterable of strings",
      );
    });
  },
});

Deno.test({
  name: "serveLines() closes the connection after context.close()",
  permissions: NET,
  async fn() {
    await using server = serveLines((line, context) => {
      if (line === "quit") {
        context.close();
        return "bye";
      }
      return line;
    });
    using conn = await Deno.connect({ port: server.addr.port });
    await writeAll(conn, "one\nquit\nnever answered\n");
    assertEquals(decoder.decode(await readExactly(conn, 8)), "one\nbye\n");
    assertEquals(await readEof(conn), null);
  },
});

Deno.test({
  name: "serveLines() ignores bad input after the line that closes",
  permissions: NET,
  async fn(t) {
    const variants: [string, Uint8Array, { maxLineLength?: number }][] = [
      [
        "invalid UTF-8",
        new Uint8Array([...encoder.encode("QUIT\n"), 0xff, 0x0a]),
        {},
      ],
      ["a line too long", encoder.encode("QUIT\n123456789\n"), {
        maxLineLength: 8,
      }],
    ];
    for (const [name, input, options] of variants) {
      await t.step(`${name} after context.close()`, async () => {
        const errors: unknown[] = [];
        await using server = serveLines((line, context) => {
          if (line === "QUIT") {
            context.close();
            return "bye";
          }
          return line;
        }, { ...options, onError: (error) => errors.push(error) });
        // One write, so the bad input arrives with the closing line.
        assertEquals(await exchange(server.addr.port, input), "bye\n");
        assertEquals(errors, []);
      });
    }

    await t.step("invalid UTF-8 once the server drains", async () => {
      const errors: unknown[] = [];
      const busy = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      const server = serveLines(async (line) => {
        busy.resolve();
        await release.promise;
        return `done ${line}`;
      }, { onError: (error) => errors.push(error) });
      using conn = await Deno.connect({ port: server.addr.port });
      await writeAll(
        conn,
        new Uint8Array([...encoder.encode("slow\n"), 0xff, 0x0a]),
      );
      await busy.promise;
      const shutdown = server.shutdown();
      release.resolve();
      assertEquals(await new Response(conn.readable).text(), "done slow\n");
      await shutdown;
      assertEquals(errors, []);
    });
  },
});

Deno.test({
  name: "serveLines() closes only the connection whose line is too long",
  permissions: NET,
  async fn(t) {
    await t.step("a long line after good ones", async () => {
      const errors: unknown[] = [];
      await using server = serveLines((line) => line, {
        maxLineLength: 8,
        onError: (error) => errors.push(error),
      });
      using other = await Deno.connect({ port: server.addr.port });
      await writeAll(other, "before\n");
      assertEquals(await readLines(other, 1), ["before"]);
      const reply = await exchange(
        server.addr.port,
        "12345678\n123456789\nx\n",
      );
      assertEquals(
        reply,
        "12345678\nerror: line 2 is longer than 8 characters\n",
      );
      assertEquals(errors.length, 1);
      assertInstanceOf(errors[0], LineTooLongError);
      assertEquals(errors[0].lineNumber, 2);
      assertEquals(errors[0].maxLineLength, 8);
      await writeAll(other, "after\n");
      assertEquals(await readLines(other, 1), ["after"]);
    });

    await t.step("detected before the newline arrives", async () => {
      await using server = serveLines((line) => line, {
        maxLineLength: 1000,
        onError: () => {},
      });
      using conn = await Deno.connect({ port: server.addr.port });
      // No newline is ever sent: the limit is enforced as bytes arrive.
      for (let i = 0; i < 11; i++) await writeAll(conn, "x".repeat(100));
      assertEquals(await readLines(conn, 1), [
        "error: line 1 is longer than 1000 characters",
      ]);
      assertEquals(await readEof(conn), null);
    });

    await t.step("closed before its peer sees the end", async () => {
      await using server = serveLines((line) => line, {
        maxLineLength: 8,
        maxConnections: 1,
        onError: () => {},
      });
      using conn = await Deno.connect({ port: server.addr.port });
      await writeAll(conn, "123456789\n");
      assertEquals(await readLines(conn, 1), [
        "error: line 1 is longer than 8 characters",
      ]);
      assertEquals(await readEof(conn), null);
      // The peer sent nothing more: no lingering, the slot is free.
      assertEquals(server.connections, 0);
      using next = await Deno.connect({ port: server.addr.port });
      await writeAll(next, "next\n");
      assertEquals(await readLines(next, 1), ["next"]);
    });

    await t.step("to a client that sends all its input first", async () => {
      const errors: unknown[] = [];
      await using server = serveLines((line) => line, {
        onError: (error) => errors.push(error),
      });
      // Far past the limit and the socket buffers: the server reads on
      // after its error line, so the client's writes do not fail and the
      // line is not lost to a reset.
      const reply = await exchange(
        server.addr.port,
        `first\n${"x".repeat(4 * 1024 * 1024)}\nlast\n`,
      );
      assertEquals(
        reply,
        "first\nerror: line 2 is longer than 65536 characters\n",
      );
      assertEquals(errors.length, 1);
    });
  },
});

Deno.test({
  name: "serveLines() answers invalid UTF-8 with an error line",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    await using server = serveLines((line) => `ok ${line}`, {
      onError: (error) => errors.push(error),
    });
    const bytes = new Uint8Array([0x61, 0x0a, 0x62, 0xff, 0x62, 0x0a, 0x63]);
    assertEquals(
      await exchange(server.addr.port, bytes),
      "ok a\nerror: line 2 is not valid UTF-8\n",
    );
    assertEquals(errors.length, 1);
    assertInstanceOf(errors[0], Deno.errors.InvalidData);
    assertStringIncludes(errors[0].message, "line 2 from 127.0.0.1:");
    assertStringIncludes(errors[0].message, ": it is not valid UTF-8");
    // The server goes on.
    assertEquals(await exchange(server.addr.port, "é\n"), "ok é\n");
  },
});

Deno.test({
  name:
    "serveLines() closes waiting connections at shutdown and finishes busy ones",
  permissions: NET,
  async fn() {
    const busy = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    let signal: AbortSignal | undefined;
    const server = serveLines(async (line, context) => {
      if (line === "slow") {
        signal = context.signal;
        busy.resolve();
        await release.promise;
      }
      return `done ${line}`;
    });
    using waiting = await Deno.connect({ port: server.addr.port });
    using working = await Deno.connect({ port: server.addr.port });
    await writeAll(waiting, "quick\n");
    assertEquals(await readLines(waiting, 1), ["done quick"]);
    await writeAll(working, "slow\n");
    await busy.promise;
    const shutdown = server.shutdown();
    assertEquals(await readEof(waiting), null);
    release.resolve();
    assertEquals(await readLines(working, 1), ["done slow"]);
    assertEquals(await readEof(working), null);
    await shutdown;
    assert(signal?.aborted);
    assertStringIncludes(String(signal.reason), "it is closed");
  },
});

Deno.test({
  name: "serveLines() closes a connection whose line takes past lineTimeout",
  permissions: NET,
  async fn(t) {
    const errors: unknown[] = [];
    await using server = serveLines(async (line) => {
      if (line === "slow") await delay(800);
      return `got ${line}`;
    }, {
      lineTimeout: 500,
      idleTimeout: 5_000,
      onError: (error) => errors.push(error),
    });
    const { port } = server.addr;

    await t.step("a line that trickles in", async () => {
      using conn = await Deno.connect({ port });
      await writeAll(conn, "ok\n");
      assertEquals(await readLines(conn, 1), ["got ok"]);
      // A byte every 40 ms: never idle, yet the line never ends.
      const start = performance.now();
      const drip = setInterval(
        () => conn.write(encoder.encode("x")).catch(() => {}),
        40,
      );
      try {
        assertEquals(await readLines(conn, 1), [
          "error: line 2 timed out after 500 ms",
        ]);
      } finally {
        clearInterval(drip);
      }
      assertGreaterOrEqual(performance.now() - start, 500);
      assertEquals(await readEof(conn), null);
      assertEquals(errors.length, 1);
      assertInstanceOf(errors[0], TimeoutError);
      assertEquals(errors[0].timeout, 500);
      assertStringIncludes(
        errors[0].message,
        "Cannot read line 2 from 127.0.0.1:",
      );
      assertStringIncludes(errors[0].message, "not complete after 500 ms");
    });

    await t.step("not between lines, nor in the handler's turn", async () => {
      errors.length = 0;
      using conn = await Deno.connect({ port });
      await writeAll(conn, "a\n");
      assertEquals(await readLines(conn, 1), ["got a"]);
      await delay(1_000); // idle between lines: no line in progress
      // The next line's start arrives while the handler takes 800 ms.
      await writeAll(conn, "slow\nsec");
      assertEquals(await readLines(conn, 1), ["got slow"]);
      await delay(100);
      await writeAll(conn, "ond\n");
      assertEquals(await readLines(conn, 1), ["got second"]);
      await conn.closeWrite();
      assertEquals(await readEof(conn), null);
      assertEquals(errors, []);
    });
  },
});

Deno.test({
  name: "serveLines() lineTimeout sets no timer per line",
  permissions: NET,
  async fn() {
    // 20,000 lines whose reads end mid-line, so a line is always on the
    // clock when the server waits.
    const body = encoder.encode("0123456789\n".repeat(20_000));
    const setInterval = globalThis.setInterval;
    let timers = 0;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      timers++;
      return setInterval(...args);
    }) as typeof setInterval;
    try {
      let lines = 0;
      await using server = serveLines(() => void lines++, {
        lineTimeout: 60_000,
      });
      using conn = await Deno.connect({ port: server.addr.port });
      for (let at = 0; at < body.length; at += 1_000) {
        await writeAll(conn, body.subarray(at, at + 1_000));
      }
      await conn.closeWrite();
      assertEquals(await readEof(conn), null);
      assertEquals(lines, 20_000);
    } finally {
      globalThis.setInterval = setInterval;
    }
    assertLess(timers, 10);
  },
});

Deno.test({
  name: "serveLines() validates its arguments",
  permissions: "none",
  fn() {
    assertThrows(
      () => serveLines((line) => line, { maxLineLength: 1.5 }),
      RangeError,
      'Cannot serve: "maxLineLength" must be a positive integer or Infinity, received 1.5',
    );
    assertThrows(
      () => serveLines((line) => line, { lineTimeout: 0 }),
      RangeError,
      '"lineTimeout"',
    );
    assertThrows(
      () => serveLines((line) => line, { lineTimeout: "5s" as never }),
      TypeError,
      '"lineTimeout"',
    );
    assertThrows(
      () => serveLines(null as never),
      TypeError,
      'Cannot serve: "handler" must be a function, received null',
    );
  },
});

Deno.test({
  name:
    "serveLines() sends what a sync generator yielded before it threw, and reports a reset that is not its peer's",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const reported: unknown[] = [];
    await using server = serveLines(function* (line) {
      if (line === "upstream") {
        // The handler's own upstream, not the client, reset.
        throw new Deno.errors.ConnectionReset("upstream reset");
      }
      yield "a";
      yield "b";
      throw new Error("midway");
    }, { onError: (error) => void reported.push(error) });
    for (const [line, expected] of [["x", "a\nb\n"], ["upstream", ""]]) {
      const conn = await Deno.connect({ port: server.addr.port });
      await conn.write(new TextEncoder().encode(`${line}\n`));
      await conn.closeWrite();
      const text = await new Response(conn.readable).text();
      assertEquals(text, expected, line);
    }
    await server.shutdown();
    assertEquals(
      reported.map((error) => (error as Error).message),
      ["midway", "upstream reset"],
    );
  },
});
