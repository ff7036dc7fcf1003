import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { TimeoutError } from "../errors.ts";
import {
  BodyTooLargeError,
  HttpError,
  NetworkError,
  ParseError,
} from "./errors.ts";
import { Client } from "./client.ts";
import { gather } from "./gather.ts";
import {
  fetchBytes,
  fetchJson,
  fetchText,
  request,
  type RequestOptions,
} from "./request.ts";
import {
  closedPort,
  rawServer,
  serveLoopback as serve,
} from "../tests/_loopback.ts";
import { runDeno } from "../tests/_deno.ts";

const NET = { net: ["127.0.0.1"] };
const encoder = new TextEncoder();

/** A body that sends `first`, then nothing until it is cancelled. */
function stalledBody(first: string, onCancel?: () => void) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(first));
    },
    pull() {
      return new Promise(() => {});
    },
    cancel() {
      onCancel?.();
    },
  });
}

Deno.test(
  "request() sends the method, headers and body and returns the response",
  {
    permissions: NET,
  },
  async () => {
    await using server = serve(async (req) =>
      Response.json({
        method: req.method,
        header: req.headers.get("x-test"),
        body: await req.text(),
      }, { headers: { "x-answer": "yes" } })
    );
    const response = await request(server.url("/echo"), {
      method: "post",
      headers: { "x-test": "1" },
      body: "payload",
    });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("x-answer"), "yes");
    assertEquals(response.url, server.url("/echo"));
    assertEquals(await response.json(), {
      method: "POST",
      header: "1",
      body: "payload",
    });
  },
);

Deno.test("request() does not retry a port that fetch blocks", {
  permissions: NET,
}, async () => {
  const retries: number[] = [];
  // 6000 is among the Fetch standard's bad ports: fetch never sends it.
  const error = await assertRejects(
    () =>
      fetchText("http://127.0.0.1:6000/", {
        retry: { attempts: 3, onRetry: ({ attempt }) => retries.push(attempt) },
      }),
    TypeError,
    'Cannot GET "http://127.0.0.1:6000/": Fetch failed: Requests to port 6000 are blocked',
  );
  assertInstanceOf(error.cause, TypeError);
  assertEquals(retries, []);
});

Deno.test("request() does not retry options or inputs fetch refuses", {
  permissions: NET,
}, async () => {
  let requests = 0;
  await using server = serve((req) => {
    requests++;
    const redirect = new URL(req.url).pathname === "/moved";
    return redirect
      ? new Response(null, { status: 302, headers: { location: "/" } })
      : new Response("ok");
  });
  const bad: [RequestOptions, string][] = [
    [{ mode: "navigate" }, ""],
    [{ cache: "bogus" as RequestCache }, ""],
    [{ referrer: "http://[" }, ""],
    [{ redirect: "error" }, "redirect mode is set to 'error'"],
  ];
  for (const [options, message] of bad) {
    requests = 0;
    const path = options.redirect ? "/moved" : "/";
    const error = await assertRejects(
      () => fetchText(server.url(path), { ...options, retry: 3 }),
      TypeError,
      message,
    );
    assertStringIncludes(error.message, `Cannot GET "${server.url(path)}"`);
    assertEquals(requests, options.redirect ? 1 : 0, JSON.stringify(options));
  }
  const used = new Request(server.url(), { method: "PUT", body: "abc" });
  await used.text();
  for (const options of [{ retry: 1 }, { retry: 3 }, { body: null }]) {
    await assertRejects(
      () => request(used, options),
      TypeError,
      `Cannot PUT "${server.url()}": the Request's body was already read`,
    );
  }
});

Deno.test("request() does not retry a redirect that fetch refuses", {
  permissions: NET,
}, async () => {
  let requests = 0;
  await using server = serve((req) => {
    requests++;
    const location = new URL(req.url).pathname.slice(1);
    return new Response(null, { status: 302, headers: { location } });
  });
  const cases = {
    "/loop": "Maximum number of redirects (20) reached",
    "/file:///etc/hostname": "Can not redirect to a non HTTP(s) url",
    "/http://[::1": "Invalid URL",
  };
  for (const [path, message] of Object.entries(cases)) {
    requests = 0;
    const error = await assertRejects(
      () => fetchText(server.url(path), { retry: 3 }),
      TypeError,
      message,
    );
    assertStringIncludes(error.message, `Cannot GET "${server.url(path)}"`);
    assertEquals(requests, path === "/loop" ? 21 : 1, path);
  }
});

