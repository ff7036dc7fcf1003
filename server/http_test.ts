import {
  assert,
  assertEquals,
  assertFalse,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { AioError, TimeoutError } from "../errors.ts";
import {
  type AccessLogEntry,
  createFetchHandler,
  type HttpContext,
  type HttpServer,
  serveHttp,
} from "./http.ts";
import { aborted, assertNotServed } from "./_test_util.ts";
import { readResponse } from "./_http_test_util.ts";
import { denoCommand } from "../tests/_deno.ts";

const NET: Deno.PermissionOptionsObject = { net: ["127.0.0.1", "[::1]"] };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Connects to `port` and sends a POST's request line, then `head` as is. */
async function postRaw(port: number, head: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ port });
  await conn.write(encoder.encode(`POST / HTTP/1.1\r\nHost: x\r\n${head}`));
  return conn;
}

/** Resolves once `condition()` holds, checking every few milliseconds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 10_000) throw new Error(`Timed out: ${what}`);
    await delay(2);
  }
}

/**
 * Fetches from `server`, leaves once the handler runs, and returns what the
 * fetch settled with (an `AbortError`).
 */
async function leaveMidRequest(server: HttpServer): Promise<unknown> {
  const client = new AbortController();
  const response = fetch(`http://127.0.0.1:${server.addr.port}/`, {
    signal: client.signal,
  }).catch((error) => error);
  await until(() => server.inFlight === 1, "the handler");
  client.abort();
  return await response;
}

