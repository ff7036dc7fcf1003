import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { deadline } from "@std/async/deadline";
import { TimeoutError } from "../errors.ts";
import { rawServer, serveLoopback as serve } from "../tests/_loopback.ts";
import { Client } from "./client.ts";
import { BodyTooLargeError, HttpError, NetworkError } from "./errors.ts";
import { gather } from "./gather.ts";

const NET = { net: ["127.0.0.1"] };
const FILES = { net: ["127.0.0.1"], read: ["/tmp"], write: ["/tmp"] };

/** Resolves after `ms` milliseconds (the servers' simulated work). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A server that counts requests in flight and answers after `ms`. */
function busyServer(ms: number) {
  let inFlight = 0;
  let peak = 0;
  let total = 0;
  const server = serve(async (req) => {
    total++;
    peak = Math.max(peak, ++inFlight);
    await sleep(ms);
    inFlight--;
    return new Response(new URL(req.url).pathname);
  });
  return Object.assign(server, {
    peak: () => peak,
    total: () => total,
  });
}

/** A body that never ends (until cancelled). */
const endless = () =>
  new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("start"));
      },
      pull: () => new Promise(() => {}),
    }),
  );

Deno.test("Client resolves URLs against baseUrl and merges headers", {
  permissions: NET,
}, async (t) => {
  await using server = serve((req) =>
    Response.json({
      path: new URL(req.url).pathname,
      a: req.headers.get("x-a"),
      b: req.headers.get("x-b"),
    })
  );
  for (const base of [server.url("/api"), server.url("/api/")]) {
    await t.step(base, async () => {
      await using client = new Client({
        baseUrl: base,
        headers: { "x-a": "client", "x-b": "client" },
      });
      assertEquals(
        await client.json("users/1", { headers: { "x-b": "call" } }),
        {
          path: "/api/users/1",
          a: "client",
          b: "call",
        },
      );
      assertEquals(await client.json("/root"), {
        path: "/root",
        a: "client",
        b: "client",
      });
      const request = new Request(server.url("/req"), {
        headers: { "x-a": "request" },
      });
      assertEquals(await client.json(request), {
        path: "/req",
        a: "request",
        b: "client",
      });
    });
  }
});

Deno.test(
  "Client applies its timeout, retry and throwHttpErrors, and calls override them",
  {
    permissions: NET,
  },
  async (t) => {
    let calls = 0;
    await using server = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/flaky") {
        return ++calls % 2 === 1
          ? new Response("", { status: 503 })
          : new Response("ok");
      }
      if (path === "/missing") return new Response("no", { status: 404 });
      return new Response("fine");
    });
    await using silent = rawServer(({ closed }) => closed());
    await using client = new Client({
      baseUrl: server.origin,
      timeout: 100,
      retry: { attempts: 2, backoff: () => 1 },
      throwHttpErrors: (status) => status >= 500,
    });
    await t.step("timeout", async () => {
      const start = performance.now();
      const error = await assertRejects(
        () => client.text(silent.url()),
        TimeoutError,
      );
      assertEquals(error.timeout, 100);
      assertGreaterOrEqual(
        performance.now() - start,
        95 * 2,
        "both attempts timed out",
      );
    });
    await t.step("timeout overridden", async () => {
      const error = await assertRejects(
        () => client.text(silent.url(), { timeout: 50, retry: 1 }),
        TimeoutError,
      );
      assertEquals(error.timeout, 50);
    });
    await t.step("retry", async () => {
      assertEquals(await client.text("/flaky"), "ok");
      assertEquals(calls, 2);
    });
    await t.step("retry overridden", async () => {
      await assertRejects(() => client.text("/flaky", { retry: 1 }), HttpError);
    });
    await t.step("throwHttpErrors", async () => {
      assertEquals(await client.text("/missing"), "no");
      await assertRejects(
        () => client.text("/missing", { throwHttpErrors: true }),
        HttpError,
      );
    });
  },
);