Deno.test("request() accepts a URL object and a Request", {
  permissions: NET,
}, async (t) => {
  await using server = serve((req) => new Response(new URL(req.url).pathname));
  await t.step("URL", async () => {
    const response = await request(new URL(server.url("/u")));
    assertEquals(await response.text(), "/u");
  });
  await t.step("Request", async () => {
    const response = await request(new Request(server.url("/r")));
    assertEquals(await response.text(), "/r");
  });
  await t.step("a RequestInit, whose signal may be null", async () => {
    const init: RequestInit = { method: "GET", signal: null };
    assertEquals(await fetchText(server.url("/i"), init), "/i");
  });
});

Deno.test(
  "request() times out before the headers with a TimeoutError naming the URL and limit",
  {
    permissions: NET,
  },
  async () => {
    const closed = Promise.withResolvers<void>();
    await using server = rawServer(async ({ closed: clientClosed }) => {
      await clientClosed();
      closed.resolve();
    });
    const url = server.url("/slow");
    const start = performance.now();
    const error = await assertRejects(
      () => request(url, { timeout: 150 }),
      TimeoutError,
    );
    const elapsed = performance.now() - start;
    assertGreaterOrEqual(elapsed, 145);
    assertLess(elapsed, 2_000);
    assertEquals(error.timeout, 150);
    assertEquals(error.url, url);
    assertEquals(error.method, "GET");
    assertStringIncludes(error.message, `"${url}"`);
    assertStringIncludes(error.message, "150 ms");
    // The connection is closed, not left waiting for the answer.
    await closed.promise;
  },
);

Deno.test(
  "request() keeps the timeout running while the body is read, and cancels the body",
  {
    permissions: NET,
  },
  async (t) => {
    await t.step("the returned response's body", async () => {
      const cancelled = Promise.withResolvers<void>();
      await using server = serve(() =>
        new Response(stalledBody("first", cancelled.resolve))
      );
      const start = performance.now();
      // Generous, so that a loaded machine still gets the headers in time.
      const response = await request(server.url(), { timeout: 500 });
      assertLess(performance.now() - start, 500);
      const reader = response.body!.getReader();
      assertEquals(
        new TextDecoder().decode((await reader.read()).value),
        "first",
      );
      const error = await assertRejects(() => reader.read(), TimeoutError);
      assertGreaterOrEqual(performance.now() - start, 495);
      assertEquals(error.timeout, 500);
      await cancelled.promise;
    });
    await t.step("fetchText()", async () => {
      const cancelled = Promise.withResolvers<void>();
      await using server = serve(() =>
        new Response(stalledBody("first", cancelled.resolve))
      );
      const start = performance.now();
      await assertRejects(
        () => fetchText(server.url(), { timeout: 200 }),
        TimeoutError,
        "no complete response within 200 ms",
      );
      assertGreaterOrEqual(performance.now() - start, 195);
      await cancelled.promise;
    });
  },
);

Deno.test("request() with timeout Infinity waits as long as it takes", {
  permissions: NET,
}, async () => {
  await using server = serve(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return new Response("late");
  });
  assertEquals(
    await fetchText(server.url(), { timeout: Infinity }),
    "late",
  );
});

Deno.test("request() rejects with the signal's reason when aborted", {
  permissions: NET,
}, async (t) => {
  await using server = serve(() => new Response(stalledBody("first")));
  await using silent = rawServer(({ closed }) => closed());
  await t.step("before the headers", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    setTimeout(() => controller.abort(reason), 50);
    const error = await assertRejects(() =>
      request(silent.url(), { signal: controller.signal })
    );
    assertEquals(error, reason);
  });
  await t.step("while the body is read", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const response = await request(server.url(), {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort(reason);
    assertEquals(await assertRejects(() => reader.read()), reason);
  });
  await t.step("already aborted: no request is sent", async () => {
    let calls = 0;
    await using counting = serve(() => {
      calls++;
      return new Response("ok");
    });
    const reason = new Error("never mind");
    const error = await assertRejects(() =>
      fetchText(counting.url(), { signal: AbortSignal.abort(reason) })
    );
    assertEquals(error, reason);
    assertEquals(calls, 0);
  });
});

