import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { LineTooLongError } from "../errors.ts";
import { readJsonLines, writeJsonLines } from "./json_lines.ts";
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
        `the line starts with "{\\"message\\": \\"mmmmmmmmmmmmmmmmmmmmmmmmmmm…"`,
      );
      assertInstanceOf(error.cause, SyntaxError);
    });

    await t.step("a short bad line is quoted whole", async () => {
      await Deno.writeTextFile(path, "not json\n");
      await assertRejects(
        () => Array.fromAsync(readJsonLines(path)),
        SyntaxError,
        `the line starts with "not json"`,
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
        `"values" must be an iterable or an async iterable, received number 5`,
      );
    });
  },
});
