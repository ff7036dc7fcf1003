import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLess,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { LineTooLongError } from "../errors.ts";
import { denoCommand } from "../tests/_deno.ts";
import {
  readLines,
  type ReadLinesOptions,
  writeLines,
  type WriteLinesOptions,
} from "./lines.ts";
import { makeTempDir } from "./temp.ts";
import { CHILD_IN_TMP } from "./_test_util.ts";

const TMP: Deno.PermissionOptions = { read: ["/tmp"], write: ["/tmp"] };

function tempDir() {
  return makeTempDir({ dir: "/tmp", prefix: "aio-lines-" });
}

async function collect(
  iterable: AsyncIterable<string>,
  seen: string[] = [],
): Promise<string[]> {
  for await (const line of iterable) seen.push(line);
  return seen;
}

Deno.test({
  name: "readLines() splits on \\n and \\r\\n",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/text.txt`;
    const cases: [string, string, string[]][] = [
      ["mixed breaks", "a\nb\r\nc", ["a", "b", "c"]],
      ["a final break adds no empty line", "a\nb\n", ["a", "b"]],
      ["empty lines are kept", "\n\na\n\n", ["", "", "a", ""]],
      ["an empty file has no lines", "", []],
      ["a lone \\r is part of the line", "a\rb\n", ["a\rb"]],
      ["a byte order mark is dropped", "\uFEFFa\nb", ["a", "b"]],
      ["non-ASCII text", "é€\n😀 ok\n", ["é€", "😀 ok"]],
      ["a U+FFFD in the file is kept", "a\uFFFDb\n", ["a\uFFFDb"]],
    ];
    for (const [label, text, lines] of cases) {
      await t.step(label, async () => {
        await Deno.writeTextFile(path, text);
        assertEquals(await collect(readLines(path)), lines);
      });
    }
    await t.step("a file URL", async () => {
      await Deno.writeTextFile(path, "x\n");
      assertEquals(await collect(readLines(new URL(`file://${path}`))), ["x"]);
      // A % that starts no escape stands for itself, as in Deno.readFile.
      await Deno.writeTextFile(`${dir.path}/a%zz`, "y\n");
      const url = new URL(`file://${dir.path}/a%zz`);
      assertEquals(await collect(readLines(url)), ["y"]);
    });
  },
});

Deno.test({
  name: "readLines() keeps lines and characters whole across chunk boundaries",
  permissions: TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/mixed.txt`;
    // Line lengths from 0 to 700,000 characters, longer than the read buffer,
    // of 1-, 2-, 3- and 4-byte characters, so that chunk boundaries fall
    // inside lines and inside characters.
    const units = ["a", "é", "€", "😀"];
    const lines: string[] = [];
    let size = 1;
    for (let i = 0; i < 60; i++) {
      lines.push(units[i % 4]!.repeat(size % 175_000) + `#${i}`);
      size = (size * 7 + 3) % 175_001;
    }
    await Deno.writeTextFile(path, lines.join("\r\n"));
    assertEquals(await collect(readLines(path)), lines);
  },
});

