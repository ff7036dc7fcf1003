/**
 * Run by `tests/gc_test.ts` as `deno test` with
 * `--v8-flags=--expose-gc`: a body handed on by `request()` (and read by
 * `Client.request()` and `gather()` of URLs) stays under its deadline after
 * a garbage collection. Deno's fetch aborts a body through a weak reference
 * to its `Response`, which the library's copy must keep alive.
 *
 * @module
 */

import {
  assertEquals,
  assertInstanceOf,
  assertLess,
} from "jsr:@std/assert@^1.0.19";
import { TimeoutError } from "../../errors.ts";
import { Client } from "../../client/client.ts";
import { gather } from "../../client/gather.ts";
import { request } from "../../client/request.ts";

declare const gc: () => void;

const TIMEOUT = 300;

/**
 * A server whose bodies send "first", then nothing until `end` settles;
 * `onCancel` hears of a body its client let go of.
 */
function stalledServer(
  end: Promise<void>,
  onCancel?: () => void,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("first"));
          },
          pull: (controller) => end.then(() => controller.close()),
          cancel: () => onCancel?.(),
        }),
      ),
  );
}

/**
 * Runs `read` against a {@linkcode stalledServer} while garbage is
 * collected; expects a `TimeoutError` within a generous multiple of the
 * deadline (it hung).
 */
async function timesOutAfterGc(read: (url: string) => Promise<unknown>) {
  const end = Promise.withResolvers<void>();
  await using server = stalledServer(end.promise);
  const start = performance.now();
  const collect = setTimeout(() => {
    gc();
    gc();
  }, TIMEOUT / 3);
  let limit: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      read(`http://127.0.0.1:${server.addr.port}/`).then(
        () => "read to the end",
        (error) => error,
      ),
      new Promise((resolve) => limit = setTimeout(resolve, 10_000, "hung")),
    ]);
    assertInstanceOf(outcome, TimeoutError);
    assertLess(performance.now() - start, TIMEOUT * 10);
  } finally {
    clearTimeout(collect);
    clearTimeout(limit);
    end.resolve();
  }
}

Deno.test("request(): a body that stalls times out after a gc", async () => {
  await timesOutAfterGc(async (url) => {
    const response = await request(url, { timeout: TIMEOUT });
    await response.text();
  });
});

Deno.test("request(): the same with only the body kept", async () => {
  await timesOutAfterGc(async (url) => {
    const reader = (await request(url, { timeout: TIMEOUT })).body!
      .getReader();
    while (!(await reader.read()).done) {
      // Read on.
    }
  });
});

Deno.test("request(): the same with only a clone kept", async () => {
  await timesOutAfterGc(async (url) => {
    await (await request(url, { timeout: TIMEOUT })).clone().text();
  });
});

Deno.test("Client.request(): the same", async () => {
  await using client = new Client({ timeout: TIMEOUT });
  await timesOutAfterGc(async (url) => {
    const response = await client.request(url);
    await response.text();
  });
});

Deno.test("gather() of a URL: the same", async () => {
  await timesOutAfterGc((url) =>
    gather([url], {
      request: (input, options) =>
        request(input, { ...options, timeout: TIMEOUT }),
    })
  );
});

Deno.test("request(): a response dropped unread lets go of its body at the deadline, after a gc", async () => {
  const cancelled = Promise.withResolvers<string>();
  const end = Promise.withResolvers<void>();
  await using server = stalledServer(
    end.promise,
    () => cancelled.resolve("cancelled"),
  );
  let limit: ReturnType<typeof setTimeout> | undefined;
  try {
    await request(`http://127.0.0.1:${server.addr.port}/`, {
      timeout: TIMEOUT,
    }); // dropped: never read, nothing refers to it
    gc();
    gc();
    const outcome = await Promise.race([
      cancelled.promise,
      new Promise((resolve) => limit = setTimeout(resolve, 10_000, "kept")),
    ]);
    assertEquals(outcome, "cancelled");
  } finally {
    clearTimeout(limit);
    end.resolve();
  }
});
