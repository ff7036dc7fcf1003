import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertLess,
  assertLessOrEqual,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { TimeoutError } from "../errors.ts";
import { HttpError, NetworkError } from "./errors.ts";
import { fetchText, request } from "./request.ts";
import { httpResponse, rawServer } from "../tests/_loopback.ts";
import {
  exponentialBackoff,
  parseRetryAfter,
  RETRY_STATUSES,
  type RetryInfo,
} from "./retry.ts";

const NET = { net: ["127.0.0.1"] };
const encoder = new TextEncoder();

/**
 * A server that answers request number `n` (0-based) with `answers[n]` (the
 * last one repeats), and records when each request arrived and its body.
 */
function scripted(
  answers: (() => Response | Promise<Response>)[],
) {
  const arrivals: number[] = [];
  const bodies: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      arrivals.push(performance.now());
      bodies.push(await req.text());
      const answer = answers[Math.min(arrivals.length, answers.length) - 1]!;
      return await answer();
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    arrivals,
    bodies,
    /** Milliseconds between consecutive requests. */
    gaps: () => arrivals.slice(1).map((at, i) => at - arrivals[i]!),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * A bare TCP server: connection number `n` gets `answers[n]` (the last one
 * repeats) as raw bytes, then is closed; an empty answer closes at once.
 */
function answering(answers: string[]) {
  return rawServer(({ index, write }) => {
    const answer = answers[Math.min(index, answers.length - 1)]!;
    if (answer) return write(answer);
  });
}

/**
 * A server whose first `stalls` connections get no answer (until the client
 * closes them); the others get "ok".
 */
function stallingServer(stalls: number) {
  return rawServer(({ index, closed, write }) =>
    index < stalls ? closed() : write(httpResponse("ok"))
  );
}

const status = (code: number, headers?: HeadersInit) => () =>
  new Response(`status ${code}`, { status: code, headers: headers ?? {} });
const ok = () => new Response("ok");

Deno.test(
  "request() retries the default statuses and waits the backoff between attempts",
  {
    permissions: NET,
  },
  async (t) => {
    for (const code of RETRY_STATUSES) {
      await t.step(`${code}`, async () => {
        await using server = scripted([status(code), status(code), ok]);
        const text = await fetchText(server.url, {
          retry: { attempts: 3, backoff: (n) => 60 * n },
        });
        assertEquals(text, "ok");
        assertEquals(server.arrivals.length, 3);
        const [first, second] = server.gaps();
        assertGreaterOrEqual(first!, 55);
        assertGreaterOrEqual(second!, 115);
        assertLess(second!, 2_000);
      });
    }
  },
);

Deno.test("request() does not retry other statuses", {
  permissions: NET,
}, async (t) => {
  for (const code of [400, 401, 403, 404, 501]) {
    await t.step(`${code}`, async () => {
      await using server = scripted([status(code), ok]);
      const error = await assertRejects(
        () =>
          fetchText(server.url, { retry: { attempts: 3, backoff: () => 1 } }),
        HttpError,
      );
      assertEquals(error.status, code);
      assertEquals(server.arrivals.length, 1);
    });
  }
  await t.step("retryOn replaces the list", async () => {
    await using server = scripted([status(404), ok]);
    assertEquals(
      await fetchText(server.url, {
        retry: { attempts: 2, retryOn: [404], backoff: () => 1 },
      }),
      "ok",
    );
  });
});

Deno.test(
  "request() gives up after the last attempt with that attempt's HttpError",
  {
    permissions: NET,
  },
  async () => {
    await using server = scripted([
      () => new Response("try later", { status: 503, statusText: "Busy" }),
    ]);
    const retries: RetryInfo[] = [];
    const error = await assertRejects(
      () =>
        fetchText(server.url, {
          retry: {
            attempts: 3,
            backoff: () => 5,
            onRetry: (info) => retries.push(info),
          },
        }),
      HttpError,
    );
    assertEquals(server.arrivals.length, 3);
    assertEquals(error.status, 503);
    assertEquals(error.attempts, 3);
    assertEquals(error.body, "try later");
    assertEquals(
      error.message,
      `Cannot GET "${server.url}": server answered 503 Service Unavailable after 3 attempts: try later`,
    );
    assertEquals(retries.map((r) => [r.attempt, r.delay]), [[1, 5], [2, 5]]);
    assertInstanceOf(retries[0]!.error, HttpError);
  },
);

Deno.test(
  "request() with throwHttpErrors: false returns the last response after retries",
  {
    permissions: NET,
  },
  async () => {
    await using server = scripted([status(503)]);
    const response = await request(server.url, {
      throwHttpErrors: false,
      retry: { attempts: 2, backoff: () => 1 },
    });
    assertEquals(response.status, 503);
    assertEquals(await response.text(), "status 503");
    assertEquals(server.arrivals.length, 2);
  },
);

Deno.test("request() honours Retry-After", {
  permissions: NET,
}, async (t) => {
  const retry = { attempts: 2, backoff: () => 1 };
  await t.step("in seconds", async () => {
    await using server = scripted([status(429, { "retry-after": "1" }), ok]);
    assertEquals(await fetchText(server.url, { retry }), "ok");
    const [gap] = server.gaps();
    assertGreaterOrEqual(gap!, 990);
    assertLess(gap!, 3_000);
  });
  await t.step("as an HTTP date", async () => {
    // Dates have whole seconds: 2 s ahead, cut down, is 1 to 2 s from now.
    const at = () => new Date(Date.now() + 2_000).toUTCString();
    await using server = scripted([
      () => new Response("", { status: 503, headers: { "retry-after": at() } }),
      ok,
    ]);
    assertEquals(await fetchText(server.url, { retry }), "ok");
    const [gap] = server.gaps();
    assertGreaterOrEqual(gap!, 950);
    assertLess(gap!, 3_000);
  });
  await t.step("capped by maxRetryAfter", async () => {
    await using server = scripted([status(503, { "retry-after": "3600" }), ok]);
    const text = await fetchText(server.url, {
      retry: { ...retry, maxRetryAfter: 150 },
    });
    assertEquals(text, "ok");
    const [gap] = server.gaps();
    assertGreaterOrEqual(gap!, 145);
    assertLess(gap!, 2_000);
  });
  await t.step("ignored with respectRetryAfter: false", async () => {
    await using server = scripted([status(503, { "retry-after": "3600" }), ok]);
    const text = await fetchText(server.url, {
      retry: { ...retry, respectRetryAfter: false },
    });
    assertEquals(text, "ok");
    assertLess(server.gaps()[0]!, 1_000);
  });
  await t.step("an invalid value falls back to the backoff", async () => {
    await using server = scripted([status(503, { "retry-after": "soon" }), ok]);
    const delays: number[] = [];
    await fetchText(server.url, {
      retry: {
        attempts: 2,
        backoff: () => 40,
        onRetry: (i) => delays.push(i.delay),
      },
    });
    assertEquals(delays, [40]);
  });
});

Deno.test("request() retries only idempotent methods unless told", {
  permissions: NET,
}, async (t) => {
  await t.step("POST is not retried by default", async () => {
    await using server = scripted([status(503), ok]);
    await assertRejects(
      () =>
        fetchText(server.url, {
          method: "POST",
          body: "data",
          retry: { attempts: 3, backoff: () => 1 },
        }),
      HttpError,
    );
    assertEquals(server.arrivals.length, 1);
  });
  await t.step("PUT and DELETE are", async () => {
    for (const method of ["PUT", "DELETE"]) {
      await using server = scripted([status(503), ok]);
      await fetchText(server.url, {
        method,
        retry: { attempts: 2, backoff: () => 1 },
      });
      assertEquals(server.arrivals.length, 2);
    }
  });
  await t.step('POST with methods: ["post"] re-sends the body', async () => {
    await using server = scripted([status(503), status(502), ok]);
    const text = await fetchText(server.url, {
      method: "POST",
      body: "data",
      retry: { attempts: 3, methods: ["post"], backoff: () => 1 },
    });
    assertEquals(text, "ok");
    assertEquals(server.bodies, ["data", "data", "data"]);
  });
  await t.step("a Request's own body is re-sent", async () => {
    await using server = scripted([status(503), ok]);
    const input = new Request(server.url, { method: "PUT", body: "payload" });
    await fetchText(input, { retry: { attempts: 2, backoff: () => 1 } });
    assertEquals(server.bodies, ["payload", "payload"]);
  });
  await t.step("a one-shot stream body is sent once", async () => {
    await using server = scripted([status(503), ok]);
    const body = ReadableStream.from([encoder.encode("streamed")]);
    await assertRejects(
      () =>
        fetchText(server.url, {
          method: "PUT",
          body,
          retry: { attempts: 3, backoff: () => 1 },
        }),
      HttpError,
    );
    assertEquals(server.bodies, ["streamed"]);
  });
});

Deno.test("request() retries network errors", {
  permissions: NET,
}, async (t) => {
  const good =
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
  await t.step("a connection closed without an answer", async () => {
    await using server = answering(["", good]);
    assertEquals(
      await fetchText(server.url(), {
        retry: { attempts: 2, backoff: () => 1 },
      }),
      "ok",
    );
    assertEquals(server.connections(), 2);
  });
  await t.step("a body cut off before its Content-Length", async () => {
    await using server = answering([
      "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello",
      good,
    ]);
    assertEquals(
      await fetchText(server.url(), {
        retry: { attempts: 2, backoff: () => 1 },
      }),
      "ok",
    );
  });
  await t.step("gives up with a NetworkError", async () => {
    await using server = answering([""]);
    const error = await assertRejects(
      () =>
        fetchText(server.url(), { retry: { attempts: 3, backoff: () => 1 } }),
      NetworkError,
    );
    assertEquals(server.connections(), 3);
    assertEquals(error.attempts, 3);
  });
});

Deno.test(
  "request() retries an attempt that timed out, within the total timeout",
  {
    permissions: NET,
  },
  async (t) => {
    await t.step("the retried attempt succeeds", async () => {
      await using server = stallingServer(1);
      const start = performance.now();
      const text = await fetchText(server.url(), {
        timeout: 100,
        retry: { attempts: 2, backoff: () => 1 },
      });
      assertEquals(text, "ok");
      assertGreaterOrEqual(performance.now() - start, 95);
    });
    await t.step("every attempt times out", async () => {
      await using server = stallingServer(Infinity);
      const error = await assertRejects(
        () =>
          fetchText(server.url(), {
            timeout: 80,
            retry: { attempts: 2, backoff: () => 1 },
          }),
        TimeoutError,
      );
      assertEquals(error.timeout, 80);
      assertStringIncludes(error.message, "(attempt 2 of 2)");
    });
    await t.step("totalTimeout ends the call across attempts", async () => {
      await using server = stallingServer(Infinity);
      const start = performance.now();
      const error = await assertRejects(
        () =>
          fetchText(server.url(), {
            timeout: 100,
            totalTimeout: 250,
            retry: { attempts: 10, backoff: () => 1 },
          }),
        TimeoutError,
      );
      const elapsed = performance.now() - start;
      assertGreaterOrEqual(elapsed, 245);
      assertLess(elapsed, 2_000);
      assertEquals(error.timeout, 250);
      assertStringIncludes(error.message, "total timeout of 250 ms");
      assertGreaterOrEqual(server.connections(), 2);
    });
    await t.step(
      "a wait that would pass the total timeout is not made",
      async () => {
        await using server = scripted([status(503)]);
        const start = performance.now();
        const error = await assertRejects(
          () =>
            fetchText(server.url, {
              totalTimeout: 1_000,
              retry: { attempts: 3, backoff: () => 5_000 },
            }),
          TimeoutError,
        );
        assertLess(performance.now() - start, 900);
        assertInstanceOf(error.cause, HttpError);
        assertStringIncludes(error.message, "gave up after 1 attempt");
        assertEquals(server.arrivals.length, 1);
      },
    );
  },
);

Deno.test("request() stops waiting to retry when the signal aborts", {
  permissions: NET,
}, async () => {
  await using server = scripted([status(503)]);
  const controller = new AbortController();
  const reason = new Error("user gave up");
  const start = performance.now();
  const pending = fetchText(server.url, {
    signal: controller.signal,
    retry: {
      attempts: 3,
      backoff: () => 60_000,
      onRetry: () => controller.abort(reason),
    },
  });
  assertEquals(await assertRejects(() => pending), reason);
  assertLess(performance.now() - start, 5_000);
  assertEquals(server.arrivals.length, 1);
});

Deno.test("exponentialBackoff() grows, caps and jitters the wait", {
  permissions: {},
}, async (t) => {
  await t.step("without jitter", () => {
    const backoff = exponentialBackoff({
      delay: 100,
      multiplier: 3,
      maxDelay: 1_000,
      jitter: 0,
    });
    assertEquals([1, 2, 3, 4].map(backoff), [100, 300, 900, 1_000]);
  });
  await t.step("no delay stays 0, however many retries", () => {
    const backoff = exponentialBackoff({ delay: 0 });
    assertEquals([1, 1025, 5000].map(backoff), [0, 0, 0]);
  });
  await t.step("defaults: 300 ms doubling, full jitter", () => {
    const backoff = exponentialBackoff();
    for (let i = 0; i < 200; i++) {
      const wait = backoff(2);
      assert(wait >= 0 && wait <= 600, `${wait} is within 0–600`);
    }
    assertLessOrEqual(backoff(20), 10_000);
  });
  await t.step("half jitter keeps at least half", () => {
    const backoff = exponentialBackoff({ delay: 100, jitter: 0.5 });
    const waits = Array.from({ length: 200 }, () => backoff(1));
    assert(waits.every((wait) => wait >= 50 && wait <= 100));
    assert(new Set(waits).size > 1, "the waits vary");
  });
  await t.step("bad options", () => {
    assertThrows(
      () => exponentialBackoff({ delay: -1 }),
      RangeError,
      '"delay"',
    );
    assertThrows(
      () => exponentialBackoff({ multiplier: 0.5 }),
      RangeError,
      '"multiplier"',
    );
    assertThrows(
      () => exponentialBackoff({ jitter: 2 }),
      RangeError,
      '"jitter" must be between 0 and 1, received 2',
    );
    // Strings that compare like numbers are not numbers.
    for (const name of ["delay", "maxDelay", "multiplier", "jitter"]) {
      assertThrows(
        () => exponentialBackoff({ [name]: "1" }),
        TypeError,
        `"${name}" must be`,
      );
    }
    for (const [options, received] of [[null, "null"], ["x", '"x"']]) {
      assertThrows(
        () => exponentialBackoff(options as never),
        TypeError,
        `Cannot create backoff: "options" must be an object, received ${received}`,
      );
    }
  });
});

Deno.test("parseRetryAfter() refuses arguments of the wrong type", {
  permissions: {},
}, () => {
  assertThrows(
    () => parseRetryAfter(5 as never),
    TypeError,
    "Cannot parse Retry-After: the value must be a string or null, received 5",
  );
  assertThrows(
    () => parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", "x" as never),
    TypeError,
    'Cannot parse Retry-After: "now" must be a finite number of milliseconds, received "x"',
  );
  assertThrows(
    () => parseRetryAfter("120", NaN),
    RangeError,
    '"now" must be a finite number of milliseconds, received NaN',
  );
});

Deno.test(
  "parseRetryAfter() reads seconds and HTTP dates",
  { permissions: {} },
  () => {
    const now = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT");
    assertEquals(parseRetryAfter("0", now), 0);
    assertEquals(parseRetryAfter(" 5 ", now), 5_000);
    assertEquals(parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), 10_000);
    assertEquals(
      parseRetryAfter("Sunday, 06-Nov-94 08:49:47 GMT", now),
      10_000,
    );
    assertEquals(parseRetryAfter("Sun Nov  6 08:49:47 1994", now), 10_000);
    assertEquals(parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), 0);
    assertEquals(parseRetryAfter(null, now), undefined);
    assertEquals(parseRetryAfter("-1", now), undefined);
    assertEquals(parseRetryAfter("1.5", now), undefined);
    assertEquals(parseRetryAfter("soon", now), undefined);
    assertEquals(parseRetryAfter("Sun, 99 Foo 1994 GMT", now), undefined);
    // Not HTTP dates: garbage Date.parse would take, zones other than GMT,
    // a wrong day name, a day that does not exist.
    for (
      const garbage of [
        "Mon, 1",
        "Foo, 06 Nov 1994 08:49:47 GMT",
        "Sun, 06 Nov 1994 08:49:47 PST",
        "Sun, 06 Nov 1994 08:49:47 +0100",
        "Sun, 31 Feb 1994 08:49:47 GMT",
        "Sun, 06 Nov 1994 25:49:47 GMT",
      ]
    ) assertEquals(parseRetryAfter(garbage, now), undefined, garbage);
  },
);

Deno.test("request() rejects a backoff that gives no number", {
  permissions: NET,
}, async () => {
  await using server = scripted([status(503), ok]);
  await assertRejects(
    () =>
      fetchText(server.url, {
        retry: { attempts: 2, backoff: () => NaN },
      }),
    TypeError,
    '"retry.backoff" must return a number of milliseconds, received NaN',
  );
  assertEquals(server.arrivals.length, 1);
});