Deno.test({
  name: "readLines() stops at a line longer than maxLineLength",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/long.txt`;

    await t.step("after yielding every line before it", async () => {
      const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
      lines[700] = "x".repeat(101);
      await Deno.writeTextFile(path, lines.join("\n") + "\n");
      const seen: string[] = [];
      const error = await assertRejects(
        () => collect(readLines(path, { maxLineLength: 100 }), seen),
        LineTooLongError,
        `Cannot read line 701 of "${path}": longer than 100 characters`,
      );
      assertEquals(seen, lines.slice(0, 700));
      assertEquals(error.lineNumber, 701);
      assertEquals(error.path, path);
      assertEquals(error.maxLineLength, 100);
    });

    await t.step("a line longer than the read buffer", async () => {
      await Deno.writeTextFile(path, `a\nb\n${"y".repeat(2_000_000)}\nc\n`);
      const seen: string[] = [];
      const error = await assertRejects(
        () => collect(readLines(path, { maxLineLength: 1_000_000 }), seen),
        LineTooLongError,
      );
      assertEquals(seen, ["a", "b"]);
      assertEquals(error.lineNumber, 3);
      assertEquals(
        await collect(readLines(path, { maxLineLength: 2_000_000 })),
        ["a", "b", "y".repeat(2_000_000), "c"],
      );
    });

    await t.step("a last line without a line break", async () => {
      await Deno.writeTextFile(path, "ok\n" + "z".repeat(11));
      await assertRejects(
        () => collect(readLines(path, { maxLineLength: 10 })),
        LineTooLongError,
        "Cannot read line 2",
      );
    });

    await t.step(
      "the limit counts characters, not bytes or the \\r",
      async () => {
        await Deno.writeTextFile(path, "éééé\r\n€€€€\n😀😀\r\nabcd");
        assertEquals(await collect(readLines(path, { maxLineLength: 4 })), [
          "éééé",
          "€€€€",
          "😀😀",
          "abcd",
        ]);
        await Deno.writeTextFile(path, "abcd\r\nabcde\r\n");
        await assertRejects(
          () => collect(readLines(path, { maxLineLength: 4 })),
          LineTooLongError,
          "Cannot read line 2",
        );
      },
    );

    await t.step("a byte order mark does not count", async () => {
      // Also while the line is still partial (no line break at the end).
      for (const text of ["\uFEFFabc", "\uFEFFabc\n", "\uFEFFabc\r\n"]) {
        await Deno.writeTextFile(path, text);
        assertEquals(await collect(readLines(path, { maxLineLength: 3 })), [
          "abc",
        ]);
      }
      await Deno.writeTextFile(path, "\uFEFFabcd");
      await assertRejects(
        () => collect(readLines(path, { maxLineLength: 3 })),
        LineTooLongError,
        "Cannot read line 1",
      );
    });

    await t.step(
      "while the bytes arrive, not after reading them all",
      async () => {
        // A sparse file of 64 GiB without a line break: reading it all (or
        // holding it) would never finish.
        using file = await Deno.open(path, { write: true, truncate: true });
        await file.truncate(64 * 1024 ** 3);
        const error = await assertRejects(
          () => collect(readLines(path)),
          LineTooLongError,
        );
        assertEquals(error.lineNumber, 1);
        await file.truncate(0);
      },
    );
  },
});

Deno.test({
  name: "readLines() rejects invalid UTF-8 with the file and line",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/latin1.txt`;
    const bytes = (...parts: (string | number[])[]) =>
      new Uint8Array(
        parts.flatMap((part) =>
          typeof part === "string" ? [...new TextEncoder().encode(part)] : part
        ),
      );
    const cases: [string, Uint8Array, string[], number][] = [
      [
        "a bad byte",
        bytes("ok\nfine\ncaf", [0xe9], "\nnext\n"),
        ["ok", "fine"],
        3,
      ],
      [
        "a truncated sequence at the end",
        bytes("ok\n", [0xe2, 0x82]),
        ["ok"],
        2,
      ],
      ["an overlong encoding on line 1", bytes([0xc0, 0xaf], "\n"), [], 1],
    ];
    for (const [label, data, good, lineNumber] of cases) {
      await t.step(label, async () => {
        await Deno.writeFile(path, data);
        const seen: string[] = [];
        const error = await assertRejects(
          () => collect(readLines(path), seen),
          Deno.errors.InvalidData,
          `Cannot read line ${lineNumber} of "${path}": it is not valid UTF-8`,
        );
        assertEquals(seen, good);
        assertInstanceOf(error.cause, TypeError);
      });
    }
  },
});