Deno.test("Client never has more than concurrency requests in flight", {
  permissions: NET,
}, async () => {
  await using server = busyServer(15);
  await using client = new Client({ baseUrl: server.origin, concurrency: 4 });
  const paths = Array.from({ length: 40 }, (_, i) => `/${i}`);
  const texts = await Promise.all(paths.map((path) => client.text(path)));
  assertEquals(texts, paths);
  assertEquals(server.total(), 40);
  assertLess(server.peak(), 5);
  assertEquals(server.peak(), 4, "the limit is used");
});

Deno.test(
  "Client starts timeout once a call holds a slot, totalTimeout at the call",
  {
    permissions: NET,
  },
  async () => {
    const seen: string[] = [];
    await using server = serve(async (req) => {
      const path = new URL(req.url).pathname;
      seen.push(path);
      if (path === "/slow") await sleep(400);
      return new Response(path);
    });
    await using client = new Client({ baseUrl: server.origin, concurrency: 1 });
    const slow = client.text("/slow");
    const started = performance.now();
    const [waited, gaveUp] = await Promise.allSettled([
      client.text("/waited", { timeout: 150 }),
      client.text("/gave-up", { totalTimeout: 150 }),
    ]);
    assertEquals(waited, { status: "fulfilled", value: "/waited" });
    assertEquals(gaveUp.status, "rejected");
    const reason = (gaveUp as PromiseRejectedResult).reason;
    assertInstanceOf(reason, TimeoutError);
    assert(reason.message.includes("total timeout of 150 ms"), reason.message);
    assertGreaterOrEqual(performance.now() - started, 300, "waited for /slow");
    assertEquals(await slow, "/slow");
    assertEquals(seen, ["/slow", "/waited"], "/gave-up was never sent");
  },
);

Deno.test("Client keeps a slot until the response body is read or cancelled", {
  permissions: NET,
}, async (t) => {
  let requests = 0;
  await using server = serve(() => {
    requests++;
    return new Response("body");
  });
  await using client = new Client({ baseUrl: server.origin, concurrency: 1 });
  await t.step("read", async () => {
    requests = 0;
    const first = await client.request("/1");
    let secondDone = false;
    const second = client.text("/2").then((text) => {
      secondDone = true;
      return text;
    });
    await sleep(50);
    assertEquals(requests, 1, "the second request waits for the slot");
    assertEquals(secondDone, false);
    assertEquals(await first.text(), "body");
    assertEquals(await second, "body");
    assertEquals(requests, 2);
  });
  await t.step("cancelled", async () => {
    const first = await client.request("/1");
    const second = client.text("/2");
    await first.body!.cancel();
    assertEquals(await second, "body");
  });
  await t.step("a response without a body frees it at once", async () => {
    const head = await client.request("/", { method: "HEAD" });
    assertEquals(head.body, null);
    assertEquals(await client.text("/"), "body");
  });
});

Deno.test("Client limits each host to perHostConcurrency", {
  permissions: NET,
}, async () => {
  await using a = busyServer(20);
  await using b = busyServer(20);
  await using client = new Client({ concurrency: 10, perHostConcurrency: 2 });
  const urls = Array.from(
    { length: 24 },
    (_, i) => (i % 2 ? a : b).url(`/${i}`),
  );
  const start = performance.now();
  await Promise.all(urls.map((url) => client.text(url)));
  assertEquals(a.peak(), 2);
  assertEquals(b.peak(), 2);
  // 12 requests per host, 2 at a time, 20 ms each: at least 6 rounds.
  assertGreaterOrEqual(performance.now() - start, 6 * 20 - 5);
});

Deno.test("Client lets a waiting request give up with its signal", {
  permissions: NET,
}, async () => {
  await using server = busyServer(100);
  await using client = new Client({ baseUrl: server.origin, concurrency: 1 });
  const first = client.text("/first");
  const controller = new AbortController();
  const reason = new Error("not waiting");
  const second = client.text("/second", { signal: controller.signal });
  await sleep(20);
  controller.abort(reason);
  assertEquals(await assertRejects(() => second), reason);
  assertEquals(await first, "/first");
  assertEquals(server.total(), 1, "the aborted request was never sent");
  assertEquals(await client.text("/third"), "/third");
});