Deno.test({
  name:
    "request() keeps the status of an error whose body stalls past the timeout",
  permissions: NET,
  async fn() {
    const stalled = Promise.withResolvers<void>();
    let sent = Promise.withResolvers<void>();
    await using server = rawServer(async ({ write }) => {
      await write(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5000\r\n\r\nerror text",
      );
      sent.resolve();
      await stalled.promise;
    });
    try {
      const start = performance.now();
      const error = await assertRejects(
        () => request(server.url(), { timeout: 200, retry: 1 }),
        HttpError,
      );
      assertGreaterOrEqual(performance.now() - start, 195);
      assertEquals([error.status, error.body], [500, "error text"]);
      // The caller's own abort still wins.
      sent = Promise.withResolvers<void>();
      const controller = new AbortController();
      const call = request(server.url(), {
        retry: 1,
        signal: controller.signal,
      });
      await sent.promise;
      const reason = new Error("stop");
      controller.abort(reason);
      assertStrictEquals(await call.catch((error) => error), reason);
    } finally {
      stalled.resolve();
    }
  },
});

Deno.test(
  "request() turns a non-2xx status into an HttpError with a body excerpt",
  {
    permissions: NET,
  },
  async (t) => {
    await using server = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/big") {
        return new Response("x".repeat(100_000), { status: 500 });
      }
      if (path === "/escape") {
        return new Response("\x1b[31mred\x00\x9b", { status: 500 });
      }
      if (path === "/spoof") {
        // A right-to-left override, and an emoji across the cut.
        return new Response("\u202egnp.exe " + "a".repeat(190) + "😀tail", {
          status: 500,
        });
      }
      return new Response("no such page\n", {
        status: 404,
        headers: { "x-reason": "missing" },
      });
    });
    await t.step("status, url, method, headers, body", async () => {
      const url = server.url("/missing");
      const error = await assertRejects(
        () => request(url, { method: "DELETE" }),
        HttpError,
      );
      assertEquals(error.status, 404);
      assertEquals(error.statusText, "Not Found");
      assertEquals(error.url, url);
      assertEquals(error.method, "DELETE");
      assertEquals(error.headers.get("x-reason"), "missing");
      assertEquals(error.body, "no such page");
      assertEquals(error.attempts, 1);
      assertEquals(
        error.message,
        `Cannot DELETE "${url}": server answered 404 Not Found: no such page`,
      );
    });
    await t.step("a big body is cut to 1 KiB", async () => {
      const error = await assertRejects(
        () => fetchText(server.url("/big")),
        HttpError,
      );
      assertEquals(error.body, "x".repeat(1024));
      assertLess(error.message.length, 400);
    });
    await t.step("control characters in the message are escaped", async () => {
      const url = server.url("/escape");
      const error = await assertRejects(() => fetchText(url), HttpError);
      assertEquals(error.body, "\x1b[31mred\x00\x9b");
      assertEquals(
        error.message,
        `Cannot GET "${url}": server answered 500 Internal Server Error: \\u001b[31mred\\u0000\\u009b`,
      );
    });
    await t.step("text that reorders or is cut mid-character", async () => {
      const error = await assertRejects(
        () => fetchText(server.url("/spoof")),
        HttpError,
      );
      assert(error.message.includes("\\u202egnp.exe"), error.message);
      assert(error.message.endsWith("a…"), error.message);
    });
    await t.step("throwHttpErrors: false returns the response", async () => {
      const response = await request(server.url(), { throwHttpErrors: false });
      assertEquals(response.status, 404);
      assertEquals(await response.text(), "no such page\n");
    });
    await t.step(
      "throwHttpErrors as a function decides per status",
      async () => {
        const text = await fetchText(server.url(), {
          throwHttpErrors: (status) => status >= 500,
        });
        assertEquals(text, "no such page\n");
        await assertRejects(
          () =>
            fetchText(server.url("/big"), {
              throwHttpErrors: (status) => status >= 500,
            }),
          HttpError,
        );
      },
    );
  },
);