Deno.test({
  name: "serveHttp() listens on the address it is given and reports it",
  permissions: NET,
  async fn(t) {
    for (const hostname of ["127.0.0.1", "::1"]) {
      await t.step(hostname, async () => {
        let listened: Deno.NetAddr | undefined;
        let remoteAddr: Deno.NetAddr | undefined;
        let startTime = 0;
        const before = Date.now();
        await using server = serveHttp((_request, context) => {
          remoteAddr = context.remoteAddr;
          startTime = context.startTime;
          return new Response("hi");
        }, { hostname, onListen: (addr) => listened = addr });
        assertEquals(listened, server.addr);
        assertEquals(server.addr.hostname, hostname);
        assert(server.addr.port > 0);
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        const response = await fetch(`http://${host}:${server.addr.port}/`);
        assertEquals(await response.text(), "hi");
        assertEquals(remoteAddr?.hostname, hostname);
        assertEquals(remoteAddr?.transport, "tcp");
        assertGreaterOrEqual(startTime, before - 1);
        assertLessOrEqual(startTime, Date.now() + 1);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() closes the server when onListen throws, and rethrows",
  permissions: NET,
  async fn() {
    const thrown = new Error("no");
    let port = 0;
    const error = assertThrows(() =>
      serveHttp(() => new Response("still here"), {
        onListen: (addr) => {
          port = addr.port;
          throw thrown;
        },
      })
    );
    assertStrictEquals(error, thrown);
    assert(port > 0);
    await assertNotServed(port);
  },
});

Deno.test({
  name: "serveHttp() validates its arguments",
  permissions: NET,
  fn() {
    const ok = () => new Response();
    assertThrows(
      // @ts-expect-error: not a function
      () => serveHttp("nope"),
      TypeError,
      'Cannot serve: "handler" must be a function, received "nope"',
    );
    assertThrows(
      () => serveHttp(ok, { port: -1 }),
      RangeError,
      '"port" must be an integer from 0 to 65535, received -1',
    );
    assertThrows(
      () => serveHttp(ok, { hostname: "" }),
      TypeError,
      '"hostname" must be a non-empty string',
    );
    assertThrows(
      () => serveHttp(ok, { requestTimeout: 0 }),
      RangeError,
      '"requestTimeout" must be a positive number or Infinity, received 0',
    );
    assertThrows(
      () => serveHttp(ok, { maxBodySize: 1.5 }),
      RangeError,
      '"maxBodySize" must be a non-negative integer or Infinity, received 1.5',
    );
    assertThrows(
      () => serveHttp(ok, { shutdownTimeout: -5 }),
      RangeError,
      '"shutdownTimeout" must be a non-negative number or Infinity',
    );
    assertThrows(
      // @ts-expect-error: not a function
      () => serveHttp(ok, { onError: 1 }),
      TypeError,
      '"onError" must be a function, received 1',
    );
    assertThrows(
      // @ts-expect-error: neither a boolean nor a function
      () => serveHttp(ok, { accessLog: "yes" }),
      TypeError,
      '"accessLog" must be a boolean or a function, received "yes"',
    );
    assertThrows(
      // @ts-expect-error: not a number
      () => serveHttp(ok, { port: "80" }),
      TypeError,
      '"port" must be an integer from 0 to 65535, received "80"',
    );
    assertThrows(
      // @ts-expect-error: not a number
      () => serveHttp(ok, { requestTimeout: "100" }),
      TypeError,
      '"requestTimeout" must be a positive number or Infinity, received "100"',
    );
    assertThrows(
      // @ts-expect-error: not a signal
      () => serveHttp(ok, { signal: {} }),
      TypeError,
      '"signal" must be an AbortSignal',
    );
  },
});

Deno.test({
  name: "serveHttp() answers 500 without internals when the handler fails",
  permissions: NET,
  async fn(t) {
    const secret = "secret-internal-detail";
    const variants: [string, () => Response | Promise<Response>][] = [
      ["a handler that throws", () => {
        throw new Error(secret);
      }],
      ["a handler that rejects", async () => {
        await delay(1);
        throw new Error(secret);
      }],
      [
        "a handler that returns no Response",
        // @ts-expect-error: the wrong return type on purpose
        () => ({ body: secret }),
      ],
    ];
    for (const [name, handler] of variants) {
      await t.step(name, async () => {
        // Deno's requests are unreadable once answered: keep the URL.
        const errors: [unknown, string | undefined][] = [];
        await using server = serveHttp(handler, {
          onError: (error, request) => void errors.push([error, request?.url]),
        });
        const url = `http://127.0.0.1:${server.addr.port}/path`;
        const response = await fetch(url);
        assertEquals(response.status, 500);
        const body = await response.text();
        assertEquals(body, "Internal Server Error\n");
        assertEquals(errors.length, 1);
        const [error, requestUrl] = errors[0]!;
        assertInstanceOf(error, Error);
        assertEquals(requestUrl, url);
        if (error instanceof TypeError) {
          assertStringIncludes(error.message, "not a Response");
        } else {
          assertEquals(error.message, secret);
        }
        // The server goes on.
        const again = await fetch(url);
        assertEquals(again.status, 500);
        await again.body?.cancel();
      });
    }

    await t.step("onError may answer instead", async () => {
      await using server = serveHttp(() => {
        throw new RangeError("bad");
      }, {
        onError: (error) =>
          new Response(`custom: ${(error as Error).name}`, { status: 502 }),
      });
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
      assertEquals(response.status, 502);
      assertEquals(await response.text(), "custom: RangeError");
    });

    await t.step("an onError that throws still gives a 500", async () => {
      const logged: unknown[][] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => void logged.push(args);
      try {
        await using server = serveHttp(() => {
          throw new Error(secret);
        }, {
          onError: () => {
            throw new Error("onError broke");
          },
        });
        const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
        assertEquals(response.status, 500);
        assertEquals(await response.text(), "Internal Server Error\n");
      } finally {
        console.error = original;
      }
      assertEquals(logged.length, 1);
      assertStringIncludes(String(logged[0]![1]), "onError broke");
    });
  },
});

Deno.test({
  name: "serveHttp() answers 503 past requestTimeout and aborts the handler",
  permissions: NET,
  async fn() {
    const errors: unknown[] = [];
    const reasons: unknown[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    await using server = serveHttp(async (request, context) => {
      if (request.url.endsWith("/fast")) return new Response("fast");
      reasons.push(await aborted(context.signal));
      if (request.url.endsWith("/other-error")) {
        await released;
        throw new Error("after the timeout");
      }
      throw context.signal.reason;
    }, {
      requestTimeout: 100,
      onError: (error) => void errors.push(error),
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    const start = performance.now();
    const response = await fetch(`${base}/slow`);
    const elapsed = performance.now() - start;
    assertEquals(response.status, 503);
    assertEquals(await response.text(), "Request timed out\n");
    assertGreaterOrEqual(elapsed, 95);
    assertLess(elapsed, 2000);
    assertEquals(reasons.length, 1);
    const reason = reasons[0];
    assertInstanceOf(reason, TimeoutError);
    assertEquals(reason.timeout, 100);
    assertEquals(reason.url, `${base}/slow`);
    assertEquals(reason.method, "GET");
    // Rethrowing the abort reason is the expected outcome, not reported.
    assertEquals(errors, []);
    // The server goes on; an unrelated late error is reported.
    assertEquals(await (await fetch(`${base}/fast`)).text(), "fast");
    const timedOut = await fetch(`${base}/other-error`);
    assertEquals(timedOut.status, 503);
    await timedOut.body?.cancel();
    release();
    await until(() => errors.length === 1, "the late error");
    assertEquals((errors[0] as Error).message, "after the timeout");
  },
});

Deno.test({
  name:
    "serveHttp() keeps an abandoned request's headers and does not report its closed body",
  permissions: NET,
  async fn(t) {
    // A string body has a Content-Length; a stream is sent chunked.
    const bodies = {
      "Content-Length": () => "late",
      "chunked": () => ReadableStream.from([encoder.encode("late")]),
    };
    for (const [kind, body] of Object.entries(bodies)) {
      await t.step(`a ${kind} body`, async () => {
        const errors: unknown[] = [];
        const seen = Promise.withResolvers<string | null>();
        const answered = Promise.withResolvers<void>();
        await using server = serveHttp(async (request) => {
          await answered.promise; // the handler is late: 503 meanwhile
          seen.resolve(request.headers.get("x-id"));
          return new Response(await request.text()); // Deno: "Request closed"
        }, {
          requestTimeout: 50,
          onError: (error) => void errors.push(error),
        });
        const response = await fetch(
          `http://127.0.0.1:${server.addr.port}/`,
          { method: "POST", headers: { "x-id": "7" }, body: body() },
        );
        assertEquals(response.status, 503);
        await response.body?.cancel();
        answered.resolve();
        assertEquals(await seen.promise, "7");
        await server.shutdown();
        assertEquals(errors, []);
      });
    }
  },
});

Deno.test({
  name:
    "serveHttp() shutdown waits for a timed-out handler that ignores its signal",
  permissions: NET,
  async fn() {
    let done = false;
    const server = serveHttp(async () => {
      await delay(300); // no signal: a timer that would outlive the server
      done = true;
      return new Response("late");
    }, { requestTimeout: 50 });
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assertEquals(response.status, 503);
    await response.body?.cancel();
    assertEquals(server.inFlight, 0);
    await server.shutdown();
    assert(done, "shutdown resolved while the handler still ran");
  },
});

Deno.test({
  name:
    "serveHttp() shutdown waits for a handler given up during it, within bounds",
  permissions: NET,
  async fn(t) {
    await t.step("timed out while the shutdown waits", async () => {
      // Given up on 5.2 s into the shutdown: the grace for such handlers
      // (5 s at most) counts from then, not from the shutdown's start.
      let done = false;
      const server = serveHttp(async () => {
        await delay(5_600); // past requestTimeout, without its signal
        done = true;
        return new Response("late");
      }, { requestTimeout: 5_200, shutdownTimeout: 10_000 });
      const response = fetch(`http://127.0.0.1:${server.addr.port}/`);
      await until(() => server.inFlight === 1, "the handler");
      const shutdown = server.shutdown();
      const answer = await response;
      assertEquals(answer.status, 503);
      await answer.body?.cancel();
      await shutdown;
      assert(done, "shutdown resolved while the handler still ran");
    });

    await t.step("aborted at shutdownTimeout, cleaning up", async () => {
      let cleanedUp = false;
      const started = Promise.withResolvers<void>();
      const server = serveHttp(async (_request, context) => {
        started.resolve();
        await delay(60_000, { signal: context.signal }).catch(() => {});
        await delay(100); // cleaning up after the abort
        cleanedUp = true;
        return new Response("late");
      }, { shutdownTimeout: 400 });
      const response = fetch(`http://127.0.0.1:${server.addr.port}/`);
      await started.promise;
      await server.shutdown();
      assert(cleanedUp, "shutdown resolved while the handler cleaned up");
      const answer = await response;
      assertEquals(answer.status, 503);
      await answer.body?.cancel();
    });

    await t.step("not for ever if it never returns", async () => {
      const server = serveHttp(() => new Promise<Response>(() => {}), {
        requestTimeout: 50,
        shutdownTimeout: 200,
      });
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
      assertEquals(response.status, 503);
      await response.body?.cancel();
      const timer = new AbortController();
      const stopped = await Promise.race([
        server.shutdown().then(() => true),
        delay(4_000, { signal: timer.signal }).then(() => false, () => true),
      ]);
      timer.abort();
      assert(stopped, "shutdown waited past shutdownTimeout");
    });
  },
});

Deno.test({
  name: "serveHttp() never aborts a handler before requestTimeout",
  permissions: NET,
  async fn() {
    const early: number[] = [];
    await using server = serveHttp(async (_request, context) => {
      const entered = performance.now();
      // A synchronous start of up to 0.3 ms: it may cross a millisecond.
      while (performance.now() - entered < Math.random() * 0.3) {
        // Busy.
      }
      await aborted(context.signal);
      // From the arrival, which the timeout counts from: a process that
      // loses its core between the arrival and the handler's call (a loaded
      // machine) enters the handler late. Date.now() may count one too many.
      const waited = Date.now() - context.startTime;
      if (waited < 9) early.push(waited);
      return new Response("late");
    }, { requestTimeout: 10 });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const answers: Promise<number>[] = [];
    for (let i = 0; i < 200; i++) {
      answers.push(
        fetch(url).then(async (response) => {
          await response.body?.cancel();
          return response.status;
        }),
      );
      await delay(Math.random() * 2);
    }
    assertEquals(new Set(await Promise.all(answers)), new Set([503]));
    assertEquals(early, []);
  },
});

Deno.test({
  name: "serveHttp() does not time out synchronous or prompt handlers",
  permissions: NET,
  async fn() {
    await using server = serveHttp(
      async (request) => {
        await delay(5);
        return new Response(request.method);
      },
      { requestTimeout: 2000 },
    );
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const texts = await Promise.all(
      Array.from({ length: 50 }, () => fetch(url).then((r) => r.text())),
    );
    assertEquals(texts, Array(50).fill("GET"));
    assertEquals(server.inFlight, 0);
  },
});

Deno.test({
  name: "serveHttp() answers 413 to a Content-Length over maxBodySize",
  permissions: NET,
  async fn() {
    let called = 0;
    await using server = serveHttp(async (request) => {
      called++;
      return new Response(`${(await request.bytes()).length}`);
    }, { maxBodySize: 1000 });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const at = await fetch(url, { method: "PUT", body: "x".repeat(1000) });
    assertEquals(await at.text(), "1000");
    // Raw, so the client can announce a body it never sends.
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\nxyz",
    ));
    const response = await readResponse(conn);
    assertEquals(response?.status, 413);
    assertEquals(response?.body, "Request body larger than 1000 bytes\n");
    assertEquals(response?.headers.get("connection"), "close");
    assertEquals(called, 1);
  },
});

Deno.test({
  name: "serveHttp() answers 413 when a chunked body grows past maxBodySize",
  permissions: NET,
  async fn(t) {
    const chunk = (text: string) =>
      `${text.length.toString(16)}\r\n${text}\r\n`;
    for (const swallow of [false, true]) {
      await t.step(
        swallow ? "a handler that swallows the error" : "a handler",
        async () => {
          const seen: number[] = [];
          const reasons: unknown[] = [];
          let handlerDone!: () => void;
          const done = new Promise<void>((resolve) => handlerDone = resolve);
          await using server = serveHttp(async (request, context) => {
            context.signal.addEventListener(
              "abort",
              () => reasons.push(context.signal.reason),
            );
            let size = 0;
            try {
              for await (const bytes of request.body!) {
                size += bytes.length;
                seen.push(size);
              }
            } catch (error) {
              if (!swallow) throw error;
            } finally {
              handlerDone();
            }
            return new Response(`read ${size}`);
          }, { maxBodySize: 100, onError: () => {} });
          using conn = await Deno.connect({ port: server.addr.port });
          await conn.write(encoder.encode(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
              chunk("a".repeat(60)),
          ));
          await until(() => seen.length === 1, "the first chunk");
          // Past the limit: the server answers without waiting for more.
          await conn.write(encoder.encode(chunk("b".repeat(60))));
          const response = await readResponse(conn);
          assertEquals(response?.status, 413);
          assertEquals(response?.body, "Request body larger than 100 bytes\n");
          assertEquals(response?.headers.get("connection"), "close");
          await done;
          assertEquals(seen, [60]);
          assertEquals(reasons.length, 1);
          assertInstanceOf(reasons[0], AioError);
          assertStringIncludes(
            (reasons[0] as Error).message,
            "larger than the 100 bytes maxBodySize",
          );
        },
      );
    }

    await t.step("a client that asked to close", async () => {
      await using server = serveHttp(
        async (request) => new Response(await request.text()),
        { maxBodySize: 100, onError: () => {} },
      );
      using conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n" + chunk("a".repeat(200)),
      ));
      const response = await readResponse(conn);
      assertEquals(response?.status, 413);
      // Deno adds the header itself then: one, not "close, close".
      assertEquals(response?.headers.get("connection"), "close");
    });

    await t.step("a chunked body within the limit", async () => {
      await using server = serveHttp(
        async (request) => new Response(await request.text()),
        { maxBodySize: 100 },
      );
      using conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          chunk("a".repeat(60)) + chunk("b".repeat(40)) + "0\r\n\r\n",
      ));
      const response = await readResponse(conn);
      assertEquals(response?.status, 200);
      assertEquals(response?.body, "a".repeat(60) + "b".repeat(40));
    });
  },
});

Deno.test({
  name: "serveHttp() hands a bodyless request of any method to the handler",
  permissions: NET,
  async fn(t) {
    // Under the default maxBodySize, as sent: Deno keeps the method's case.
    for (const method of ["TRACE", "TRACK", "get", "head", "post", "delete"]) {
      await t.step(method, async () => {
        const seen: [string, string][] = [];
        await using server = serveHttp(async (request) => {
          seen.push([request.method, await request.text()]);
          return new Response("ok");
        });
        using conn = await Deno.connect({ port: server.addr.port });
        await conn.write(
          encoder.encode(`${method} / HTTP/1.1\r\nHost: x\r\n\r\n`),
        );
        const response = await readResponse(conn);
        assertEquals(response?.status, 200);
        assertEquals(seen, [[method, ""]]);
      });
    }
  },
});

Deno.test({
  name:
    "serveHttp() limits the body of a method the Request constructor rejects",
  permissions: NET,
  async fn(t) {
    const chunked = (text: string) =>
      "Transfer-Encoding: chunked\r\n\r\n" +
      `${text.length.toString(16)}\r\n${text}\r\n0\r\n\r\n`;
    const variants: [string, string, number, number, string][] = [
      ["a chunked TRACE body within the limit", "TRACE", 5, 200, "TRACE 12345"],
      ["a chunked get body within the limit", "get", 5, 200, "get 12345"],
      [
        "a chunked TRACE body past the limit",
        "TRACE",
        4,
        413,
        "Request body larger than 4 bytes\n",
      ],
    ];
    for (const [name, method, maxBodySize, status, body] of variants) {
      await t.step(name, async () => {
        await using server = serveHttp(
          async (request) =>
            new Response(`${request.method} ${await request.text()}`),
          { maxBodySize, onError: () => {} },
        );
        using conn = await Deno.connect({ port: server.addr.port });
        await conn.write(encoder.encode(
          `${method} / HTTP/1.1\r\nHost: x\r\n${chunked("12345")}`,
        ));
        const response = await readResponse(conn);
        assertEquals(response?.status, status);
        assertEquals(response?.body, body);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() limits a chunked body sent with a malformed Host header",
  permissions: NET,
  async fn() {
    // Deno builds the URL "http://[::1/" from it, which new Request() refuses.
    const reported: unknown[] = [];
    await using server = serveHttp(
      async (request) => new Response(`${request.url} ${await request.text()}`),
      { onError: (error) => void reported.push(error) },
    );
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode(
      "POST / HTTP/1.1\r\nHost: [::1\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5\r\nhello\r\n0\r\n\r\n",
    ));
    const response = await readResponse(conn);
    assertEquals(response?.status, 200);
    assertEquals(response?.body, "http://[::1/ hello");
    assertEquals(reported, []);
  },
});

Deno.test({
  name:
    "serveHttp() reports a handler's URIError under a malformed Host header as its own",
  permissions: NET,
  async fn() {
    const reported: unknown[] = [];
    await using server = serveHttp(() => {
      decodeURIComponent("%"); // the server's own data, not the path
      return new Response("unreachable");
    }, { onError: (error) => void reported.push(error) });
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"));
    assertEquals((await readResponse(conn))?.status, 500);
    assertEquals(reported.length, 1);
    assertInstanceOf(reported[0], URIError);
  },
});

Deno.test({
  name: "serveHttp() reads a Content-Length sent twice as one",
  permissions: NET,
  async fn(t) {
    // Deno accepts repeated equal Content-Length headers, joined as "5, 5".
    const variants: [string, number, number, string][] = [
      ["within maxBodySize", 5, 200, "read 5 bytes: hello"],
      ["over maxBodySize", 2000, 413, "Request body larger than 1024 bytes\n"],
    ];
    for (const [name, length, status, body] of variants) {
      await t.step(name, async () => {
        const lengths: (string | null)[] = [];
        await using server = serveHttp(async (request) => {
          lengths.push(request.headers.get("content-length"));
          const text = await request.text();
          return new Response(`read ${text.length} bytes: ${text}`);
        }, { maxBodySize: 1024 });
        using conn = await Deno.connect({ port: server.addr.port });
        await conn.write(encoder.encode(
          "POST / HTTP/1.1\r\nHost: x\r\n" +
            `Content-Length: ${length}\r\nContent-Length: ${length}\r\n\r\n` +
            "hello",
        ));
        const response = await readResponse(conn);
        assertEquals(response?.status, status);
        assertEquals(response?.body, body);
        assertEquals(lengths, status === 200 ? ["5, 5"] : []);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() limits an HTTP/2 body sent without Content-Length",
  permissions: NET,
  async fn() {
    // HTTP/2 frames a body by itself: neither Content-Length nor
    // Transfer-Encoding says that it has one.
    const seen: (string | null)[] = [];
    await using server = serveHttp(async (request) => {
      seen.push(request.headers.get("content-length"));
      return new Response(`read ${(await request.bytes()).length}`);
    }, { maxBodySize: 100, onError: () => {} });
    using client = Deno.createHttpClient({ http1: false, http2: true });
    const post = async (size: number) => {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(size));
          controller.close();
        },
      });
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        client,
        method: "POST",
        body,
      });
      return [response.status, await response.text()];
    };
    assertEquals(await post(100), [200, "read 100"]);
    assertEquals(await post(101), [
      413,
      "Request body larger than 100 bytes\n",
    ]);
    assertEquals(seen, [null, null]);
  },
});

Deno.test({
  name: "serveHttp() aborts context.signal when the client leaves mid-body",
  permissions: NET,
  async fn(t) {
    const bodies = {
      // Read by the handler straight from Deno: the read error is all the
      // runtime reports, so the signal aborts once the handler fails with it.
      "Content-Length": "Content-Length: 500\r\n\r\nabc",
      // Watched by the server, which wraps it for maxBodySize: the signal
      // aborts as the read fails, even if the handler goes on.
      "chunked": "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    };
    for (const [kind, head] of Object.entries(bodies)) {
      await t.step(`a ${kind} body`, async () => {
        const reported: unknown[] = [];
        const readError = Promise.withResolvers<unknown>();
        const abortReason = Promise.withResolvers<unknown>();
        await using server = serveHttp(async (request, { signal }) => {
          signal.addEventListener(
            "abort",
            () => abortReason.resolve(signal.reason),
          );
          try {
            await request.text();
          } catch (error) {
            readError.resolve(error);
            if (kind === "Content-Length") throw error;
          }
          if (!signal.aborted) await aborted(signal);
          return new Response("unreachable");
        }, { onError: (error) => void reported.push(error) });
        const conn = await postRaw(server.addr.port, head);
        conn.close();
        assertInstanceOf(await readError.promise, Deno.errors.BadResource);
        assertInstanceOf(await abortReason.promise, Deno.errors.BadResource);
        await server.shutdown();
        assertEquals(reported, []);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() reports a body-named Deno error that is not the client's",
  permissions: NET,
  async fn() {
    const reported: unknown[] = [];
    // The handler's own failure (no request body was read): the server's.
    const error = new Deno.errors.BadResource(
      "Cannot read body as underlying resource unavailable",
    );
    await using server = serveHttp(() => {
      throw error;
    }, { onError: (e) => void reported.push(e) });
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assertEquals(response.status, 500);
    await response.body?.cancel();
    assertEquals(reported, [error]);
  },
});

Deno.test({
  name:
    "serveHttp() answers 400, unreported, when the client's body breaks off",
  permissions: NET,
  async fn(t) {
    for (const how of ["half-closes", "closes"] as const) {
      await t.step(
        `a client that ${how} before its Content-Length`,
        async () => {
          const reported: unknown[] = [];
          const failed = Promise.withResolvers<unknown>();
          await using server = serveHttp(async (request) => {
            try {
              return new Response(await request.text());
            } catch (error) {
              failed.resolve(error);
              throw error;
            }
          }, { onError: (error) => void reported.push(error) });
          const conn = await Deno.connect({ port: server.addr.port });
          await conn.write(encoder.encode(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nabc",
          ));
          if (how === "half-closes") {
            await conn.closeWrite();
            const response = await readResponse(conn);
            assertEquals(response?.status, 400);
            assertEquals(
              response?.body,
              "Bad Request: the request body ended early\n",
            );
            conn.close();
          } else {
            conn.close();
            await failed.promise;
          }
          await server.shutdown();
          assertEquals(reported, []);
        },
      );
    }
  },
});

Deno.test({
  name:
    "serveHttp() answers 400, unreported, to a path the handler cannot decode",
  permissions: NET,
  async fn() {
    const reported: unknown[] = [];
    await using server = serveHttp(
      async (request) => {
        await delay(0);
        return new Response(decodeURIComponent(new URL(request.url).pathname));
      },
      { onError: (error) => void reported.push(error) },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    for (const path of ["/%E0%A4%A", "/%zz"]) {
      const response = await fetch(base + path);
      assertEquals(response.status, 400, path);
      assertEquals(
        await response.text(),
        "Bad Request: invalid percent-encoding\n",
      );
    }
    assertEquals(await (await fetch(`${base}/caf%C3%A9`)).text(), "/café");
    assertEquals(reported, []);
  },
});

Deno.test({
  name: "serveHttp() answers 500 for a spent Response, also onError's own",
  permissions: NET,
  async fn(t) {
    await t.step("a Response the handler returns twice", async () => {
      const shared = new Response("shared");
      const reported: unknown[] = [];
      await using server = serveHttp((_request, context) => {
        void context.signal; // the path that watches the body
        return shared;
      }, { onError: (error) => void reported.push(error) });
      const url = `http://127.0.0.1:${server.addr.port}/`;
      assertEquals(await (await fetch(url)).text(), "shared");
      const again = await fetch(url);
      assertEquals(again.status, 500); // was an empty 200
      await again.body?.cancel();
      assertEquals(reported.length, 1);
    });
    await t.step(
      "onError's one Response for two failures at once",
      async () => {
        const answer = new Response("custom error", { status: 502 });
        let failures = 0;
        const both = Promise.withResolvers<void>();
        await using server = serveHttp(async (_request, context) => {
          void context.signal;
          if (++failures === 2) both.resolve();
          await both.promise;
          throw new Error("fail");
        }, { onError: () => answer });
        const url = `http://127.0.0.1:${server.addr.port}/`;
        // The process crashed here (an unhandled "ReadableStream is locked").
        const responses = await Promise.all([fetch(url), fetch(url)]);
        const answers = await Promise.all(
          responses.map(async (r) => `${r.status} ${await r.text()}`),
        );
        assertEquals(answers.sort(), [
          "500 Internal Server Error\n",
          "502 custom error",
        ]);
      },
    );
  },
});

Deno.test({
  name: "serveHttp() does not report an oversized body a handler streams back",
  permissions: NET,
  async fn() {
    const reported: unknown[] = [];
    // The 413 cannot be sent once the echo's headers are.
    await using server = serveHttp((request) => new Response(request.body), {
      maxBodySize: 10,
      onError: (error) => void reported.push(error),
    });
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "10\r\n0123456789abcdef\r\n0\r\n\r\n",
    ));
    // The answer starts, then breaks off where the body went past the limit.
    const buffer = new Uint8Array(4096);
    let text = "";
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += decoder.decode(buffer.subarray(0, n));
    }
    assertStringIncludes(text, "HTTP/1.1 200");
    await server.shutdown();
    assertEquals(reported, []);
  },
});

Deno.test({
  name:
    "serveHttp() reports errors of the same classes that are not the client's",
  permissions: { ...NET, read: ["."] },
  async fn() {
    const reported: unknown[] = [];
    await using server = serveHttp(async (request) => {
      await request.text(); // the body was read, and whole
      if (new URL(request.url).pathname === "/closed-file") {
        const file = await Deno.open("deno.json");
        file.close();
        await file.read(new Uint8Array(1)); // BadResource, not the body's
      }
      return new Response(decodeURIComponent("%E0%A4%A")); // the server's data
    }, { onError: (error) => void reported.push(error) });
    const base = `http://127.0.0.1:${server.addr.port}`;
    // A bare "%" in the query does not make the server's URIError the
    // client's: only the path is the client's to get right.
    for (const path of ["/closed-file", "/bad-data", "/bad-data?q=100%"]) {
      const response = await fetch(base + path, { method: "POST", body: "x" });
      assertEquals(response.status, 500, path);
      await response.body?.cancel();
    }
    assertEquals(reported.map((error) => (error as Error).name), [
      "BadResource",
      "URIError",
      "URIError",
    ]);
  },
});

Deno.test({
  name:
    "serveHttp() leaves request.signal unread when it limits a chunked body",
  permissions: { run: ["deno"], read: [".", "../shared/std-offline"] },
  async fn() {
    const { code, stdout, stderr } = await denoCommand("run", [
      "-N=127.0.0.1",
      "tests/testdata/chunked_post.ts",
    ], { stdout: "piped", stderr: "piped" }).output();
    assertEquals(decoder.decode(stderr), "");
    assertEquals(decoder.decode(stdout), "chunked body\n");
    assertEquals(code, 0);
  },
});

Deno.test({
  name: "serveHttp() reads no further than a lying Content-Length",
  permissions: NET,
  async fn() {
    const bodies: string[] = [];
    await using server = serveHttp(async (request) => {
      bodies.push(await request.text());
      return new Response("ok");
    }, { maxBodySize: 1000 });
    using conn = await Deno.connect({ port: server.addr.port });
    // Says 5 bytes, sends more: the rest is not this request's body.
    await conn.write(encoder.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" +
        "12345" + "z".repeat(2000) + "\r\n\r\n",
    ));
    const response = await readResponse(conn);
    assertEquals(response?.status, 200);
    assertEquals(bodies, ["12345"]);
    // What follows is garbage as a request: Deno rejects it or hangs up.
    const next = await readResponse(conn).catch(() => null);
    if (next !== null) assertEquals(next.status, 400);
    assertEquals(bodies.length, 1);
  },
});

Deno.test({
  name: "serveHttp() context.signal aborts when the client goes away",
  permissions: NET,
  async fn(t) {
    await t.step("while the handler runs", async () => {
      let signal: AbortSignal | undefined;
      const reason = Promise.withResolvers<unknown>();
      await using server = serveHttp(async (_request, context) => {
        signal = context.signal;
        reason.resolve(await aborted(context.signal));
        return new Response("too late");
      });
      const client = new AbortController();
      const response = fetch(`http://127.0.0.1:${server.addr.port}/`, {
        signal: client.signal,
      }).catch((error) => error);
      await until(() => signal !== undefined, "the handler");
      client.abort();
      assertInstanceOf(await response, DOMException);
      assertInstanceOf(await reason.promise, DOMException);
      assert(signal!.aborted);
      await until(() => server.inFlight === 0, "the request to end");
    });

    await t.step(
      "and frees the request while the handler goes on",
      async () => {
        const release = Promise.withResolvers<void>();
        const seen = Promise.withResolvers<void>();
        const errors: unknown[] = [];
        const logged: number[] = [];
        await using server = serveHttp(async (_request, context) => {
          // Watches its signal, yet answers only much later.
          context.signal.addEventListener("abort", () => seen.resolve());
          await release.promise;
          return new Response("too late");
        }, {
          requestTimeout: 60_000,
          onError: (error) => void errors.push(error),
          accessLog: (entry) => void logged.push(entry.status),
        });
        assertInstanceOf(await leaveMidRequest(server), DOMException);
        await seen.promise;
        // Long before requestTimeout, and before the handler returns.
        await until(() => server.inFlight === 0, "the request to end");
        assertEquals(logged, [499]);
        release.resolve();
        await delay(10);
        assertEquals(errors, []);
        assertEquals(logged, [499]);
      },
    );

    await t.step("seen only once it went", async () => {
      const release = Promise.withResolvers<void>();
      const look = Promise.withResolvers<void>();
      const logged: number[] = [];
      let requestSignal: AbortSignal | undefined;
      let sawAbort: boolean | undefined;
      await using server = serveHttp(async (request, context) => {
        // As a handler does that passes request.signal to fetch().
        requestSignal = request.signal;
        await look.promise;
        sawAbort = context.signal.aborted; // aborted already: given up now
        await release.promise;
        return new Response("too late");
      }, { accessLog: (entry) => void logged.push(entry.status) });
      const conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      await until(() => requestSignal !== undefined, "the handler");
      conn.close();
      await until(() => requestSignal!.aborted, "Deno to see the client go");
      look.resolve();
      await until(() => server.inFlight === 0, "the request to end");
      assertEquals([sawAbort, logged], [true, [499]]);
      release.resolve();
    });

    await t.step("mid-upload, with a chunked body", async () => {
      const release = Promise.withResolvers<void>();
      const logged: number[] = [];
      let bodyError: unknown;
      await using server = serveHttp(async (request, context) => {
        void context.signal;
        await request.arrayBuffer().catch((error) => bodyError = error);
        await release.promise;
        return new Response("too late");
      }, { accessLog: (entry) => void logged.push(entry.status) });
      const conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "4\r\nabcd\r\n",
      ));
      await until(() => server.inFlight === 1, "the handler");
      conn.close();
      await until(() => server.inFlight === 0, "the request to end");
      assert(bodyError !== undefined);
      assertEquals(logged, [499]);
      release.resolve();
    });

    await t.step("and a graceful shutdown waits for its handler", async () => {
      const logged: number[] = [];
      let cleanedUp = false;
      const server = serveHttp(async (_request, context) => {
        await aborted(context.signal);
        await delay(200); // cleaning up after the abort
        cleanedUp = true;
        return new Response("too late");
      }, { accessLog: (entry) => void logged.push(entry.status) });
      await leaveMidRequest(server);
      await until(() => logged.length === 1, "the 499");
      await server.shutdown();
      assert(cleanedUp, "shutdown resolved before the handler returned");
      assertEquals(logged, [499]);
    });

    await t.step("while a response body streams", async () => {
      let signal: AbortSignal | undefined;
      await using server = serveHttp((_request, context) => {
        signal = context.signal;
        let timer: ReturnType<typeof setInterval>;
        return new Response(
          new ReadableStream({
            start(controller) {
              timer = setInterval(() => {
                controller.enqueue(encoder.encode("tick\n"));
              }, 5);
              context.signal.addEventListener(
                "abort",
                () => clearInterval(timer),
              );
            },
            cancel() {
              clearInterval(timer);
            },
          }),
        );
      });
      const client = new AbortController();
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        signal: client.signal,
      });
      const reader = response.body!.getReader();
      assertEquals(decoder.decode((await reader.read()).value), "tick\n");
      client.abort();
      await reader.closed.catch(() => {});
      await aborted(signal!);
      await until(() => server.inFlight === 0, "the request to end");
    });
  },
});