Deno.test({
  name: "readLines() closes the file when the loop ends early",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/many.txt`;
    await writeLines(path, Array.from({ length: 100_000 }, (_, i) => `${i}`));

    // The resource sanitizer fails these steps if the file stays open.
    await t.step("break", async () => {
      let count = 0;
      for await (const _ of readLines(path)) {
        if (++count === 10) break;
      }
      assertEquals(count, 10);
    });
    await t.step("throw in the loop body", async () => {
      await assertRejects(
        async () => {
          for await (const line of readLines(path)) {
            if (line === "5") throw new Error("stop");
          }
        },
        Error,
        "stop",
      );
    });
    await t.step("await using with next()", async () => {
      await using lines = readLines(path);
      assertEquals((await lines.next()).value, "0");
      assertEquals((await lines.next()).value, "1");
    });
    await t.step("return() before the first next()", async () => {
      const lines = readLines(path);
      assertEquals(await lines.return!(), { done: true, value: undefined });
      assertEquals(await lines.next(), { done: true, value: undefined });
    });
    await t.step("return() while a next() is pending", async () => {
      const lines = readLines(path);
      const pending = lines.next();
      assertEquals(await lines.return!(), { done: true, value: undefined });
      assertEquals(await pending, { done: true, value: undefined });
      assertEquals(await lines.next(), { done: true, value: undefined });
    });
    await t.step("never iterated: nothing is opened", () => {
      readLines(`${dir.path}/missing.txt`);
    });
  },
});

Deno.test({
  name: "readLines() stops on abort",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/many.txt`;
    await writeLines(path, Array.from({ length: 100_000 }, (_, i) => `${i}`));

    await t.step("in the middle of the file", async () => {
      const controller = new AbortController();
      let count = 0;
      await assertRejects(
        async () => {
          for await (
            const _ of readLines(path, { signal: controller.signal })
          ) {
            if (++count === 50_000) controller.abort(new Error("enough"));
          }
        },
        Error,
        "enough",
      );
      assertEquals(count, 50_000);
    });
    await t.step("before the first line", async () => {
      const lines = readLines(path, { signal: AbortSignal.abort("early") });
      assertEquals(await lines.next().catch((reason) => reason), "early");
      assertEquals(await lines.next(), { done: true, value: undefined });
    });
  },
});