Deno.test("request() throws a NetworkError when the connection fails", {
  permissions: NET,
}, async (t) => {
  await t.step("connection refused", async () => {
    const url = `http://127.0.0.1:${closedPort()}/`;
    const error = await assertRejects(() => request(url), NetworkError);
    assertEquals(error.url, url);
    assertEquals(error.method, "GET");
    assertInstanceOf(error.cause, TypeError);
    assertStringIncludes(error.message, `Cannot GET "${url}"`);
    // The reason Deno keeps in the cause, not its bare "fetch failed".
    assertStringIncludes(error.message, "Connection refused");
  });
  await t.step(
    'the reason Deno nests under its bare "fetch failed"',
    async () => {
      const failing = (error: Error) =>
        new Client({ fetch: () => Promise.reject(error) });
      const cases: [Error, string][] = [
        [
          new TypeError("fetch failed", {
            cause: new Error("tcp connect error: Connection refused"),
          }),
          "tcp connect error: Connection refused",
        ],
        [
          new TypeError("fetch failed", {
            cause: new TypeError("fetch failed", {
              cause: new Error("dns error: no such host"),
            }),
          }),
          "dns error: no such host",
        ],
        [new TypeError("fetch failed"), "fetch failed"],
      ];
      for (const [cause, reason] of cases) {
        await using client = failing(cause);
        const url = "http://127.0.0.1:9/";
        const error = await assertRejects(() => client.text(url), NetworkError);
        assertEquals(error.message, `Cannot GET "${url}": ${reason}`);
      }
    },
  );
  await t.step("body cut off before its Content-Length", async () => {
    await using server = rawServer(({ write }) =>
      write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello")
    );
    const url = server.url();
    await assertRejects(() => fetchText(url), NetworkError);
    await assertRejects(() => fetchBytes(url), NetworkError);
  });
});

Deno.test(
  "request() returns a status new Response() refuses (600 to 999) when asked to",
  { permissions: NET },
  async () => {
    // Deno's fetch accepts any three-digit status.
    await using server = rawServer(({ write }) =>
      write("HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\nok")
    );
    const response = await request(server.url(), { throwHttpErrors: false });
    assertEquals([response.status, response.ok], [600, false]);
    // A clone keeps what the copy added: the status and the URL.
    const clone = response.clone();
    assertEquals([clone.status, clone.ok, clone.url], [
      600,
      false,
      server.url(),
    ]);
    assertEquals(await clone.text(), "ok");
    assertEquals(await response.text(), "ok");
    const [gathered] = await gather([server.url()], {
      request: (input, options) =>
        request(input, { ...options, throwHttpErrors: false }),
    });
    assertEquals([gathered.status, await gathered.text()], [600, "ok"]);
    const error = await assertRejects(() => fetchText(server.url()), HttpError);
    assertEquals(error.status, 600);
  },
);

Deno.test(
  "fetchJson() parses JSON and quotes the start of a body that is not JSON",
  {
    permissions: NET,
  },
  async (t) => {
    await using server = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/html") {
        return new Response(`<!DOCTYPE html>\n<html>${"a".repeat(500)}</html>`);
      }
      if (path === "/empty") return new Response("");
      return Response.json({ items: [1, 2, 3] });
    });
    await t.step("JSON", async () => {
      assertEquals(await fetchJson(server.url()), { items: [1, 2, 3] });
    });
    await t.step("HTML", async () => {
      const url = server.url("/html");
      const error = await assertRejects(() => fetchJson(url), ParseError);
      assertStringIncludes(
        error.message,
        `Cannot parse the body of GET "${url}" as JSON: it starts with "<!DOCTYPE html> <html>aaa`,
      );
      assertLess(error.message.length, 250);
      assertEquals(error.body.slice(0, 15), "<!DOCTYPE html>");
      assertInstanceOf(error.cause, SyntaxError);
    });
    await t.step("empty", async () => {
      await assertRejects(
        () => fetchJson(server.url("/empty")),
        ParseError,
        "it is empty",
      );
    });
  },
);

