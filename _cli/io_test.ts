import { assertEquals, assertStrictEquals } from "@std/assert";
import { readStdinLines } from "./io.ts";

Deno.test("readStdinLines() keeps URLs, skips blanks and comments", async () => {
  const stdin = ReadableStream.from(["a\r\n\n  # note\n", " b \nc"])
    .pipeThrough(new TextEncoderStream());
  assertEquals(
    await readStdinLines(stdin, new AbortController().signal),
    ["a", "b", "c"],
  );
});

Deno.test("readStdinLines() stops on abort while the input has not ended", async () => {
  const cancelled = Promise.withResolvers<void>();
  const stdin = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("http://a/\n"));
    },
    cancel: () => cancelled.resolve(),
  });
  const controller = new AbortController();
  const lines = readStdinLines(stdin, controller.signal);
  const reason = new Error("Interrupted");
  controller.abort(reason);
  assertStrictEquals(await lines.catch((error) => error), reason);
  await cancelled.promise; // the input is let go too
});
