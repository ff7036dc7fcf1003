import {
  assertEquals,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { LineTooLongError } from "../errors.ts";
import { MAX_STDIN_LINE, readStdinLines } from "./io.ts";

Deno.test("readStdinLines() keeps URLs, skips blanks and comments", async () => {
  const stdin = ReadableStream.from(["a\r\n\n  # note\n", " b \nc"])
    .pipeThrough(new TextEncoderStream());
  assertEquals(
    await readStdinLines(stdin, new AbortController().signal),
    [{ text: "a", number: 1 }, { text: "b", number: 4 }, {
      text: "c",
      number: 5,
    }],
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

Deno.test("readStdinLines() refuses a line past its limit while it arrives", async () => {
  // Two URLs, then up to 10 MiB of one line in reads of 1,000 bytes.
  const encoder = new TextEncoder();
  const piece = encoder.encode("x".repeat(1_000));
  let pulled = 0;
  let cancelled = false;
  const stdin = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode("http://a/\nhttp://b/\n"));
    },
    pull(controller) {
      if (pulled >= 10 * 1024 * 1024) return controller.close();
      pulled += piece.length;
      controller.enqueue(piece);
    },
    cancel: () => {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const error = await assertRejects(
    () => readStdinLines(stdin, new AbortController().signal),
    LineTooLongError,
    `Cannot read line 3 from standard input: longer than ${MAX_STDIN_LINE} characters`,
  );
  assertEquals(error.lineNumber, 3);
  // Read only up to the limit, then let go.
  assertLess(pulled, MAX_STDIN_LINE + 10_000);
  assertEquals(cancelled, true);
});

Deno.test("readStdinLines() takes a line of the limit's length", async () => {
  const url = `http://a/${"x".repeat(MAX_STDIN_LINE - 9)}`;
  const stdin = ReadableStream.from([`${url}\r\n`]).pipeThrough(
    new TextEncoderStream(),
  );
  assertEquals(await readStdinLines(stdin, new AbortController().signal), [
    { text: url, number: 1 },
  ]);
});

Deno.test("readStdinLines() refuses input that is not UTF-8", async () => {
  const stdin = ReadableStream.from([
    new TextEncoder().encode("http://a/\n"),
    new Uint8Array([0x68, 0xff, 0x0a]),
  ]);
  const error = await readStdinLines(stdin, new AbortController().signal)
    .catch((error) => error);
  assertInstanceOf(error, Deno.errors.InvalidData);
  assertEquals(
    error.message,
    "Cannot read line 2 from standard input: it is not valid UTF-8",
  );
});