Deno.test("fetchText() and fetchBytes() read the whole body", {
  permissions: NET,
}, async () => {
  const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
  await using server = serve((req) =>
    new URL(req.url).pathname === "/bytes"
      ? new Response(bytes)
      : new Response("héllo wörld")
  );
  assertEquals(await fetchText(server.url()), "héllo wörld");
  assertEquals(await fetchBytes(server.url("/bytes")), bytes);
});

Deno.test("fetchText(), fetchJson() and fetchBytes() stop at maxBodySize", {
  permissions: NET,
}, async (t) => {
  let requests = 0;
  let cancelled = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  await using server = serve(async (req) => {
    requests++;
    const path = new URL(req.url).pathname;
    if (path === "/sized") return new Response(chunk.subarray(0, 1000));
    if (path === "/endless") {
      // No length: only counting can stop it.
      return new Response(
        new ReadableStream({
          pull: (controller) => controller.enqueue(chunk),
          cancel: () => void cancelled++,
        }),
      );
    }
    // 1,000 bytes once decoded, a few dozen on the wire.
    const gzip = new Response(
      new Blob([chunk.subarray(0, 1000)]).stream()
        .pipeThrough(new CompressionStream("gzip")),
    );
    return new Response(await gzip.bytes(), {
      headers: { "content-encoding": "gzip" },
    });
  });
  const options = { maxBodySize: 999, retry: 3 };

  await t.step("a Content-Length over the limit, before reading", async () => {
    const url = server.url("/sized");
    requests = 0;
    for (const read of [fetchText, fetchJson, fetchBytes]) {
      const error = await assertRejects(
        () => read(url, options),
        BodyTooLargeError,
        `Cannot GET "${url}": the response body is larger than the 999 bytes maxBodySize (Content-Length: 1000)`,
      );
      assertEquals([error.url, error.maxBodySize, error.attempts], [
        url,
        999,
        1,
      ]);
    }
    // Not retried: the same URL would send the same body.
    assertEquals(requests, 3);
    assertEquals((await fetchBytes(url, { maxBodySize: 1000 })).length, 1000);
  });
  await t.step("a body without a length, while it arrives", async () => {
    const url = server.url("/endless");
    const error = await assertRejects(
      () => fetchBytes(url, { maxBodySize: 1_000_000 }),
      BodyTooLargeError,
    );
    assertEquals(error.maxBodySize, 1_000_000);
    // Stopped at the chunk that went past the limit.
    const arrived = Number(/\((\d+) bytes arrived\)$/.exec(error.message)?.[1]);
    assert(
      arrived > 1_000_000 && arrived <= 1_000_000 + 1024 * 1024,
      error.message,
    );
    await assertRejects(
      () => fetchText(url, { maxBodySize: 10 }),
      BodyTooLargeError,
    );
  });
  await t.step("a compressed body, counted decoded", async () => {
    const url = server.url("/gzip");
    await assertRejects(() => fetchText(url, options), BodyTooLargeError);
    assertEquals(await fetchText(url, { maxBodySize: 1000 }), "a".repeat(1000));
  });
  await t.step(
    "no body: a HEAD answer's Content-Length is a GET's",
    async () => {
      assertEquals(
        await fetchText(server.url("/sized"), {
          method: "HEAD",
          maxBodySize: 10,
        }),
        "",
      );
    },
  );
  await t.step("Infinity: no limit", async () => {
    assertEquals(
      (await fetchBytes(server.url("/sized"), { maxBodySize: Infinity }))
        .length,
      1000,
    );
  });
  // Every endless body was cancelled, not left streaming.
  assertEquals(cancelled, 2);
});