Deno.test({
  name: "serveHttp() context.signal does not abort after a normal response",
  permissions: NET,
  async fn(t) {
    const variants: [string, () => BodyInit | null][] = [
      ["a text body", () => "done"],
      ["no body", () => null],
      ["a streaming body", () =>
        new ReadableStream({
          async pull(controller) {
            await delay(1);
            controller.enqueue(encoder.encode("done"));
            controller.close();
          },
        })],
    ];
    for (const [name, body] of variants) {
      await t.step(name, async () => {
        const signals: AbortSignal[] = [];
        await using server = serveHttp(async (_request, context) => {
          signals.push(context.signal);
          await delay(1);
          return new Response(body());
        });
        const url = `http://127.0.0.1:${server.addr.port}/`;
        for (let i = 0; i < 3; i++) await (await fetch(url)).text();
        // Deno's own request.signal has aborted by the time the response
        // is delivered and inFlight drops.
        await until(() => server.inFlight === 0, "the responses to end");
        assertEquals(signals.length, 3);
        for (const signal of signals) assertFalse(signal.aborted);
      });
    }
  },
});

Deno.test({
  name:
    "serveHttp() keeps the Content-Length of a body given whole when the handler reads context.signal",
  permissions: NET,
  async fn() {
    const release = Promise.withResolvers<void>();
    const signals: AbortSignal[] = [];
    await using server = serveHttp((request, context) => {
      signals.push(context.signal); // the watched path
      switch (new URL(request.url).pathname) {
        case "/text":
          return new Response("Hello, world!");
        case "/bytes":
          return new Response(new Uint8Array(100_000));
        default: // a stream that waits for its data: sent as it comes
          return new Response(
            new ReadableStream({
              async pull(controller) {
                controller.enqueue(encoder.encode("first\n"));
                await release.promise;
                controller.enqueue(encoder.encode("last\n"));
                controller.close();
              },
            }),
          );
      }
    });
    const base = `http://127.0.0.1:${server.addr.port}`;
    for (
      const [path, length] of [["/text", 13], ["/bytes", 100_000]] as const
    ) {
      const response = await fetch(`${base}${path}`);
      assertEquals(response.headers.get("content-length"), String(length));
      assertEquals((await response.bytes()).length, length);
    }
    const response = await fetch(`${base}/stream`);
    assertEquals(response.headers.get("content-length"), null);
    const reader = response.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    assertEquals((await reader.read()).value, "first\n"); // not held back
    release.resolve();
    assertEquals((await reader.read()).value, "last\n");
    assertEquals((await reader.read()).done, true);
    await until(() => server.inFlight === 0, "the requests to end");
    for (const signal of signals) assertFalse(signal.aborted);
  },
});

