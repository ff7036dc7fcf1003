import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { LineTooLongError } from "../errors.ts";
import {
  readJsonLines,
  writeJsonLines,
  type WriteJsonLinesOptions,
} from "./json_lines.ts";
import { makeTempDir } from "./temp.ts";

const TMP: Deno.PermissionOptions = { read: ["/tmp"], write: ["/tmp"] };

function tempDir() {
  return makeTempDir({ dir: "/tmp", prefix: "aio-json-lines-" });
}

Deno.test({
  name: "readJsonLines() parses one value per line and skips blank lines",
  permissions: TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/data.jsonl`;
    await Deno.writeTextFile(
      path,
      '{"a":1}\r\n\n  \n[1,"two",null]\n"text"\n42\ntrue\n{"nested":{"x":[]}}',
    );
    assertEquals(await Array.fromAsync(readJsonLines(path)), [
      { a: 1 },
      [1, "two", null],
      "text",
      42,
      true,
      { nested: { x: [] } },
    ]);
  },
});

Deno.test({
  name: "readJsonLines() names the file, line and start of a bad line",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/bad.jsonl`;

    await t.step("after the good values before it", async () => {
      const long = `{"message": "${"m".repeat(100)}", oops}`;
      await Deno.writeTextFile(
        path,
        `{"ok":1}\n\n{"ok":2}\n${long}\n{"ok":3}\n`,
      );
      const seen: unknown[] = [];
      const error = await assertRejects(
        async () => {
          for await (const value of readJsonLines(path)) seen.push(value);
        },
        SyntaxError,
        `Cannot parse line 4 of "${path}" as JSON: `,
      );
      assertEquals(seen, [{ ok: 1 }, { ok: 2 }]);
      assertStringIncludes(
        error.message,
        `the line starts with: {"message": "mmmmmmmmmmmmmmmmmmmmmmmmmmm…`,
      );
      assertInstanceOf(error.cause, SyntaxError);
    });

    await t.step("a short bad line is quoted whole", async () => {
      await Deno.writeTextFile(path, "not json\n");
      await assertRejects(
        () => Array.fromAsync(readJsonLines(path)),
        SyntaxError,
        `the line starts with: not json`,
      );
    });

    await t.step("control characters but tab are escaped", async () => {
      await Deno.writeTextFile(path, "\u009b1m\u202e\u200bad\u00ad\n");
      await assertRejects(
        () => Array.fromAsync(readJsonLines(path)),
        SyntaxError,
        "the line starts with: \\u009b1m\\u202e\\u200bad\\u00ad",
      );
      // Cut before a pair, not in it.
      await Deno.writeTextFile(path, `${"x".repeat(39)}😀\n`);
      await assertRejects(
        () => Array.fromAsync(readJsonLines(path)),
        SyntaxError,
        `the line starts with: ${"x".repeat(39)}…`,
      );
      await Deno.writeTextFile(path, "\x1b[31m\tred\r\x7f\n");
      const error = await assertRejects(
        () => Array.fromAsync(readJsonLines(path)),
        SyntaxError,
      );
      assertStringIncludes(
        error.message,
        "the line starts with: \\u001b[31m\tred\\u000d\\u007f",
      );
    });

    await t.step("the line limit applies", async () => {
      await Deno.writeTextFile(path, `"${"x".repeat(50)}"\n`);
      await assertRejects(
        () => Array.fromAsync(readJsonLines(path, { maxLineLength: 20 })),
        LineTooLongError,
        "Cannot read line 1",
      );
    });

    await t.step("only JSON's white space makes a line blank", async () => {
      // JSON.parse accepts space, tab, \r and \n around a value, not U+00A0.
      await Deno.writeTextFile(path, "1\n \t\r\n\u00A0\n2\n");
      const seen: unknown[] = [];
      await assertRejects(
        async () => {
          for await (const value of readJsonLines(path)) seen.push(value);
        },
        SyntaxError,
        `Cannot parse line 3 of "${path}" as JSON: `,
      );
      assertEquals(seen, [1]);
    });

    await t.step("a missing file", async () => {
      await assertRejects(
        () => Array.fromAsync(readJsonLines(`${dir.path}/missing.jsonl`)),
        Deno.errors.NotFound,
        `Cannot read lines from "${dir.path}/missing.jsonl"`,
      );
    });
  },
});