Deno.test(
  "fetchText() and fetchJson() decode by the charset of the Content-Type",
  {
    permissions: NET,
  },
  async () => {
    // "café" in Latin-1, and {"name":"Привет"} in windows-1251.
    const bodies: Record<string, [number[], string]> = {
      "/latin1": [[0x63, 0x61, 0x66, 0xe9], 'text/plain; charset="ISO-8859-1"'],
      "/cyrillic": [
        [
          ...encoder.encode('{"name":"'),
          ...[0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2],
          ...encoder.encode('"}'),
        ],
        "application/json;charset=windows-1251",
      ],
      // Unknown or absent: UTF-8, as `response.text()` decodes.
      "/unknown": [[...encoder.encode("é")], "text/plain; charset=no-such"],
      "/none": [[...encoder.encode("é")], "text/plain"],
    };
    await using server = serve((req) => {
      const [bytes, type] = bodies[new URL(req.url).pathname]!;
      return new Response(new Uint8Array(bytes), {
        headers: { "content-type": type },
      });
    });
    assertEquals(await fetchText(server.url("/latin1")), "café");
    assertEquals(await fetchJson(server.url("/cyrillic")), { name: "Привет" });
    assertEquals(await fetchText(server.url("/unknown")), "é");
    assertEquals(await fetchText(server.url("/none")), "é");
  },
);