Deno.test({
  name:
    "serveHttp() fails a watched body whose chunk is not a Uint8Array, with a clear error and no false Content-Length",
  permissions: NET,
  async fn(t) {
    const chunks: [string, unknown][] = [
      ["a Uint16Array", new Uint16Array([0x4241, 0x4443])],
      ["a string", "not bytes"],
      ["a DataView", new DataView(new ArrayBuffer(4))],
    ];
    for (const [name, chunk] of chunks) {
      await t.step(name, async () => {
        let signal: AbortSignal | undefined;
        const errors: unknown[] = [];
        await using server = serveHttp((_request, context) => {
          signal = context.signal;
          return new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(chunk as Uint8Array);
                controller.close();
              },
            }),
          );
        }, { onError: (error) => void errors.push(error) });
        const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
        assertEquals(response.headers.get("content-length"), null);
        await response.body?.cancel().catch(() => {});
        const reason = await aborted(signal!);
        assertInstanceOf(reason, TypeError);
        assertStringIncludes(reason.message, "not a Uint8Array");
        await until(() => server.inFlight === 0, "the request to end");
        assertEquals(errors, [reason]);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() context.signal does not abort for a WebSocket upgrade",
  permissions: NET,
  async fn() {
    let signal: AbortSignal | undefined;
    await using server = serveHttp((request, context) => {
      signal = context.signal; // read before the upgrade
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onmessage = (event) => socket.send(`echo ${event.data}`);
      return response;
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    const closed = new Promise((resolve) => ws.onclose = resolve);
    await new Promise((resolve) => ws.onopen = resolve);
    const reply = new Promise<MessageEvent>((resolve) =>
      ws.onmessage = resolve
    );
    ws.send("hi");
    assertEquals((await reply).data, "echo hi");
    assertFalse(signal!.aborted, String(signal!.reason));
    ws.close();
    await closed;
  },
});

Deno.test({
  name: "serveHttp() shutdown lets a POST whose body is still arriving finish",
  permissions: NET,
  async fn() {
    // On Deno 2.9, Deno.serve's own shutdown() makes this body unreadable
    // (denoland/deno#36809).
    const started = Promise.withResolvers<void>();
    const errors: unknown[] = [];
    const server = serveHttp(async (request) => {
      started.resolve();
      const body = await request.text();
      return new Response(`got ${body}`);
    }, { onError: (error) => void errors.push(error) });
    using conn = await Deno.connect({ port: server.addr.port });
    await conn.write(encoder.encode(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345",
    ));
    await started.promise;
    const shutdown = server.shutdown();
    await delay(20); // the rest arrives while the server shuts down
    await conn.write(encoder.encode("67890"));
    const response = await readResponse(conn);
    assertEquals(response?.status, 200);
    assertEquals(response?.body, "got 1234567890");
    await shutdown;
    await server.finished;
    assertEquals(errors, []);
    assertEquals(await conn.read(new Uint8Array(1)), null);
  },
});

Deno.test({
  name:
    "serveHttp() answers 503 with Connection: close while draining, and logs it",
  permissions: NET,
  async fn() {
    const started = Promise.withResolvers<void>();
    const finish = Promise.withResolvers<void>();
    const logged: string[] = [];
    const server = serveHttp(async () => {
      started.resolve();
      await finish.promise;
      return new Response("finished");
    }, {
      accessLog: ({ url, status }) => void logged.push(`${url} ${status}`),
    });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    using idle = await Deno.connect({ port: server.addr.port });
    const inFlight = fetch(url);
    await started.promise;
    assertEquals(server.inFlight, 1);
    const shutdown = server.shutdown();
    assertEquals(server.shutdown(), shutdown);
    // A keep-alive connection that sends a request now is refused.
    await idle.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const refused = await readResponse(idle);
    assertEquals(refused?.status, 503);
    assertEquals(refused?.headers.get("connection"), "close");
    assertEquals(refused?.body, "Server is shutting down\n");
    finish.resolve();
    const response = await inFlight;
    assertEquals(await response.text(), "finished");
    await shutdown;
    assertEquals(server.inFlight, 0);
    assertEquals(logged, [`http://x/ 503`, `${url} 200`]);
  },
});

Deno.test({
  name: "serveHttp() aborts handlers still running past shutdownTimeout",
  permissions: NET,
  async fn() {
    const reasons: unknown[] = [];
    const started = Promise.withResolvers<void>();
    const server = serveHttp(async (_request, context) => {
      started.resolve();
      reasons.push(await aborted(context.signal));
      throw context.signal.reason;
    }, { shutdownTimeout: 50, requestTimeout: 60_000 });
    const response = fetch(`http://127.0.0.1:${server.addr.port}/`);
    await started.promise;
    const start = performance.now();
    await server.shutdown();
    const elapsed = performance.now() - start;
    assertGreaterOrEqual(elapsed, 45);
    assertLess(elapsed, 5000);
    const answer = await response;
    assertEquals(answer.status, 503);
    assertEquals(await answer.text(), "Server is shutting down\n");
    assertEquals(reasons.length, 1);
    assertInstanceOf(reasons[0], AioError);
    assertStringIncludes(
      (reasons[0] as Error).message,
      "50 ms shutdownTimeout passed",
    );
  },
});

Deno.test({
  name: "serveHttp() treats a shutdownTimeout past the timer limit as Infinity",
  permissions: NET,
  async fn() {
    // setTimeout fires at once for a delay above 2 ** 31 - 1 ms.
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    let signal: AbortSignal | undefined;
    const server = serveHttp(async (_request, context) => {
      signal = context.signal;
      started.resolve();
      await release.promise;
      return new Response("finished");
    }, { shutdownTimeout: 2 ** 31 });
    const response = fetch(`http://127.0.0.1:${server.addr.port}/`);
    await started.promise;
    let stopped = false;
    const shutdown = server.shutdown().then(() => stopped = true);
    await delay(200);
    assertFalse(signal!.aborted);
    assertFalse(stopped);
    assertEquals(server.inFlight, 1);
    release.resolve();
    const answer = await response;
    assertEquals(answer.status, 200);
    assertEquals(await answer.text(), "finished");
    await shutdown;
    await server.finished;
    assertFalse(signal!.aborted);
  },
});

Deno.test({
  name: "serveHttp() cuts off a response that never ends after shutdown",
  permissions: NET,
  async fn(t) {
    for (const watched of [false, true]) {
      await t.step(watched ? "signal read" : "signal not read", async () => {
        const cancelled = Promise.withResolvers<void>();
        const server = serveHttp((_request, context) => {
          if (watched) void context.signal;
          return new Response(
            new ReadableStream({
              start(controller) {
                controller.enqueue(encoder.encode("forever\n"));
              },
              cancel: () => cancelled.resolve(),
            }),
          );
        }, { shutdownTimeout: 50 });
        const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
        const reader = response.body!.getReader();
        assertEquals(decoder.decode((await reader.read()).value), "forever\n");
        assertEquals(server.inFlight, 1);
        const start = performance.now();
        await server.shutdown();
        assertLess(performance.now() - start, 5000);
        // The body's source is let go of (a file's would be closed).
        const timer = setTimeout(
          () => cancelled.reject(new Error("kept")),
          5000,
        );
        await cancelled.promise.finally(() => clearTimeout(timer));
        await reader.read().catch(() => {});
        await reader.cancel().catch(() => {});
      });
    }
  },
});

Deno.test({
  name:
    "serveHttp() does not report a body streamed back whose client left mid-upload",
  permissions: NET,
  async fn(t) {
    const bodies = {
      "chunked": "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "Content-Length, signal read": "Content-Length: 10\r\n\r\nhello",
    };
    for (const [kind, head] of Object.entries(bodies)) {
      await t.step(kind, async () => {
        const reported: unknown[] = [];
        const signals: AbortSignal[] = [];
        await using server = serveHttp((request, context) => {
          signals.push(context.signal); // watched: piped through the server
          return new Response(request.body);
        }, { onError: (error) => void reported.push(error) });
        const conn = await postRaw(server.addr.port, head);
        await conn.read(new Uint8Array(1024)); // the echo has begun
        conn.close();
        const signal = signals[0]!;
        if (!signal.aborted) await aborted(signal);
        await server.shutdown();
        assertEquals(reported, []);
      });
    }
  },
});

Deno.test({
  name: "serveHttp() lets a handler read the body after answering",
  permissions: NET,
  async fn(t) {
    const bodies = {
      "Content-Length": ["Content-Length: 10\r\n\r\nhello", "world"],
      "chunked": [
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "5\r\nworld\r\n0\r\n\r\n",
      ],
    };
    for (const [kind, [head, rest]] of Object.entries(bodies)) {
      await t.step(`a ${kind} body`, async () => {
        const read = Promise.withResolvers<string>();
        await using server = serveHttp((request) => {
          // Accepted at once, the upload read on in the background.
          request.text().then(read.resolve, read.reject);
          return new Response("accepted", { status: 202 });
        });
        using conn = await postRaw(server.addr.port, head!);
        assertEquals((await readResponse(conn))?.status, 202);
        await conn.write(encoder.encode(rest!));
        assertEquals(await read.promise, "helloworld");
      });
    }
  },
});

Deno.test({
  name: "serveHttp() lets go of a chunked body its handler left unread",
  permissions: NET,
  async fn() {
    await using server = serveHttp(() => new Response("ignored"));
    for (const ends of [true, false]) {
      using conn = await Deno.connect({ port: server.addr.port });
      await conn.write(encoder.encode(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "5\r\nhello\r\n5\r\nworld\r\n" + (ends ? "0\r\n\r\n" : ""),
      ));
      assertEquals((await readResponse(conn))?.body, "ignored");
    }
    // The resource sanitizer fails the test if a body resource is left open.
  },
});

Deno.test({
  name: "serveHttp() shutdown does not wait for a request body that never ends",
  permissions: NET,
  async fn(t) {
    // The handler answered; the client announced more than it sent and
    // then went silent (or the body went past the limit, unread).
    const bodies = {
      "unread, within the limit": "Content-Length: 10\r\n\r\nhello",
      "past the limit, answered 413": "Content-Length: 5000\r\n\r\nhello",
      "chunked, unread": "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    };
    for (const [name, head] of Object.entries(bodies)) {
      await t.step(name, async () => {
        const server = serveHttp(() => new Response("hi"), {
          shutdownTimeout: 100,
          maxBodySize: 1000,
        });
        const conn = await postRaw(server.addr.port, head);
        const response = await readResponse(conn);
        assertEquals(response?.status, name.includes("413") ? 413 : 200);
        const start = performance.now();
        await server.shutdown();
        // Deno's close gets a one-second grace, and then is left behind:
        // the stalled connection's end is its client's.
        assertLess(performance.now() - start, 3_000);
        conn.close();
        await server.finished;
      });
    }
  },
});

Deno.test({
  name: "serveHttp() shuts down when its signal aborts or its scope ends",
  permissions: NET,
  async fn(t) {
    await t.step("signal", async () => {
      const controller = new AbortController();
      const server = serveHttp(() => new Response("ok"), {
        signal: controller.signal,
      });
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
      assertEquals(await response.text(), "ok");
      controller.abort();
      await server.finished;
      await assertNotServed(server.addr.port);
    });

    await t.step("an already aborted signal", async () => {
      const server = serveHttp(() => new Response("ok"), {
        signal: AbortSignal.abort(),
      });
      await server.finished;
    });

    await t.step("await using", async () => {
      let port: number;
      {
        await using server = serveHttp(() => new Response("ok"));
        port = server.addr.port;
        await (await fetch(`http://127.0.0.1:${port}/`)).text();
      }
      await assertNotServed(port);
    });
  },
});

Deno.test({
  name: "serveHttp() writes an access log when asked",
  permissions: NET,
  async fn(t) {
    await t.step("a function", async () => {
      const entries: AccessLogEntry[] = [];
      await using server = serveHttp(
        (request) =>
          new Response("x", {
            status: request.url.endsWith("/missing") ? 404 : 200,
          }),
        { accessLog: (entry) => void entries.push(entry) },
      );
      const base = `http://127.0.0.1:${server.addr.port}`;
      await (await fetch(`${base}/a?b=c`)).text();
      await (await fetch(`${base}/missing`, { method: "DELETE" })).text();
      assertEquals(
        entries.map(({ method, url, status }) => [method, url, status]),
        [["GET", `${base}/a?b=c`, 200], ["DELETE", `${base}/missing`, 404]],
      );
      for (const entry of entries) {
        assertEquals(entry.remoteAddr?.hostname, "127.0.0.1");
        assertGreaterOrEqual(entry.duration, 0);
        assertLess(Math.abs(entry.startTime - Date.now()), 60_000);
      }
    });

    await t.step("the default line", async () => {
      const lines: string[] = [];
      const original = console.log;
      console.log = (line: string) => void lines.push(line);
      try {
        await using server = serveHttp(() => new Response("x"), {
          accessLog: true,
        });
        await (await fetch(`http://127.0.0.1:${server.addr.port}/p`)).text();
      } finally {
        console.log = original;
      }
      assertEquals(lines.length, 1);
      assertMatch(
        lines[0]!,
        /^\d{4}-\d\d-\d\dT[\d:.]+Z 127\.0\.0\.1 "GET http:\/\/127\.0\.0\.1:\d+\/p" 200 \d+\.\dms$/,
      );
    });
  },
});

Deno.test({
  name: "createFetchHandler() applies the limits without a server",
  permissions: {},
  async fn() {
    const contexts: HttpContext[] = [];
    using app = createFetchHandler(async (request, context) => {
      contexts.push(context);
      if (request.url.endsWith("/slow")) await aborted(context.signal);
      return new Response(await request.text());
    }, { requestTimeout: 20, maxBodySize: 4 });
    const { fetch } = app;
    const post = (path: string, body: BodyInit) =>
      fetch(new Request(`http://localhost${path}`, { method: "POST", body }));
    assertEquals(await (await post("/", "1234")).text(), "1234");
    assertEquals(contexts[0]!.remoteAddr, undefined);
    const tooLarge = await post("/", "12345");
    assertEquals(tooLarge.status, 413);
    await tooLarge.body?.cancel();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode("123"));
        controller.enqueue(encoder.encode("45"));
        controller.close();
      },
    });
    const chunked = await post("/", stream);
    assertEquals(chunked.status, 413);
    await chunked.body?.cancel();
    const slow = await post("/slow", "1");
    assertEquals(slow.status, 503);
    await slow.body?.cancel();
    // A Request built in code may carry more than its Content-Length says.
    const lying = await fetch(
      new Request("http://localhost/", {
        method: "POST",
        headers: { "content-length": "3" },
        body: ReadableStream.from([encoder.encode("123456")]),
      }),
    );
    assertEquals(lying.status, 413);
    await lying.body?.cancel();
  },
});