Deno.test({
  name: "readJsonLines() closes the file when the loop ends early",
  permissions: TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/many.jsonl`;
    await writeJsonLines(
      path,
      Array.from({ length: 10_000 }, (_, id) => ({ id })),
    );
    // The resource sanitizer fails the test if the file stays open.
    for await (const value of readJsonLines<{ id: number }>(path)) {
      if (value.id === 3) break;
    }
    await using values = readJsonLines(path);
    assertEquals((await values.next()).value, { id: 0 });
  },
});

Deno.test({
  name: "writeJsonLines() writes one JSON value per line",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/out.jsonl`;

    await t.step("from an iterable, with line breaks escaped", async () => {
      await writeJsonLines(path, [{ text: "two\nlines" }, [1, 2], null]);
      assertEquals(
        await Deno.readTextFile(path),
        '{"text":"two\\nlines"}\n[1,2]\nnull\n',
      );
    });

    await t.step("from an async iterable, round trip", async () => {
      async function* events() {
        for (let i = 0; i < 50_000; i++) yield { i, even: i % 2 === 0 };
      }
      await writeJsonLines(path, events(), { fsync: false });
      let count = 0;
      for await (const value of readJsonLines<{ i: number }>(path)) {
        assertEquals(value.i, count++);
      }
      assertEquals(count, 50_000);
    });

    await t.step("a value that is not JSON leaves the old file", async () => {
      await writeJsonLines(path, [1]);
      const cases: [unknown, string][] = [
        [undefined, "value 2 cannot be written as JSON, received undefined"],
        [() => {}, "value 2 cannot be written as JSON, received a function"],
        [10n, "value 2 cannot be written as JSON: "],
        [
          // A toJSON that throws something other than an Error.
          {
            toJSON: () => {
              throw "not ready";
            },
          },
          `value 2 cannot be written as JSON: JSON.stringify threw "not ready"`,
        ],
      ];
      for (const [bad, message] of cases) {
        await assertRejects(
          () => writeJsonLines(path, [1, bad, 3]),
          TypeError,
          `Cannot write JSON lines to "${path}": ${message}`,
        );
      }
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      await assertRejects(
        () => writeJsonLines(path, [cycle]),
        TypeError,
        "value 1 cannot be written as JSON",
      );
      assertEquals(await Deno.readTextFile(path), "1\n");
      assertEquals(
        (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name),
        ["out.jsonl"],
      );
    });

    await t.step("bad arguments", async () => {
      await assertRejects(
        () => writeJsonLines(path, 5 as never),
        TypeError,
        `"values" must be an iterable or an async iterable, received 5`,
      );
      await assertRejects(
        () => writeJsonLines(path, [], { mode: 0o10000 }),
        RangeError,
        `Cannot write JSON lines to "${path}": "mode" must be an integer between 0 and 0o7777, received 0o10000`,
      );
      await assertRejects(
        () => writeJsonLines(path, [], { atomic: "yes" as never }),
        TypeError,
        `Cannot write JSON lines to "${path}": "atomic" must be a boolean, received "yes"`,
      );
      await assertRejects(
        () => writeJsonLines(path, [], null as never),
        TypeError,
        `Cannot write JSON lines to "${path}": "options" must be an object, received null`,
      );
      assertThrows(
        () => readJsonLines(path, null as never),
        TypeError,
        `Cannot read JSON lines from "${path}": "options" must be an object, received null`,
      );
    });
  },
});

Deno.test({
  name: "writeJsonLines() releases values it cannot write",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const cases: [string, string, WriteJsonLinesOptions, new () => Error][] = [
      [
        "a missing directory",
        `${dir.path}/no/out.jsonl`,
        {},
        Deno.errors.NotFound,
      ],
      ["a bad option", `${dir.path}/out.jsonl`, { mode: -1 }, RangeError],
    ];
    for (const [label, path, options, ErrorClass] of cases) {
      for (const atomic of [true, false]) {
        await t.step(`${label}, atomic: ${atomic}`, async () => {
          const cancelled = Promise.withResolvers<unknown>();
          const values = new ReadableStream<unknown>({
            cancel: cancelled.resolve,
          });
          const error = await assertRejects(
            () => writeJsonLines(path, values, { ...options, atomic }),
            ErrorClass,
          );
          assertStrictEquals(await cancelled.promise, error);
        });
      }
      await t.step(`${label}, an iterator is closed`, async () => {
        let closed = false;
        const values: AsyncIterableIterator<unknown> = {
          next: () => Promise.resolve({ done: false, value: 1 }),
          return: () => {
            closed = true;
            return Promise.resolve({ done: true, value: undefined });
          },
          [Symbol.asyncIterator]: () => values,
        };
        await assertRejects(() => writeJsonLines(path, values, options));
        assertEquals(closed, true);
      });
    }
  },
});
