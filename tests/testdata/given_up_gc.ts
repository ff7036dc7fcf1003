// Run by tests/gc_test.ts with --expose-gc: requests whose handler
// never settles, given up on by requestTimeout or because their client left,
// must not be kept alive by the server.
import { assertEquals } from "@std/assert";
import { createFetchHandler } from "../../server/http.ts";

const gc = (globalThis as unknown as { gc: () => void }).gc;

async function collected(refs: WeakRef<object>[]): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return refs.filter((ref) => ref.deref() === undefined).length;
}

Deno.test("a request given up on is not kept alive by its hung handler", async (t) => {
  await t.step("timed out", async () => {
    const refs: WeakRef<Request>[] = [];
    using app = createFetchHandler((request) => {
      refs.push(new WeakRef(request));
      return new Promise<Response>(() => {}); // never settles
    }, { requestTimeout: 20 });
    for (let i = 0; i < 50; i++) {
      const response = await app.fetch(new Request(`http://localhost/${i}`));
      assertEquals(response.status, 503);
      await response.body?.cancel();
    }
    assertEquals(await collected(refs), 50);
  });

  await t.step("client gone", async () => {
    const refs: WeakRef<Request>[] = [];
    using app = createFetchHandler((request, context) => {
      refs.push(new WeakRef(request));
      void context.signal; // watched: a client that leaves is seen
      return new Promise<Response>(() => {});
    });
    for (let i = 0; i < 50; i++) {
      const client = new AbortController();
      const answer = app.fetch(
        new Request(`http://localhost/${i}`, { signal: client.signal }),
      );
      client.abort();
      const response = await answer;
      assertEquals(response.status, 499);
      await response.body?.cancel();
    }
    assertEquals(await collected(refs), 50);
  });
});