Deno.test("Client holds no slot while waiting to retry", {
  permissions: NET,
}, async () => {
  const order: string[] = [];
  let flakyCalls = 0;
  await using server = serve((req) => {
    const path = new URL(req.url).pathname;
    order.push(path);
    if (path === "/flaky" && ++flakyCalls === 1) {
      return new Response("", { status: 503 });
    }
    return new Response(path);
  });
  await using client = new Client({ baseUrl: server.origin, concurrency: 1 });
  const flaky = client.text("/flaky", {
    retry: { attempts: 2, backoff: () => 150 },
  });
  await sleep(30);
  assertEquals(await client.text("/other"), "/other");
  assertEquals(await flaky, "/flaky");
  assertEquals(order, ["/flaky", "/other", "/flaky"]);
});

Deno.test("Client.close() aborts what is in flight and waits for it", {
  permissions: NET,
}, async (t) => {
  await using silent = rawServer(({ closed }) => closed());
  await using server = serve(endless);
  await t.step(
    "requests waiting for headers, for a slot, and a body being read",
    async () => {
      const client = new Client({ concurrency: 2 });
      const waitingHeaders = client.text(silent.url());
      const response = await client.request(server.url());
      const waitingSlot = client.text(server.url());
      const reader = response.body!.getReader();
      await reader.read();
      assertEquals(client.active, 3);
      const outcomes = Promise.allSettled([
        waitingHeaders,
        waitingSlot,
        reader.read(),
      ]);
      await client.close();
      assertEquals(client.active, 0);
      assert(client.closed);
      for (const outcome of await outcomes) {
        assertEquals(outcome.status, "rejected");
        const reason = (outcome as PromiseRejectedResult).reason;
        assertInstanceOf(reason, DOMException);
        assertEquals(reason.name, "AbortError");
      }
    },
  );
  await t.step("later calls fail at once", async () => {
    const client = new Client();
    await client.close();
    await assertRejects(
      () => client.text(server.url()),
      DOMException,
      "the client is closed",
    );
    await client.close();
  });
  await t.step("await using", async () => {
    let outcome: Promise<unknown> | undefined;
    {
      await using client = new Client();
      outcome = client.text(silent.url()).catch((error) => error);
      await sleep(10);
    }
    assertEquals((await outcome as Error).name, "AbortError");
  });
});

Deno.test(
  "Client.gather() sends URL tasks through the client and stops on close",
  {
    permissions: NET,
  },
  async (t) => {
    await using server = busyServer(10);
    await t.step("limits, baseUrl and order", async () => {
      await using client = new Client({
        baseUrl: server.origin,
        concurrency: 3,
      });
      const paths = Array.from({ length: 12 }, (_, i) => `/${i}`);
      const responses = await client.gather(paths);
      assertEquals(await Promise.all(responses.map((r) => r.text())), paths);
      assertLess(server.peak(), 4);
    });
    await t.step("function tasks and settle", async () => {
      await using client = new Client({ baseUrl: server.origin });
      const results = await client.gather([
        (signal) => client.text("/fn", { signal }),
        () => Promise.reject(new Error("task failed")),
      ], { settle: true });
      assertEquals(results[0], { status: "fulfilled", value: "/fn" });
      assertEquals(results[1].status, "rejected");
    });
    await t.step("the first failure aborts the other requests", async () => {
      const bothClosed = Promise.withResolvers<void>();
      let closed = 0;
      await using silent = rawServer(async ({ closed: clientClosed }) => {
        await clientClosed();
        if (++closed === 2) bothClosed.resolve();
      });
      await using failing = serve(async () => {
        await sleep(30);
        return new Response("broken", { status: 500 });
      });
      await using client = new Client();
      const error = await assertRejects(
        () =>
          client.gather([silent.url("/1"), failing.url(), silent.url("/2")]),
        HttpError,
      );
      assertEquals(error.status, 500);
      await bothClosed.promise;
      assertEquals(client.active, 0);
    });
    await t.step("close aborts the run", async () => {
      await using silent = rawServer(({ closed }) => closed());
      const client = new Client();
      let seenAbort = false;
      const run = client.gather([
        silent.url(),
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener("abort", () => {
              seenAbort = true;
              reject(signal.reason);
            })
          ),
      ]);
      await sleep(20);
      await client.close();
      const error = await assertRejects(() => run);
      assertEquals((error as Error).name, "AbortError");
      assert(seenAbort);
    });
  },
);