Deno.test({
  name:
    "readLines() rejects with the abort's reason, never ends as done, when reads wait for lines already read",
  permissions: TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/many.txt`;
    // 13,107 lines per 64 KiB read.
    await Deno.writeTextFile(path, "line\n".repeat(100_000));
    const controller = new AbortController();
    const lines = readLines(path, { signal: controller.signal });
    for (let i = 0; i < 13_100; i++) await lines.next();
    // Time for the file's next chunk to be read and counted, while its
    // lines have not reached the line splitter (nothing reads them yet).
    await delay(50);
    const pending = Array.from({ length: 15 }, () => lines.next());
    const reason = new Error("stop");
    controller.abort(reason);
    // Each pending read gets a line already read or the reason, and the
    // reason comes before the end: an end of file would silently cut the
    // data short.
    const outcomes = await Promise.allSettled(pending);
    outcomes.push(await Promise.allSettled([lines.next()]).then(([o]) => o!));
    const rejected = outcomes.findIndex((o) => o.status === "rejected");
    assert(rejected >= 0, "the reads ended without the abort's reason");
    for (const [i, outcome] of outcomes.entries()) {
      if (i < rejected) {
        assertEquals(outcome, {
          status: "fulfilled",
          value: { done: false, value: "line" },
        });
      } else if (i === rejected) {
        assertStrictEquals((outcome as PromiseRejectedResult).reason, reason);
      } else {
        assertEquals(outcome, {
          status: "fulfilled",
          value: { done: true, value: undefined },
        });
      }
    }
  },
});

/** Makes a named pipe at `path` and returns `path`. */
/** Makes a named pipe at `path` and returns `path`. */
async function makeFifo(path: string): Promise<string> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert(made.success, "mkfifo failed");
  return path;
}

Deno.test({
  name:
    "readLines() rejects at once on abort while its open is stalled (a FIFO without a writer), and closes the file once it opens",
  ignore: Deno.build.os !== "linux",
  permissions: {
    ...TMP,
    run: ["mkfifo"],
  },
  async fn() {
    await using dir = await tempDir();
    const fifo = await makeFifo(`${dir.path}/fifo`);
    const controller = new AbortController();
    const lines = readLines(fifo, { signal: controller.signal });
    const first = lines.next(); // opening: blocked until a writer comes
    const reason = new Error("stop waiting");
    controller.abort(reason);
    assertStrictEquals(await first.catch((error) => error), reason);
    assertEquals(await lines.next(), { done: true, value: undefined });
    await lines.return!(); // does not wait for the open either
    // A writer completes the stalled open; the file is then closed unread,
    // which the writer sees as a broken pipe.
    using writer = await Deno.open(fifo, { write: true });
    for (let i = 0;; i++) {
      try {
        await writer.write(new Uint8Array(1));
      } catch (error) {
        assertInstanceOf(error, Deno.errors.BrokenPipe);
        break;
      }
      assert(i < 200, "the FIFO is still open 2 s after its open completed");
      await delay(10);
    }
  },
});

Deno.test({
  name:
    "writeLines() in place rejects at once on abort while its open is stalled (a FIFO without a reader), and closes the file once it opens",
  ignore: Deno.build.os !== "linux",
  permissions: { ...TMP, run: ["mkfifo"] },
  async fn() {
    await using dir = await tempDir();
    const fifo = await makeFifo(`${dir.path}/fifo`);
    const controller = new AbortController();
    const written = writeLines(fifo, ["never sent"], {
      atomic: false,
      signal: controller.signal,
    });
    const reason = new Error("stop waiting");
    controller.abort(reason);
    assertStrictEquals(await written.catch((error) => error), reason);
    // A reader completes the stalled open; the file is then closed unwritten,
    // which the reader sees as the end of input.
    using reader = await Deno.open(fifo, { read: true });
    const read = reader.read(new Uint8Array(16));
    const timer = setTimeout(() => reader.close(), 2_000);
    assertEquals(await read.finally(() => clearTimeout(timer)), null);
  },
});

Deno.test({
  name:
    "writeLines() in place writes into a FIFO or a device, which have nothing to flush",
  ignore: Deno.build.os !== "linux",
  permissions: {
    read: ["/tmp"],
    write: ["/tmp", "/dev/null"],
    run: ["mkfifo"],
  },
  async fn() {
    await using dir = await tempDir();
    const fifo = await makeFifo(`${dir.path}/fifo`);
    const reading = Deno.open(fifo, { read: true }).then(async (reader) => {
      return await new Response(reader.readable).text();
    });
    // fsync: true by default; fdatasync of a pipe is an EINVAL.
    const written = writeLines(fifo, ["a", "b"], { atomic: false, mode: 0o600 })
      .catch(async (error) => {
        // Failed before opening: the reader's open would wait forever.
        // Read and write: never blocks, even with the reader gone.
        (await Deno.open(fifo, { read: true, write: true })).close();
        throw error;
      });
    await written;
    assertEquals(await reading, "a\nb\n");
    const info = await Deno.stat(fifo);
    assert(info.isFifo);
    assertEquals(info.mode! & 0o777, 0o600);
    await writeLines("/dev/null", ["gone"], { atomic: false });
  },
});

Deno.test({
  name:
    "writeLines() in place names the path when the OS refuses without a Deno error class (a socket file)",
  ignore: Deno.build.os !== "linux",
  permissions: { ...TMP, run: ["deno"] },
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/sock`;
    // A child listens on it until its standard input closes.
    const script = `Deno.listen({ transport: "unix", path: ${
      JSON.stringify(path)
    } });
      console.log("ready");
      await Deno.stdin.readable.pipeTo(new WritableStream());`;
    const child = denoCommand("eval", [script], {
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const ready = child.stdout.getReader();
    await ready.read();
    try {
      // Deno's ENXIO is a plain Error without a code.
      const error = await assertRejects(
        () => writeLines(path, ["a"], { atomic: false }),
        Error,
        `Cannot write lines to "${path}": no such device or address`,
      );
      assertInstanceOf(error.cause, Error);
    } finally {
      await child.stdin.close();
      await ready.cancel();
      await child.status;
    }
  },
});

Deno.test({
  name: "readLines() names the file in file-system errors",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    await t.step("a missing file", async () => {
      const error = await assertRejects(
        () => collect(readLines(`${dir.path}/missing.txt`)),
        Deno.errors.NotFound,
        `Cannot read lines from "${dir.path}/missing.txt": no such file or directory`,
      );
      assertInstanceOf(error.cause, Deno.errors.NotFound);
    });
    await t.step("a directory", async () => {
      await assertRejects(
        () => collect(readLines(dir.path)),
        Deno.errors.IsADirectory,
        `Cannot read lines from "${dir.path}": it is a directory`,
      );
    });
  },
});

