import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
} from "@std/assert";
import { TextLineStream } from "@std/streams/text-line-stream";
import { LineTooLongError } from "./errors.ts";
import { LineDecoder } from "./_line_decoder.ts";

const encoder = new TextEncoder();

/** Runs byte chunks through a decoder and a TextLineStream. */
async function decode(chunks: (string | number[])[], maxLineLength = 10) {
  const decoder = new LineDecoder(maxLineLength, "from test");
  const input = ReadableStream.from(
    chunks.map((chunk) =>
      typeof chunk === "string" ? encoder.encode(chunk) : new Uint8Array(chunk)
    ),
  );
  const lines = await Array.fromAsync(
    input.pipeThrough(decoder).pipeThrough(new TextLineStream()),
  );
  return { lines, error: decoder.error, count: decoder.lines };
}

Deno.test("LineDecoder passes complete lines, however the bytes are cut", {
  permissions: "none",
}, async (t) => {
  await t.step(
    "lines across chunks, with \\r\\n and a final line",
    async () => {
      const { lines, error } = await decode([
        "ab",
        "c\nde\r",
        "\nf\n",
        "",
        "last",
      ]);
      assertEquals(lines, ["abc", "de", "f", "last"]);
      assertEquals(error, undefined);
    },
  );

  await t.step("multi-byte characters cut between chunks", async () => {
    // "é" is C3 A9, "€" is E2 82 AC, "😀" is F0 9F 98 80.
    const { lines, error } = await decode([
      [0xc3],
      [0xa9, 0x0a, 0xe2],
      [0x82],
      [0xac, 0xf0, 0x9f, 0x98],
      [0x80, 0x0a],
    ]);
    assertEquals(lines, ["é", "€😀"]);
    assertEquals(error, undefined);
  });

  await t.step("a line of exactly maxLineLength, with \\r\\n", async () => {
    const { lines, error } = await decode(["0123456789\r", "\n0123456789"]);
    assertEquals(lines, ["0123456789", "0123456789"]);
    assertEquals(error, undefined);
  });
});

Deno.test(
  "LineDecoder stops at a line that is too long, keeping the lines before",
  { permissions: "none" },
  async (t) => {
    await t.step("a long line inside one chunk", async () => {
      const { lines, error } = await decode(["ok\n01234567890\nnext\n"]);
      assertEquals(lines, ["ok"]);
      assertInstanceOf(error, LineTooLongError);
      assertEquals(error.lineNumber, 2);
      assertEquals(error.maxLineLength, 10);
      assertEquals(
        error.message,
        "Cannot read line 2 from test: longer than 10 characters",
      );
    });

    await t.step("a last line whose final \\r makes it too long", async () => {
      // At the end of input the "\r" is no line break: it counts.
      const { lines, error } = await decode(["ok\n0123456789\r"]);
      assertEquals(lines, ["ok"]);
      assertInstanceOf(error, LineTooLongError);
      assertEquals(error.lineNumber, 2);
    });

    await t.step("a long line before its newline arrives", async () => {
      // Each chunk is short; the partial line is what grows.
      const { lines, error } = await decode([
        "ok\n0123",
        "4567",
        "890",
        "never\n",
      ]);
      assertEquals(lines, ["ok"]);
      assertInstanceOf(error, LineTooLongError);
      assertEquals(error.lineNumber, 2);
    });
  },
);

Deno.test("LineDecoder stops at invalid UTF-8, keeping the lines before", {
  permissions: "none",
}, async (t) => {
  await t.step("a bad byte in a later line of the same chunk", async () => {
    const { lines, error, count } = await decode([[
      0x61,
      0x0a,
      0x62,
      0x0a,
      0x63,
      0xff,
      0x0a,
      0x64,
      0x0a,
    ]]);
    assertEquals(lines, ["a", "b"]);
    assertEquals(count, 2);
    assertInstanceOf(error, Deno.errors.InvalidData);
    assertEquals(
      error.message,
      "Cannot read line 3 from test: it is not valid UTF-8",
    );
  });

  await t.step(
    "a line started in an earlier chunk is not emitted",
    async () => {
      const { lines, error } = await decode(["a\nhal", [
        0x66,
        0xc3,
        0x28,
        0x0a,
      ]]);
      assertEquals(lines, ["a"]);
      assertStringIncludes(String(error), "line 2");
    },
  );

  await t.step("a truncated character at the end", async () => {
    const { lines, error } = await decode(["a\n", [0x62, 0xe2, 0x82]]);
    assertEquals(lines, ["a"]);
    assertStringIncludes(
      String(error),
      "line 2 from test: it is not valid UTF-8",
    );
  });
});

Deno.test({
  name: "LineDecoder takes linear time for a long line that trickles in",
  permissions: "none",
  async fn() {
    // 200,000 one-byte reads of one line, then a multi-byte character cut
    // into single bytes: about 0.4 s here, 50 s when each read copied the
    // line so far (a slow client could hold a core that way).
    const reads = 200_000;
    const chunks: number[][] = Array.from({ length: reads }, () => [0x61]);
    chunks.push([0xc3], [0xa9], [0x0d], [0x0a]);
    const started = performance.now();
    const { lines, error } = await decode(chunks, 1 << 20);
    const ms = performance.now() - started;
    assertEquals(error, undefined);
    assertEquals(lines, [`${"a".repeat(reads)}é`]);
    assert(ms < 15_000, `took ${ms.toFixed(0)} ms`);
  },
});

Deno.test("LineDecoder tells when part of a line is held back", {
  permissions: "none",
}, async () => {
  const told: boolean[] = [];
  const decoder = new LineDecoder(100, "from test", (pending) => {
    told.push(pending);
  });
  const chunks = [
    "whole\n", // nothing held
    "ab", // "ab" held
    "c", // still held: no call
    "\nd\n", // done
    [0xc3], // half a character held
    [0xa9, 0x0a], // done
  ].map((chunk) =>
    typeof chunk === "string" ? encoder.encode(chunk) : new Uint8Array(chunk)
  );
  const lines = await Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(decoder).pipeThrough(
      new TextLineStream(),
    ),
  );
  assertEquals(lines, ["whole", "abc", "d", "é"]);
  assertEquals(told, [true, false, true, false]);
  assertEquals(decoder.pending, false);
});