Deno.test("Client.gather() rejects bad arguments as gather() does", {
  permissions: {},
}, async () => {
  await using client = new Client();
  let called = false;
  const run = client.gather([() => called = true], {
    signal: {} as AbortSignal,
  });
  await assertRejects(
    () => run,
    TypeError,
    'Cannot gather: "signal" must be an AbortSignal, received an object',
  );
  assertEquals(called, false);
  await assertRejects(
    // @ts-expect-error: options must be an object
    () => client.gather([() => 1], null),
    TypeError,
    'Cannot gather: "options" must be an object, received null',
  );
});

Deno.test(
  "Client.paginate() and Client.download() follow the client's settings",
  {
    permissions: FILES,
  },
  async () => {
    const keys: (string | null)[] = [];
    await using server = serve((req) => {
      keys.push(req.headers.get("x-key"));
      const url = new URL(req.url);
      if (url.pathname === "/file") return new Response("file body");
      const page = Number(url.searchParams.get("page") ?? 1);
      return Response.json(page, {
        headers: page < 3 ? { link: `<list?page=${page + 1}>; rel=next` } : {},
      });
    });
    await using client = new Client({
      baseUrl: server.url("/v1/"),
      headers: { "x-key": "k" },
    });
    const pages: unknown[] = [];
    for await (const page of client.paginate("list")) pages.push(page.data);
    assertEquals(pages, [1, 2, 3]);
    const dir = await Deno.makeTempDir();
    try {
      const result = await client.download("/file", `${dir}/f.txt`);
      assertEquals(result.size, 9);
      assertEquals(await Deno.readTextFile(`${dir}/f.txt`), "file body");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assertEquals(keys, ["k", "k", "k", "k"]);
  },
);

Deno.test("Client sends through an injected fetch", {
  permissions: {},
}, async () => {
  const seen: { url: string; signal: boolean }[] = [];
  await using client = new Client({
    baseUrl: "https://api.example/v2/",
    fetch: (input, init) => {
      seen.push({
        url: typeof input === "string" ? input : input.url,
        signal: init?.signal instanceof AbortSignal,
      });
      return Promise.resolve(Response.json({ stub: true }));
    },
  });
  assertEquals(await client.json("things"), { stub: true });
  assertEquals(seen, [{ url: "https://api.example/v2/things", signal: true }]);
});

Deno.test(
  "Client: onRetry errors, forbidden methods, default headers, host keys",
  {
    permissions: {},
  },
  async (t) => {
    await t.step(
      "an onRetry that throws or rejects changes nothing",
      async () => {
        const logged: unknown[] = [];
        const original = console.error;
        console.error = (...args: unknown[]) => void logged.push(args[1]);
        try {
          let calls = 0;
          await using client = new Client({
            fetch: () =>
              Promise.resolve(
                new Response("x", { status: ++calls < 3 ? 503 : 200 }),
              ),
          });
          const broken = new Error("logger broke");
          for (
            const onRetry of [
              () => {
                throw broken;
              },
              () => Promise.reject(broken),
            ]
          ) {
            calls = 0;
            const text = await client.text("http://h/", {
              retry: { attempts: 3, backoff: () => 1, onRetry },
            });
            assertEquals(text, "x");
            assertEquals(calls, 3);
          }
          await sleep(0);
          assertEquals(logged, [broken, broken, broken, broken]);
        } finally {
          console.error = original;
        }
      },
    );
    await t.step("TRACE, TRACK and CONNECT are TypeErrors", async () => {
      let calls = 0;
      await using client = new Client({
        fetch: () => Promise.resolve(new Response(String(++calls))),
      });
      for (const method of ["TRACE", "track", "CONNECT"]) {
        await assertRejects(
          () => client.text("http://h/", { method, retry: 3 }),
          TypeError,
          "fetch does not send",
        );
      }
      assertEquals(calls, 0);
    });
    await t.step(
      "a fetch wrapper cannot change the default headers",
      async () => {
        const seen: (string | null)[] = [];
        await using client = new Client({
          headers: { authorization: "t" },
          fetch: (_input, init) => {
            const headers = init!.headers as Headers;
            seen.push(headers.get("x-id"));
            headers.set("x-id", String(seen.length));
            return Promise.resolve(new Response("ok"));
          },
        });
        await client.text("http://h/a");
        await client.text("http://h/b");
        assertEquals(seen, [null, null]);
      },
    );
    await t.step("per-host keys write out default ports", async () => {
      let active = 0;
      let peak = 0;
      await using client = new Client({
        perHostConcurrency: 1,
        fetch: async () => {
          peak = Math.max(peak, ++active);
          await sleep(5);
          active--;
          return new Response("ok");
        },
      });
      // One host:port: h:443 twice, spelled two ways.
      await Promise.all([
        client.text("https://h/"),
        client.text("http://h:443/"),
      ]);
      assertEquals(peak, 1);
      // Two: h:80 and h:443.
      await Promise.all([client.text("http://h/"), client.text("https://h/")]);
      assertEquals(peak, 2);
    });
  },
);

Deno.test("Client rejects bad options", { permissions: {} }, () => {
  assertThrows(
    () => new Client({ concurrency: 0 }),
    RangeError,
    'Cannot create client: "concurrency" must be a positive integer or Infinity, received 0',
  );
  assertThrows(
    // @ts-expect-error: a string is not a number
    () => new Client({ concurrency: "8" }),
    TypeError,
    'Cannot create client: "concurrency" must be a positive integer or Infinity, received "8"',
  );
  assertThrows(
    () => new Client({ perHostConcurrency: 1.5 }),
    RangeError,
    '"perHostConcurrency"',
  );
  assertThrows(
    () => new Client({ baseUrl: "relative/path" }),
    TypeError,
    'Cannot create client: "baseUrl" must be an absolute URL, received "relative/path"',
  );
  assertThrows(() => new Client({ timeout: -5 }), RangeError, '"timeout"');
  assertThrows(
    () => new Client({ fetch: "no" as unknown as typeof fetch }),
    TypeError,
    '"fetch" must be a function, received "no"',
  );
  assertThrows(() => new Client({ retry: { attempts: -1 } }), RangeError);
  assertThrows(
    () => new Client({ baseUrl: "ftp://files.example/" }),
    TypeError,
    'Cannot create client: "baseUrl" must be an http: or https: URL, received "ftp://files.example/"',
  );
  assertThrows(
    () => new Client({ headers: { "a b": "c" } }),
    TypeError,
    'Cannot create client: "headers" are not valid: ',
  );
  for (const [options, received] of [["x", '"x"'], [null, "null"]]) {
    assertThrows(
      () => new Client(options as never),
      TypeError,
      `Cannot create client: "options" must be an object, received ${received}`,
    );
  }
});

Deno.test("Client calls reject options that are not an object", {
  permissions: {},
}, async () => {
  let calls = 0;
  await using client = new Client({
    fetch: () => Promise.resolve(new Response(`call ${++calls}`)),
  });
  await assertRejects(
    () => client.text("http://api.test/", "x" as never),
    TypeError,
    '"options" must be an object, received "x"',
  );
  await assertRejects(
    () => client.get("http://api.test/", "x" as never),
    TypeError,
    '"options" must be an object, received "x"',
  );
  await using based = new Client({
    baseUrl: "http://api.test/v1/",
    fetch: () => Promise.resolve(new Response(`call ${++calls}`)),
  });
  for (
    const [input, received] of [[null, "null"], [5, "5"], [{}, "an object"]]
  ) {
    // Not made a path ("/v1/null") against the base URL.
    await assertRejects(
      () => based.text(input as never),
      TypeError,
      `Cannot request: the input must be a URL string, a URL or a Request, received ${received}`,
    );
  }
  await assertRejects(
    () => client.download("http://api.test/", "/tmp/x", 5 as never),
    TypeError,
    'Cannot download: "options" must be an object, received 5',
  );
  assertEquals(calls, 0);
});

Deno.test(
  "Client settles every call of a long queue through aborts, retries and close",
  {
    permissions: NET,
  },
  async () => {
    let inFlight = 0;
    let peak = 0;
    let served = 0;
    const flaky = new Set<string>();
    await using server = serve(async (req) => {
      const path = new URL(req.url).pathname;
      peak = Math.max(peak, ++inFlight);
      try {
        await sleep(path.endsWith("7") ? 30 : 1);
        served++;
        // Every tenth path fails once, then succeeds on its retry.
        if (path.endsWith("3") && !flaky.has(path)) {
          flaky.add(path);
          return new Response("busy", { status: 503 });
        }
        return new Response(path);
      } finally {
        inFlight--;
      }
    });
    const client = new Client({
      baseUrl: server.origin,
      concurrency: 8,
      retry: { attempts: 2, backoff: () => 5 },
    });
    const aborts: AbortController[] = [];
    const calls = Array.from({ length: 400 }, (_, i) => {
      const controller = new AbortController();
      aborts.push(controller);
      return client.text(`/${i}`, { signal: controller.signal });
    });
    // Some callers give up while queued, some while in flight.
    for (let i = 0; i < 400; i += 9) {
      aborts[i]!.abort(new Error(`gave up ${i}`));
    }
    // Observed from the start: a queued call that is aborted rejects at once.
    const outcomes = calls.map((call) => Promise.allSettled([call]));
    const first = (await Promise.all(outcomes.slice(0, 200))).flat();
    const late = new Promise<void>((resolve) =>
      setTimeout(() => {
        aborts[250]!.abort(new Error("gave up 250"));
        resolve();
      }, 5)
    );
    const closing = client.close();
    const rest = (await Promise.all(outcomes.slice(200))).flat();
    await Promise.all([closing, late]);

    assertEquals(client.active, 0);
    assertLess(peak, 9, "never more than concurrency in flight");
    for (const [i, outcome] of [...first, ...rest].entries()) {
      if (i % 9 === 0) {
        assertEquals(outcome.status, "rejected", `call ${i}`);
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        assertEquals(reason.message, `gave up ${i}`);
      } else if (i < 200) {
        assertEquals(outcome, { status: "fulfilled", value: `/${i}` });
      } else if (outcome.status === "rejected") {
        const reason = outcome.reason as Error;
        assert(
          reason.name === "AbortError" || reason.message === "gave up 250",
          `call ${i}: ${reason}`,
        );
      }
    }
    assertGreaterOrEqual(served, 200 - 23, "the first half was served");
  },
);

Deno.test(
  "Client starts a long queue of calls that fail at once without deep stacks",
  {
    permissions: {},
  },
  async () => {
    const boom = new Error("boom");
    const first = Promise.withResolvers<Response>();
    let calls = 0;
    await using client = new Client({
      concurrency: 1,
      // The first call holds the slot until all are queued; the rest throw.
      fetch: () => {
        if (calls++ === 0) return first.promise;
        throw boom;
      },
    });
    const outcomes = Array.from(
      { length: 20_000 },
      () => client.text("http://127.0.0.1:1/").catch((error) => error),
    );
    first.resolve(new Response("first"));
    const results = await deadline(Promise.all(outcomes), 10_000);
    assertEquals(results[0], "first");
    assertEquals(results.filter((result) => result === boom).length, 19_999);
    assertEquals(client.active, 0);
  },
);

Deno.test("Client follows a Request's own signal, queued or in flight", {
  permissions: NET,
}, async () => {
  await using server = busyServer(100);
  await using client = new Client({ concurrency: 1 });
  const first = client.text(server.url("/first"));
  const controller = new AbortController();
  const reason = new Error("not any more");
  const queued = client.text(
    new Request(server.url("/queued"), { signal: controller.signal }),
  );
  setTimeout(() => controller.abort(reason), 20);
  assertEquals(await assertRejects(() => queued), reason);
  assertEquals(await first, "/first");
  assertEquals(server.total(), 1, "the aborted request was never sent");
});

Deno.test("Client.gather() refuses a request option of its own", {
  permissions: {},
}, async () => {
  await using client = new Client({
    fetch: () => Promise.resolve(new Response("x")),
  });
  await assertRejects(
    () =>
      client.gather(["http://api.test/"], {
        request: () => Promise.resolve(new Response("y")),
      } as never),
    TypeError,
    'Cannot gather: "request" is not an option of client.gather(), which sends through the client',
  );
});

Deno.test(
  "Client reads bodies whole within maxBodySize, inside the attempt, in gather() too",
  { permissions: { net: ["127.0.0.1"] } },
  async (t) => {
    // The first connection's body is cut off; the others are whole.
    await using server = rawServer(({ index, write }) =>
      write(
        index === 0
          ? "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nabc"
          : "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\n0123456789",
      )
    );
    const url = server.url();

    await t.step(
      "a body cut off in a gather() URL task is retried",
      async () => {
        await using client = new Client({ retry: 2 });
        const [response] = await client.gather([url]);
        assertEquals(await response!.text(), "0123456789");
        assertEquals(server.connections(), 2);
      },
    );
    await t.step("gather() without a client: a NetworkError", async () => {
      await using cut = rawServer(({ write }) =>
        write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
      );
      await assertRejects(() => gather([cut.url()]), NetworkError, cut.url());
    });
    await t.step("the client's maxBodySize, and a call's own", async () => {
      await using client = new Client({ maxBodySize: 9 });
      const error = await assertRejects(
        () => client.text(url),
        BodyTooLargeError,
        "larger than the 9 bytes maxBodySize (Content-Length: 10)",
      );
      assertEquals(error.url, url);
      await assertRejects(() => client.gather([url]), BodyTooLargeError);
      assertEquals(await client.text(url, { maxBodySize: 10 }), "0123456789");
      // A parser of paginate() reads under the limit too.
      const pages = client.paginate(url, { parse: (r) => r.text() });
      await assertRejects(() => pages.next(), BodyTooLargeError);
    });
    await t.step("gather()'s URL tasks keep 64 MiB at most", async () => {
      await using huge = rawServer(({ write }) =>
        write(
          "HTTP/1.1 200 OK\r\ncontent-length: 67108865\r\nconnection: close\r\n\r\n",
        )
      );
      await assertRejects(
        () => gather([huge.url()]),
        BodyTooLargeError,
        "larger than the 67108864 bytes maxBodySize",
      );
    });
  },
);

Deno.test({
  name: "Client lets a queued call wait for a slot held by a body left unread",
  permissions: {},
  async fn() {
    // No socket keeps this process busy: the deadline of the unread body
    // frees the slot, and the queue keeps its clock running.
    await using client = new Client({
      concurrency: 1,
      timeout: 200,
      fetch: () => Promise.resolve(new Response("ok")),
    });
    const unread = await client.request("http://example.test/a");
    assertEquals(await client.text("http://example.test/b"), "ok");
    assertEquals(unread.bodyUsed, false);
  },
});