Deno.test({
  name:
    "createFetchHandler() reports a handler failing on its body's own error",
  permissions: {},
  async fn() {
    const broken = new Error("the source broke");
    for (const maxBodySize of [1024, Infinity]) {
      const reported: unknown[] = [];
      using app = createFetchHandler(
        async (request) => new Response(await request.text()),
        { maxBodySize, onError: (error) => void reported.push(error) },
      );
      const body = new ReadableStream({
        pull(controller) {
          controller.error(broken);
        },
      });
      const response = await app.fetch(
        new Request("http://localhost/", { method: "POST", body }),
      );
      assertEquals(response.status, 500);
      await response.body?.cancel();
      assertEquals(reported, [broken], `maxBodySize ${maxBodySize}`);
    }
  },
});

Deno.test(
  "serveHttp() answers 500 for a Response whose body was already read",
  {
    permissions: NET,
  },
  async (t) => {
    for (const watched of [false, true]) {
      await t.step(
        `context.signal ${watched ? "read" : "unread"}`,
        async () => {
          const errors: unknown[] = [];
          await using server = serveHttp(async (_request, context) => {
            if (watched) void context.signal;
            const response = new Response("abc");
            await response.text();
            return response;
          }, {
            requestTimeout: 5_000,
            onError: (error) => void errors.push(error),
          });
          const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
          assertEquals(response.status, 500);
          await response.body?.cancel();
          await until(() => server.inFlight === 0, "the request to end");
          if (watched) {
            assertEquals(errors.length, 1);
            assertInstanceOf(errors[0], TypeError);
            assertStringIncludes(
              (errors[0] as Error).message,
              "body is already read or locked",
            );
          }
        },
      );
    }
  },
);