Deno.test("request() rejects bad arguments with TypeError and RangeError", {
  permissions: NET,
}, async (t) => {
  await t.step("options that are not an object", async () => {
    for (
      const [options, received] of [["x", '"x"'], [null, "null"], [5, "5"]]
    ) {
      for (const call of [request, fetchText, fetchJson, fetchBytes]) {
        await assertRejects(
          () => call("http://127.0.0.1:9/", options as never),
          TypeError,
          `Cannot request: "options" must be an object, received ${received}`,
        );
      }
    }
  });
  await t.step(
    "options of other clients, which fetch would ignore",
    async () => {
      const cases: [string, unknown, string][] = [
        ["json", { a: 1 }, "send `body: JSON.stringify(value)`"],
        ["searchParams", { a: "1" }, "put the parameters in the URL"],
        ["prefixUrl", "http://api.test/", "give `new Client({ baseUrl })`"],
        ["hooks", {}, "use `retry.onRetry`"],
      ];
      for (const [name, value, hint] of cases) {
        await assertRejects(
          () => fetchJson("http://127.0.0.1:9/", { [name]: value } as never),
          TypeError,
          `Cannot request: "${name}" is not an option here: ${hint}`,
        );
        // Given as undefined, it is absent, as any fetch option is: the
        // call goes on (to a port fetch blocks).
        await assertRejects(
          () =>
            fetchJson("http://127.0.0.1:9/", { [name]: undefined } as never),
          TypeError,
          'Cannot GET "http://127.0.0.1:9/"',
        );
      }
    },
  );
  await t.step("an input that is not a URL, without a base URL", async () => {
    for (
      const [input, received] of [[null, "null"], [5, "5"], [{}, "an object"]]
    ) {
      await assertRejects(
        () => request(input as never),
        TypeError,
        `Cannot request: the input must be a URL string, a URL or a Request, received ${received}`,
      );
    }
  });
  await t.step("a Request with a body, sent as GET", async () => {
    const posted = new Request("http://127.0.0.1:9/p", {
      method: "POST",
      body: "x",
    });
    await assertRejects(
      () => request(posted, { method: "GET" }),
      TypeError,
      'Cannot GET "http://127.0.0.1:9/p": a GET request cannot have a body',
    );
  });
  await t.step("a method that is not a string", async () => {
    for (
      const [method, received] of [[5, "5"], [null, "null"], [{}, "an object"]]
    ) {
      await assertRejects(
        () => request("http://127.0.0.1:9/", { method: method as never }),
        TypeError,
        `Cannot request: "method" must be a string, received ${received}`,
      );
    }
  });
  await t.step("relative URL", async () => {
    await assertRejects(
      () => request("/relative"),
      TypeError,
      'Cannot request "/relative": not a valid URL (a relative URL needs a baseUrl)',
    );
    await assertRejects(
      () => request(""),
      TypeError,
      'Cannot request "": not a valid URL',
    );
    // Absolute, only invalid: no word of a baseUrl.
    const error = await assertRejects(
      () => request("http://[::1]:99999/"),
      TypeError,
    );
    assertEquals(
      error.message,
      'Cannot request "http://[::1]:99999/": not a valid URL',
    );
  });
  await t.step("GET with a body", async () => {
    await assertRejects(
      () => request("http://127.0.0.1:9/", { body: "x" }),
      TypeError,
      "a GET request cannot have a body",
    );
  });
  await t.step("timeouts", async () => {
    await assertRejects(
      () => request("http://127.0.0.1:9/", { timeout: -1 }),
      RangeError,
      '"timeout" must be a positive number of milliseconds or Infinity, received -1',
    );
    await assertRejects(
      () => request("http://127.0.0.1:9/", { totalTimeout: 0 }),
      RangeError,
      '"totalTimeout"',
    );
    await assertRejects(
      () => request("http://127.0.0.1:9/", { timeout: "100" as unknown as 1 }),
      TypeError,
      '"timeout" must be a positive number of milliseconds or Infinity, received "100"',
    );
  });
  await t.step("maxBodySize", async () => {
    for (const value of [-1, 1.5, NaN]) {
      await assertRejects(
        () => fetchText("http://127.0.0.1:9/", { maxBodySize: value }),
        RangeError,
        `"maxBodySize" must be a non-negative integer or Infinity, received ${value}`,
      );
    }
    await assertRejects(
      () => fetchText("http://127.0.0.1:9/", { maxBodySize: "1" as never }),
      TypeError,
      `"maxBodySize" must be a non-negative integer or Infinity, received "1"`,
    );
    assertThrows(
      () => new Client({ maxBodySize: -1 }),
      RangeError,
      'Cannot create client: "maxBodySize" must be a non-negative integer or Infinity, received -1',
    );
  });
  await t.step("retry", async () => {
    await assertRejects(
      () => request("http://127.0.0.1:9/", { retry: 0 }),
      RangeError,
      '"retry.attempts" must be a positive integer, received 0',
    );
    const url = "http://127.0.0.1:9/";
    const bad: [RequestOptions["retry"], string][] = [
      [
        null as unknown as number,
        '"retry" must be a number of attempts or an object, received null',
      ],
      [
        { retryOn: 503 as unknown as number[] },
        '"retry.retryOn" must be an array of status codes, received 503',
      ],
      [
        { methods: "GET" as unknown as string[] },
        '"retry.methods" must be an array of method names, received "GET"',
      ],
      [
        { respectRetryAfter: "no" as unknown as boolean },
        '"retry.respectRetryAfter" must be a boolean, received "no"',
      ],
    ];
    for (const [retry, message] of bad) {
      await assertRejects(() => request(url, { retry }), TypeError, message);
    }
  });
  await t.step(
    "mistakes fetch would report like a failed connection",
    async () => {
      let calls = 0;
      const client = new Client({
        retry: 3,
        fetch: () => {
          calls++;
          return Promise.resolve(new Response("sent"));
        },
      });
      const cases: [string, RequestOptions, string][] = [
        [
          "http://127.0.0.1:9/",
          { headers: { "x-a": "a\nb" } },
          "invalid headers",
        ],
        ["ftp://127.0.0.1/x", {}, 'fetch does not support "ftp:" URLs'],
        [
          "http://127.0.0.1:9/",
          { method: "BAD METHOD" },
          "is not a valid HTTP method",
        ],
      ];
      for (const [url, options, message] of cases) {
        await assertRejects(
          () => client.text(url, options),
          TypeError,
          message,
        );
        await assertRejects(() => fetchText(url, options), TypeError, message);
      }
      assertEquals(calls, 0, "nothing was sent, nor retried");
      await client.close();
    },
  );
  await t.step("a fetch that does not give a Response", async () => {
    const client = new Client({
      fetch: () => Promise.resolve(undefined as unknown as Response),
    });
    await assertRejects(
      () => client.text("http://127.0.0.1:9/"),
      TypeError,
      'Cannot GET "http://127.0.0.1:9/": fetch resolved to undefined, not a Response',
    );
    await client.close();
  });
  await t.step("signal", async () => {
    await assertRejects(
      () =>
        request("http://127.0.0.1:9/", {
          signal: "no" as unknown as AbortSignal,
        }),
      TypeError,
      '"signal" must be an AbortSignal, received "no"',
    );
  });
});