Deno.test({
  name: "readLines() reports a missing --allow-read",
  permissions: { read: false },
  async fn() {
    await assertRejects(
      () => collect(readLines("/tmp/aio-no-permission.txt")),
      Deno.errors.NotCapable,
      `Cannot read lines from "/tmp/aio-no-permission.txt": requires read access`,
    );
  },
});

Deno.test({
  name: "readLines() rejects bad options when called",
  permissions: {},
  fn() {
    assertThrows(
      () => readLines("x", { maxLineLength: 0 }),
      RangeError,
      `Cannot read lines from "x": "maxLineLength" must be a positive integer or Infinity, received 0`,
    );
    assertThrows(
      () => readLines("x", { maxLineLength: 2.5 }),
      RangeError,
      `"maxLineLength" must be a positive integer or Infinity, received 2.5`,
    );
    assertThrows(
      () => readLines("x", { maxLineLength: "80" as never }),
      TypeError,
      `"maxLineLength" must be a positive integer or Infinity, received "80"`,
    );
    assertThrows(
      () => readLines("x", { signal: "no" as never }),
      TypeError,
      `"signal" must be an AbortSignal, received "no"`,
    );
    assertThrows(() => readLines(42 as never), TypeError, `"path" must be`);
    assertThrows(
      () => readLines("x", null as never),
      TypeError,
      `Cannot read lines from "x": "options" must be an object, received null`,
    );
  },
});

Deno.test({
  name: "readLines() streams a file over 100 MB in flat memory",
  // The offline @std stand-ins are found by reading their directory.
  permissions: CHILD_IN_TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/big.txt`;
    // 1 MiB of lines of 15 to 135 characters, written 110 times.
    const block: string[] = [];
    let chars = 0;
    for (let i = 0; chars < 1024 * 1024; i++) {
      const line = `${i} ${"abcdefghij".repeat(1 + (i % 13))}`;
      block.push(line);
      chars += line.length + 1;
    }
    const blockText = block.join("\n") + "\n";
    const bytes = new TextEncoder().encode(blockText);
    const copies = 110;
    await Deno.writeFile(path, new Uint8Array(0));
    using file = await Deno.open(path, { append: true });
    for (let i = 0; i < copies; i++) await file.write(bytes);
    assert((await file.stat()).size > 100 * 1024 * 1024);

    const { success, stdout, stderr } = await denoCommand("run", [
      `--allow-read=${path}`,
      "fs/testdata/read_lines_memory.ts",
      path,
    ], { stdout: "piped", stderr: "piped" }).output();
    assert(success, new TextDecoder().decode(stderr));
    const report = JSON.parse(new TextDecoder().decode(stdout));
    assertEquals(report.lines, block.length * copies);
    assertEquals(report.chars, (blockText.length - block.length) * copies);
    // Holding the file would take over 100 MiB; streaming takes a few
    // buffers and whatever garbage the collector has not reclaimed yet.
    const growth = (report.peak - report.before) / 1024 ** 2;
    assertLess(growth, 48, `resident memory grew by ${growth.toFixed(1)} MiB`);
  },
});

Deno.test({
  name: "writeLines() writes lines from iterables and async iterables",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/out.txt`;
    await t.step("an array", async () => {
      await writeLines(path, ["a", "", "é"]);
      assertEquals(await Deno.readTextFile(path), "a\n\né\n");
    });
    await t.step("no lines: an empty file", async () => {
      await writeLines(path, []);
      assertEquals(await Deno.readTextFile(path), "");
    });
    await t.step("an async generator of many lines, batched", async () => {
      async function* numbers() {
        for (let i = 0; i < 200_000; i++) yield `n${i}`;
      }
      await writeLines(path, numbers(), { fsync: false });
      const lines = await collect(readLines(path));
      assertEquals(lines.length, 200_000);
      assertEquals(lines[199_999], "n199999");
    });
    await t.step("mode", async () => {
      await writeLines(path, ["x"], { mode: 0o600 });
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    });
  },
});