Deno.test("serveHttp() logs an async accessLog's rejection and goes on", {
  permissions: NET,
}, async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    await using server = serveHttp(() => new Response("ok"), {
      accessLog: async () => {
        await Promise.resolve();
        throw new Error("log sink down");
      },
    });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
      assertEquals(await response.text(), "ok");
    }
    await until(() => logged.length === 2, "both rejections to be logged");
  } finally {
    console.error = original;
  }
  assertStringIncludes(String(logged[0]![1]), "log sink down");
});

const TLS_DIR = new URL("./testdata/", import.meta.url);

Deno.test({
  name: "serveHttp() serves HTTPS, over HTTP/1.1 and HTTP/2, with cert and key",
  permissions: { ...NET, read: [TLS_DIR] },
  async fn() {
    const read = (name: string) => Deno.readTextFile(new URL(name, TLS_DIR));
    const cert = await read("tls_cert.pem");
    const key = await read("tls_key.pem");
    const ca = await read("tls_ca.pem");
    await using server = serveHttp(
      (request, context) =>
        new Response(
          `${new URL(request.url).protocol} ${context.remoteAddr?.hostname}`,
        ),
      { cert, key, maxBodySize: 4 },
    );
    const url = `https://127.0.0.1:${server.addr.port}/`;
    for (const http2 of [false, true]) {
      using client = Deno.createHttpClient({
        caCerts: [ca],
        http1: !http2,
        http2,
      });
      const response = await fetch(url, { client });
      assertEquals(await response.text(), "https: 127.0.0.1");
      const big = await fetch(url, { client, method: "POST", body: "12345" });
      assertEquals(big.status, 413);
      await big.body?.cancel();
    }
    await assertRejects(() => fetch(url.replace("https:", "http:")), TypeError);
  },
});

Deno.test({
  name: "serveHttp() wants cert and key together, as strings",
  permissions: {},
  fn() {
    const handler = () => new Response();
    assertThrows(
      () => serveHttp(handler, { cert: "-----BEGIN CERTIFICATE-----" }),
      TypeError,
      `Cannot serve: "cert" and "key" go together, received only "cert"`,
    );
    assertThrows(
      () => serveHttp(handler, { key: "-----BEGIN PRIVATE KEY-----" }),
      TypeError,
      `received only "key"`,
    );
    assertThrows(
      () => serveHttp(handler, { cert: 1 as never, key: "k" }),
      TypeError,
      `"cert" must be a non-empty string`,
    );
  },
});