Deno.test(
  "request() names each request's own URL when requests time out together",
  {
    permissions: NET,
  },
  async () => {
    await using silent = rawServer(({ closed }) => closed());
    const urls = ["/a", "/b", "/c"].map((path) => silent.url(path));
    const errors = await Promise.all(
      urls.map((url) =>
        fetchText(url, { timeout: 100 }).then(
          () => undefined,
          (error) => error,
        )
      ),
    );
    for (const [i, error] of errors.entries()) {
      assertInstanceOf(error, TimeoutError);
      assertEquals(error.url, urls[i]);
      assertEquals(error.timeout, 100);
    }
  },
);

Deno.test("request() keeps other requests going when one ends", {
  permissions: NET,
}, async () => {
  await using server = serve(async (req) => {
    if (new URL(req.url).pathname === "/slow") {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return new Response(new URL(req.url).pathname);
  });
  const controller = new AbortController();
  const reason = new Error("only this one");
  const [fast, slow, aborted] = await Promise.allSettled([
    fetchText(server.url("/fast")),
    fetchText(server.url("/slow")),
    fetchText(server.url("/slow"), { signal: controller.signal }),
    Promise.resolve().then(() => controller.abort(reason)),
  ]);
  assertEquals(fast, { status: "fulfilled", value: "/fast" });
  assertEquals(slow, { status: "fulfilled", value: "/slow" });
  assertEquals(aborted, { status: "rejected", reason });
});

Deno.test("request() follows a Request's own signal", {
  permissions: NET,
}, async (t) => {
  let served = 0;
  await using server = serve(async (req) => {
    served++;
    if (new URL(req.url).pathname === "/slow") {
      // Until the client goes away.
      await new Promise((resolve) =>
        req.signal.addEventListener("abort", resolve, { once: true })
      );
    }
    return new Response("late");
  });
  await t.step("already aborted: nothing is sent", async () => {
    const reason = new Error("mine");
    const input = new Request(server.url("/"), {
      signal: AbortSignal.abort(reason),
    });
    assertStrictEquals(await assertRejects(() => fetchText(input)), reason);
    assertEquals(served, 0);
  });
  await t.step("aborted while waiting for the answer", async () => {
    const controller = new AbortController();
    const reason = new Error("gave up");
    const input = new Request(server.url("/slow"), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 50);
    assertStrictEquals(await assertRejects(() => fetchText(input)), reason);
  });
  await t.step("with a signal option too, either one aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("request's own");
    const input = new Request(server.url("/slow"), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 50);
    const call = fetchText(input, { signal: new AbortController().signal });
    assertStrictEquals(await assertRejects(() => call), reason);
  });
});

Deno.test({
  name:
    "request() does not keep the process alive for the timeout of a body left unread",
  permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  async fn() {
    const start = performance.now();
    const { success, output } = await runDeno("run", [
      "--no-config",
      "-N=127.0.0.1",
      "tests/testdata/unread_body.ts",
    ], 30_000);
    const took = performance.now() - start;
    assert(success, output);
    assertEquals(output.trim(), "200 200");
    // The bodies' deadline is 20 s away; a process start takes well under 1 s.
    assertLess(took, 10_000);
  },
});

Deno.test({
  name: "request() still times out a body that stalls while it is read",
  permissions: {},
  async fn() {
    // No socket keeps this process busy: only the deadline ends the read.
    const fetch = (_: unknown, init?: RequestInit) =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(encoder.encode("partial"));
              init?.signal?.addEventListener("abort", () => {
                controller.error(init.signal!.reason);
              });
            },
          }),
        ),
      );
    await using client = new Client({ timeout: 100, fetch });
    const response = await client.request("http://example.test/");
    await assertRejects(() => response.text(), TimeoutError, "within 100 ms");
  },
});