Deno.test({
  name: "writeLines() is atomic unless told otherwise",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/out.txt`;
    const names = async () =>
      (await Array.fromAsync(Deno.readDir(dir.path))).map((entry) =>
        entry.name
      );

    await t.step(
      "atomic: a new file, and the old one stays on errors",
      async () => {
        await Deno.writeTextFile(path, "old\n");
        const before = (await Deno.stat(path)).ino;
        await writeLines(path, ["new"]);
        assertNotEquals((await Deno.stat(path)).ino, before);
        await assertRejects(
          () => writeLines(path, ["fine", "two\nlines"]),
          TypeError,
          `Cannot write lines to "${path}": line 2 contains a line break`,
        );
        await assertRejects(
          () => writeLines(path, ["fine", 7 as never]),
          TypeError,
          `line 2 must be a string, received 7`,
        );
        await assertRejects(
          () => writeLines(path, ["ends with\r"]),
          TypeError,
          "line 1 contains a line break",
        );
        assertEquals(await Deno.readTextFile(path), "new\n");
        assertEquals(await names(), ["out.txt"]);
      },
    );

    await t.step("atomic: false writes in place", async () => {
      const before = (await Deno.stat(path)).ino;
      await writeLines(path, ["in", "place"], { atomic: false });
      assertEquals((await Deno.stat(path)).ino, before);
      assertEquals(await Deno.readTextFile(path), "in\nplace\n");
      await writeLines(path, ["x"], { atomic: false, mode: 0o640 });
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o640);
    });

    await t.step("abort", async () => {
      const controller = new AbortController();
      async function* slow() {
        yield "first";
        controller.abort(new Error("cancelled"));
        yield "second";
      }
      for (const atomic of [true, false]) {
        await assertRejects(
          () => writeLines(path, slow(), { atomic, signal: controller.signal }),
          Error,
          "cancelled",
        );
      }
    });

    await t.step("errors name the path", async () => {
      for (const atomic of [true, false]) {
        const error = await assertRejects(
          () => writeLines(`${dir.path}/no/such.txt`, ["x"], { atomic }),
          Deno.errors.NotFound,
          `the directory "${dir.path}/no" does not exist`,
        );
        assertStringIncludes(error.message, `"${dir.path}/no/such.txt"`);
      }
    });

    await t.step("bad arguments", async () => {
      await assertRejects(
        () => writeLines(path, "abc" as never),
        TypeError,
        `"lines" must be an iterable or an async iterable, received "abc"`,
      );
      await assertRejects(
        () => writeLines(path, [], { atomic: 1 as never }),
        TypeError,
        `"atomic" must be a boolean, received 1`,
      );
      // The same message whether the write is atomic or not.
      for (const atomic of [false, true]) {
        await assertRejects(
          () => writeLines(path, [], { atomic, mode: -1 }),
          RangeError,
          `Cannot write lines to "${path}": "mode" must be an integer between 0 and 0o7777, received -1`,
        );
        await assertRejects(
          () => writeLines(path, [], { atomic, fsync: "no" as never }),
          TypeError,
          `Cannot write lines to "${path}": "fsync" must be a boolean, received "no"`,
        );
      }
      await assertRejects(
        () => writeLines(path, [], null as never),
        TypeError,
        `Cannot write lines to "${path}": "options" must be an object, received null`,
      );
    });
  },
});

Deno.test({
  name:
    "readLines() finds a partial line of stray UTF-8 continuation bytes invalid before its end arrives",
  ignore: Deno.build.os !== "linux",
  permissions: { ...TMP, run: ["mkfifo"] },
  async fn() {
    await using dir = await tempDir();
    const fifo = await makeFifo(`${dir.path}/fifo`);
    // Bytes that count as no character, and no line break: were they kept
    // until the line ends, a file of them would be held whole.
    const reading = Array.fromAsync(readLines(fifo, { maxLineLength: 10 }));
    let writerOpen = true;
    // Read when reading settles, before the writer learns of it.
    const settledWhileOpen = reading.then(() => writerOpen, () => writerOpen);
    const bound = Promise.withResolvers<void>();
    const timer = setTimeout(bound.resolve, 10_000);
    const writing = (async () => {
      using writer = await Deno.open(fifo, { write: true });
      try {
        for (let i = 0; i < 8; i++) {
          await writer.write(new Uint8Array(16 * 1024).fill(0x80));
        }
        await Promise.race([bound.promise, reading.catch(() => {})]);
      } catch (error) {
        // The reader gave up and closed the pipe.
        assertInstanceOf(error, Deno.errors.BrokenPipe);
      } finally {
        writerOpen = false;
      }
    })();
    const error = await assertRejects(() => reading, Deno.errors.InvalidData);
    clearTimeout(timer);
    bound.resolve();
    await writing;
    assert(
      await settledWhileOpen,
      "the line was decoded only once the file ended",
    );
    assertEquals(
      error.message,
      `Cannot read line 1 of "${fifo}": it is not valid UTF-8`,
    );
  },
});

Deno.test({
  name: "readLines() stays done after its end, even if its signal aborts later",
  permissions: TMP,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/two.txt`;
    await Deno.writeTextFile(path, "a\nb\n");
    const controller = new AbortController();
    const lines = readLines(path, { signal: controller.signal });
    assertEquals(
      await Array.fromAsync({ [Symbol.asyncIterator]: () => lines }),
      [
        "a",
        "b",
      ],
    );
    controller.abort(new Error("too late"));
    assertEquals(await lines.next(), { done: true, value: undefined });
  },
});

