/**
 * Run by `tests/streaming_signal_test.ts` as `deno test`, with and without
 * `--unstable-no-legacy-abort`: `context.signal` once the handler has
 * answered with a streaming body. Without the flag Deno's `request.signal`
 * aborts after every response, with it only when the client leaves; either
 * way the signal must abort when the body fails or the client leaves, and
 * not after a body delivered (or dropped for HEAD).
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertStrictEquals,
  assertStringIncludes,
} from "jsr:@std/assert@^1.0.19";
import { AioError } from "../../errors.ts";
import { serveHttp } from "../../server/http.ts";

const encoder = new TextEncoder();

/** A promise of the signal's reason, once it aborts. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener("abort", () => resolve(signal.reason));
  });
}

/** Waits until `condition()` holds, polling every 5 ms, for up to 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i === 1_000) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("a response body that fails aborts context.signal", async () => {
  const failure = new Error("the body broke");
  const reported: unknown[] = [];
  let signal: AbortSignal | undefined;
  await using server = serveHttp((_request, context) => {
    signal = context.signal;
    let sent = false;
    return new Response(
      new ReadableStream({
        pull(controller) {
          if (sent) return controller.error(failure);
          sent = true;
          controller.enqueue(encoder.encode("part"));
        },
      }),
    );
  }, { onError: (error) => void reported.push(error) });
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  await response.text().catch(() => {});
  assertStrictEquals(await aborted(signal!), failure);
  await until(() => server.inFlight === 0, "the request to end");
  assertEquals(reported, [failure]);
});

Deno.test("an echoed body cut at maxBodySize aborts context.signal", async () => {
  let signal: AbortSignal | undefined;
  await using server = serveHttp((request, context) => {
    signal = context.signal;
    return new Response(request.body);
  }, { maxBodySize: 1_000 });
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
    method: "POST",
    body: ReadableStream.from([new Uint8Array(600), new Uint8Array(600)]),
  }).catch(() => undefined);
  await response?.body?.cancel().catch(() => {});
  const reason = await aborted(signal!);
  assertInstanceOf(reason, AioError);
  assertStringIncludes(reason.message, "maxBodySize");
  await until(() => server.inFlight === 0, "the request to end");
});

Deno.test("a client that leaves mid-body aborts context.signal", async (t) => {
  const bodies: [string, () => BodyInit][] = [
    ["a stream", () =>
      new ReadableStream({
        pull: (controller) => controller.enqueue(new Uint8Array(1024)),
      })],
    // One chunk, far larger than the socket buffers.
    ["a large body given whole", () => new Uint8Array(32 << 20)],
  ];
  for (const [name, body] of bodies) {
    await t.step(name, async () => {
      let signal: AbortSignal | undefined;
      await using server = serveHttp((_request, context) => {
        signal = context.signal;
        return new Response(body());
      });
      const client = new AbortController();
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        signal: client.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      client.abort();
      await reader.closed.catch(() => {});
      assertInstanceOf(await aborted(signal!), DOMException);
      await until(() => server.inFlight === 0, "the request to end");
    });
  }
});

Deno.test("a delivered or HEAD-dropped streaming body does not abort context.signal", async (t) => {
  for (const method of ["GET", "HEAD"]) {
    await t.step(method, async () => {
      let signal: AbortSignal | undefined;
      const ended = Promise.withResolvers<void>();
      await using server = serveHttp((_request, context) => {
        signal = context.signal;
        let sent = 0;
        let timer: ReturnType<typeof setTimeout> | undefined;
        return new Response(
          new ReadableStream({
            // A chunk every 5 ms: still streaming when Deno drops it.
            pull: (controller) =>
              new Promise((resolve) => {
                timer = setTimeout(() => {
                  controller.enqueue(encoder.encode("tick\n"));
                  if (++sent === 3) {
                    controller.close();
                    ended.resolve();
                  }
                  resolve();
                }, 5);
              }),
            // Deno sends no body for HEAD: it cancels this one.
            cancel: () => {
              clearTimeout(timer);
              ended.resolve();
            },
          }),
        );
      });
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
        method,
      });
      assertEquals(
        await response.text(),
        method === "GET" ? "tick\n".repeat(3) : "",
      );
      await ended.promise;
      await until(() => server.inFlight === 0, "the request to end");
      assert(signal !== undefined);
      assertFalse(signal.aborted, String(signal.reason));
    });
  }
});