Deno.test({
  name: "readLines() throws an error once, to the first pending next()",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/long.txt`;
    await Deno.writeTextFile(path, "a\n" + "x".repeat(200) + "\nb\n");
    const cases: [string, ReadLinesOptions][] = [
      ["a line too long", { maxLineLength: 100 }],
      ["an abort", { signal: AbortSignal.abort(new Error("stop")) }],
    ];
    for (const [label, options] of cases) {
      await t.step(label, async () => {
        const lines = readLines(path, options);
        // Like an async generator's: after the error the iterator is done.
        const results = await Promise.allSettled(
          Array.from({ length: 4 }, () => lines.next()),
        );
        const statuses = results.map((result) => result.status);
        assertEquals(statuses.filter((s) => s === "rejected").length, 1);
        assertEquals(results.at(-1), {
          status: "fulfilled",
          value: { done: true, value: undefined },
        });
        assertEquals(await lines.next(), { done: true, value: undefined });
      });
    }
  },
});

Deno.test({
  name: "writeLines() lets what the lines' source throws through unchanged",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const path = `${dir.path}/copy.txt`;
    for (const atomic of [true, false]) {
      await t.step(
        `the lines of a missing file, atomic: ${atomic}`,
        async () => {
          await assertRejects(
            () =>
              writeLines(path, readLines(`${dir.path}/missing`), { atomic }),
            Deno.errors.NotFound,
            `Cannot read lines from "${dir.path}/missing": no such file or directory`,
          );
        },
      );
      await t.step(`a Deno error, atomic: ${atomic}`, async () => {
        const cause = new Deno.errors.ConnectionReset("peer went away");
        async function* lines() {
          yield "partial";
          throw cause;
        }
        const error = await assertRejects(() =>
          writeLines(path, lines(), { atomic })
        );
        assertStrictEquals(error, cause);
      });
      await t.step(`the signal's reason, atomic: ${atomic}`, async () => {
        const reason = new Deno.errors.TimedOut("too slow");
        const controller = new AbortController();
        function* lines() {
          yield "first";
          controller.abort(reason);
          yield "second";
        }
        const error = await assertRejects(() =>
          writeLines(path, lines(), { atomic, signal: controller.signal })
        );
        assertStrictEquals(error, reason);
      });
    }
  },
});

Deno.test({
  name: "writeLines() releases lines it cannot write",
  permissions: TMP,
  async fn(t) {
    await using dir = await tempDir();
    const cases: [string, string, WriteLinesOptions, new () => Error][] = [
      [
        "a missing directory",
        `${dir.path}/no/out.txt`,
        {},
        Deno.errors.NotFound,
      ],
      ["a bad option", `${dir.path}/out.txt`, { fsync: 1 as never }, TypeError],
    ];
    for (const [label, path, options, ErrorClass] of cases) {
      for (const atomic of [true, false]) {
        await t.step(`${label}, atomic: ${atomic}`, async () => {
          // The lines of a response body, say: cancelling frees the socket.
          const cancelled = Promise.withResolvers<unknown>();
          const lines = new ReadableStream<string>({
            cancel: cancelled.resolve,
          });
          const error = await assertRejects(
            () => writeLines(path, lines, { ...options, atomic }),
            ErrorClass,
          );
          assertStrictEquals(await cancelled.promise, error);
        });
      }
    }
  },
});
