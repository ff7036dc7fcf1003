import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { TextLineStream } from "@std/streams/text-line-stream";
import { denoCommand } from "../tests/_deno.ts";
import { writeFileAtomic } from "./atomic.ts";
import { checkContent, content } from "./testdata/atomic_writer.ts";

const TMP: Deno.PermissionOptions = { read: ["/tmp"], write: ["/tmp"] };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "aio-atomic-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

/** `Deno.symlink` in a child: it needs unscoped read and write permissions. */
async function symlink(target: string, path: string): Promise<void> {
  const { success, stderr } = await denoCommand("run", [
    "--allow-read",
    "--allow-write",
    "fs/testdata/make_symlink.ts",
    target,
    path,
  ], { stdout: "null", stderr: "piped" }).output();
  assert(success, new TextDecoder().decode(stderr));
}

function modeOf(info: Deno.FileInfo): number {
  return info.mode! & 0o7777;
}

Deno.test({
  name: "writeFileAtomic() writes strings, bytes, streams and iterables",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/out.txt`;
      const encode = (text: string) => new TextEncoder().encode(text);
      const cases: [string, () => Parameters<typeof writeFileAtomic>[1]][] = [
        ["string", () => "héllo wörld\n"],
        ["bytes", () => encode("héllo wörld\n")],
        ["ReadableStream", () => ReadableStream.from(["héllo ", "wörld\n"])],
        ["byte stream", () => ReadableStream.from([encode("héllo wörld\n")])],
        ["iterable", () => ["hé", encode("llo w"), "örld\n"]],
        ["async iterable", () =>
          (async function* () {
            yield "héllo";
            yield encode(" wörld\n");
          })()],
      ];
      for (const [label, make] of cases) {
        for (const fsync of [true, false]) {
          await t.step(`${label}, fsync: ${fsync}`, async () => {
            await Deno.writeTextFile(path, "old");
            await writeFileAtomic(path, make(), { fsync });
            assertEquals(await Deno.readTextFile(path), "héllo wörld\n");
            assertEquals(await names(dir), ["out.txt"]);
          });
        }
      }
    });
  },
});

Deno.test({
  name: "writeFileAtomic() streams large sources chunk by chunk",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/big.bin`;
      await t.step(
        "many small chunks are coalesced into full writes",
        async () => {
          function* digits() {
            for (let i = 0; i < 100_000; i++) yield String(i % 10);
          }
          await writeFileAtomic(path, digits(), { fsync: false });
          const text = await Deno.readTextFile(path);
          assertEquals(text.length, 100_000);
          assertEquals(text.slice(0, 12), "012345678901");
        },
      );
      await t.step("large byte chunks of a stream", async () => {
        const chunk = new Uint8Array(1 << 20).fill(7);
        let pulled = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (pulled++ < 8) controller.enqueue(chunk);
            else controller.close();
          },
        });
        await writeFileAtomic(path, stream);
        const bytes = await Deno.readFile(path);
        assertEquals(bytes.length, 8 << 20);
        assert(bytes.every((byte) => byte === 7));
      });
      await t.step("a surrogate pair split across string chunks", async () => {
        const emoji = "😀";
        await writeFileAtomic(path, ["a", emoji[0]!, emoji[1]! + "b"]);
        assertEquals(await Deno.readTextFile(path), "a😀b");
        await writeFileAtomic(path, ["a", emoji[0]!]);
        assertEquals(await Deno.readTextFile(path), "a\uFFFD");
      });
    });
  },
});

Deno.test({
  name: "writeFileAtomic() keeps permissions unless mode is given",
  ignore: Deno.build.os === "windows",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/secret`;
      for (const fsync of [true, false]) {
        await t.step(`existing file keeps 0o640, fsync: ${fsync}`, async () => {
          await Deno.writeTextFile(path, "old");
          await Deno.chmod(path, 0o640);
          await writeFileAtomic(path, "new", { fsync });
          assertEquals(modeOf(await Deno.stat(path)), 0o640);
        });
        await t.step(
          `mode 0o600 is applied exactly, fsync: ${fsync}`,
          async () => {
            await writeFileAtomic(path, ["new"], { mode: 0o600, fsync });
            assertEquals(modeOf(await Deno.stat(path)), 0o600);
            // 0o777 would lose bits to a umask of 022 if it were masked.
            await writeFileAtomic(path, "new", { mode: 0o777, fsync });
            assertEquals(modeOf(await Deno.stat(path)), 0o777);
          },
        );
      }
      await t.step(
        "a new file gets the same mode as Deno.writeFile",
        async () => {
          await Deno.writeTextFile(`${dir}/plain`, "x");
          await writeFileAtomic(`${dir}/new`, "x");
          assertEquals(
            modeOf(await Deno.stat(`${dir}/new`)),
            modeOf(await Deno.stat(`${dir}/plain`)),
          );
        },
      );
    });
  },
});

Deno.test({
  name: "writeFileAtomic() replaces the file a symbolic link points to",
  ignore: Deno.build.os === "windows",
  permissions: { ...TMP, run: ["deno"] },
  async fn() {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/real`, "old");
      await symlink("real", `${dir}/link`);
      await writeFileAtomic(`${dir}/link`, "new");
      assertEquals(await Deno.readTextFile(`${dir}/real`), "new");
      assert((await Deno.lstat(`${dir}/link`)).isSymlink);
      await symlink("missing", `${dir}/dangling`);
      await writeFileAtomic(`${dir}/dangling`, "created");
      assertEquals(await Deno.readTextFile(`${dir}/missing`), "created");
      assert((await Deno.lstat(`${dir}/dangling`)).isSymlink);
    });
  },
});

Deno.test({
  name: "writeFileAtomic() accepts a file URL",
  permissions: TMP,
  async fn() {
    await withDir(async (dir) => {
      const url = new URL(`file://${dir}/with space.txt`);
      await writeFileAtomic(url, "x");
      assertEquals(await Deno.readTextFile(`${dir}/with space.txt`), "x");
    });
  },
});

Deno.test({
  name: "writeFileAtomic() leaves the old file and no temp file on errors",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/keep.txt`;
      await Deno.writeTextFile(path, "old");
      const failing = [
        [
          "a source that throws",
          async function* () {
            yield "partial ";
            throw new Error("source failed");
          },
          Error,
          "source failed",
        ],
        [
          "a stream that errors",
          () =>
            new ReadableStream<string>({
              start(controller) {
                controller.enqueue("partial ");
                controller.error(new Error("stream failed"));
              },
            }),
          Error,
          "stream failed",
        ],
        [
          "a chunk that is not a string or bytes",
          () => ["ok", 42],
          TypeError,
          "chunk 2 must be a string or a Uint8Array, received number 42",
        ],
      ] as const;
      for (const [label, make, ErrorClass, message] of failing) {
        await t.step(label, async () => {
          await assertRejects(
            () => writeFileAtomic(path, make() as never),
            ErrorClass,
            message,
          );
          assertEquals(await Deno.readTextFile(path), "old");
          assertEquals(await names(dir), ["keep.txt"]);
        });
      }
    });
  },
});

Deno.test({
  name: "writeFileAtomic() stops on abort and cancels the source",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/keep.txt`;
      await Deno.writeTextFile(path, "old");

      await t.step("an already aborted signal writes nothing", async () => {
        const reason = new Error("stop");
        await assertRejects(
          () =>
            writeFileAtomic(path, "new", { signal: AbortSignal.abort(reason) }),
          Error,
          "stop",
        );
        assertEquals(await names(dir), ["keep.txt"]);
      });

      await t.step(
        "abort while the stream waits for its next chunk",
        async () => {
          const controller = new AbortController();
          const { promise: cancelled, resolve } = Promise.withResolvers<
            unknown
          >();
          const stream = new ReadableStream<string>({
            start(c) {
              c.enqueue("first chunk");
            },
            pull() {
              // Never produces again: only the abort can end the write.
              if (!controller.signal.aborted) {
                controller.abort(new Error("user"));
              }
            },
            cancel: resolve,
          });
          await assertRejects(
            () => writeFileAtomic(path, stream, { signal: controller.signal }),
            Error,
            "user",
          );
          assertEquals((await cancelled as Error).message, "user");
          assertEquals(await Deno.readTextFile(path), "old");
          assertEquals(await names(dir), ["keep.txt"]);
        },
      );

      await t.step("abort while an async generator is stuck", async () => {
        const controller = new AbortController();
        const never = Promise.withResolvers<void>();
        const finished = Promise.withResolvers<void>();
        async function* stuck() {
          try {
            yield "first";
            controller.abort(new Error("timeout"));
            await never.promise;
          } finally {
            finished.resolve();
          }
        }
        await assertRejects(
          () => writeFileAtomic(path, stuck(), { signal: controller.signal }),
          Error,
          "timeout",
        );
        assertEquals(await Deno.readTextFile(path), "old");
        assertEquals(await names(dir), ["keep.txt"]);
        // return() was queued behind the stuck next(); it runs once it ends.
        never.resolve();
        await finished.promise;
      });
    });
  },
});

Deno.test({
  name: "writeFileAtomic() names the path in file-system errors",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      await t.step("missing directory", async () => {
        const error = await assertRejects(
          () => writeFileAtomic(`${dir}/missing/file.txt`, "x"),
          Deno.errors.NotFound,
          `Cannot write "${dir}/missing/file.txt": the directory "${dir}/missing" does not exist`,
        );
        assertInstanceOf(error.cause, Deno.errors.NotFound);
        assertEquals((error as { code?: string }).code, "ENOENT");
        assertEquals(await names(dir), []);
      });
      await t.step("a stream that cannot be written is cancelled", async () => {
        const { promise: cancelled, resolve } = Promise.withResolvers<
          unknown
        >();
        const body = new ReadableStream<string>({ cancel: resolve });
        const error = await assertRejects(
          () => writeFileAtomic(`${dir}/missing/file.txt`, body),
          Deno.errors.NotFound,
        );
        assertEquals(await cancelled, error);
      });
      await t.step("a path that is a directory", async () => {
        await Deno.mkdir(`${dir}/sub`);
        await assertRejects(
          () => writeFileAtomic(`${dir}/sub`, "x"),
          Deno.errors.IsADirectory,
          `Cannot write "${dir}/sub": it is a directory`,
        );
        assertEquals(await names(dir), ["sub"]);
      });
      await t.step("a parent that is a file", async () => {
        await Deno.writeTextFile(`${dir}/file`, "x");
        await assertRejects(
          () => writeFileAtomic(`${dir}/file/child`, "x"),
          Deno.errors.NotADirectory,
          `Cannot write "${dir}/file/child"`,
        );
      });
      await t.step({
        name: "a directory without write permission",
        // root (and CAP_DAC_OVERRIDE) writes anyway; nothing to observe then.
        ignore: await writableDespiteMode(dir),
        fn: async () => {
          await Deno.mkdir(`${dir}/locked`, { mode: 0o500 });
          const error = await assertRejects(
            () => writeFileAtomic(`${dir}/locked/file.txt`, "x"),
            Deno.errors.PermissionDenied,
            `Cannot write "${dir}/locked/file.txt": permission denied`,
          );
          assertInstanceOf(error.cause, Deno.errors.PermissionDenied);
        },
      });
    });
  },
});

/** Whether this process can write into a directory it made read-only. */
async function writableDespiteMode(dir: string): Promise<boolean> {
  if (Deno.build.os === "windows") return true;
  const probe = `${dir}/.probe`;
  await Deno.mkdir(probe, { mode: 0o500 });
  try {
    await Deno.writeTextFile(`${probe}/x`, "x");
    return true;
  } catch {
    return false;
  } finally {
    await Deno.chmod(probe, 0o700);
    await Deno.remove(probe, { recursive: true });
  }
}

Deno.test({
  name: "writeFileAtomic() reports a missing --allow-write",
  permissions: { read: ["/tmp"], write: false },
  async fn() {
    const error = await assertRejects(
      () => writeFileAtomic("/tmp/aio-no-permission.txt", "x"),
      Deno.errors.NotCapable,
      `Cannot write "/tmp/aio-no-permission.txt": requires write access`,
    );
    assertInstanceOf(error.cause, Deno.errors.NotCapable);
  },
});

Deno.test({
  name: "writeFileAtomic() rejects bad arguments before touching the disk",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/file`;
      const bad: [string, () => Promise<void>, ErrorConstructor, string][] = [
        [
          "data",
          () => writeFileAtomic(path, 42 as never),
          TypeError,
          `Cannot write "${path}": "data" must be a string, a Uint8Array, a ReadableStream or an iterable of chunks, received number 42`,
        ],
        [
          "mode type",
          () => writeFileAtomic(path, "x", { mode: 1.5 }),
          TypeError,
          `"mode" must be an integer, received number 1.5`,
        ],
        [
          "mode range",
          () => writeFileAtomic(path, "x", { mode: 0o10000 }),
          RangeError,
          `"mode" must be between 0 and 0o7777, received 0o10000`,
        ],
        [
          "fsync",
          () => writeFileAtomic(path, "x", { fsync: "yes" as never }),
          TypeError,
          `"fsync" must be a boolean, received the string "yes"`,
        ],
        [
          "signal",
          () => writeFileAtomic(path, "x", { signal: {} as never }),
          TypeError,
          `"signal" must be an AbortSignal, received an instance of Object`,
        ],
        [
          "path",
          () => writeFileAtomic("", "x"),
          TypeError,
          `Cannot write file: "path" must not be empty`,
        ],
        [
          "URL",
          () => writeFileAtomic(new URL("https://example.com/x"), "x"),
          TypeError,
          `"path" must be a file URL, received "https://example.com/x"`,
        ],
      ];
      for (const [label, call, ErrorClass, message] of bad) {
        await t.step(label, async () => {
          const error = await assertRejects(call, ErrorClass);
          assertStringIncludes(error.message, message);
          assertEquals(await names(dir), []);
        });
      }
    });
  },
});

Deno.test({
  name: "writeFileAtomic() leaves one complete version when killed at random",
  // The offline @std stand-ins are found by reading their directory.
  permissions: {
    read: ["/tmp", "../shared/std-offline"],
    write: ["/tmp"],
    run: ["deno"],
  },
  async fn() {
    await withDir(async (dir) => {
      const path = `${dir}/state.txt`;
      await writeFileAtomic(path, content(0, 10));
      let versions = 0;
      let killedInFlight = 0;
      for (let kill = 0; kill < 50; kill++) {
        const child = denoCommand("run", [
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "fs/testdata/atomic_writer.ts",
          path,
        ], { stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
        const stderr = new Response(child.stderr).text();
        const lines = child.stdout
          .pipeThrough(new TextDecoderStream())
          .pipeThrough(new TextLineStream())
          .getReader();
        const first = await lines.read();
        if (first.value !== "started") {
          child.kill("SIGKILL");
          await child.status;
          throw new Error(`The writer did not start: ${await stderr}`);
        }
        await delay(Math.random() * 60);
        child.kill("SIGKILL");
        while (!(await lines.read()).done) versions++;
        const status = await child.status;
        const errors = await stderr;
        assertEquals(status.signal, "SIGKILL", errors);

        checkContent(await Deno.readTextFile(path));
        const temps = (await names(dir)).filter((name) => name !== "state.txt");
        assert(temps.length <= 1, `temp files pile up: ${temps.join(", ")}`);
        for (const name of temps) {
          assert(/^\.state\.txt\.[0-9a-f]{12}\.tmp$/.test(name), name);
          // What a recovery after a crash would do.
          await Deno.remove(`${dir}/${name}`);
          killedInFlight++;
        }
      }
      console.log(
        `${versions} versions written, ${killedInFlight} of 50 kills mid-write`,
      );
      // The kills must have hit the loop, not only the start-up.
      assert(versions > 0);
      assert(killedInFlight >= 5, `only ${killedInFlight} kills mid-write`);
    });
  },
});

Deno.test({
  name: "writeFileAtomic() streams chunks under a signal in flat memory",
  // The offline @std stand-ins are found by reading their directory.
  permissions: {
    read: ["/tmp", "../shared/std-offline"],
    write: ["/tmp"],
    run: ["deno"],
  },
  async fn() {
    await withDir(async (dir) => {
      const { success, stdout, stderr } = await denoCommand("run", [
        `--allow-write=${dir}`,
        `--allow-read=${dir}`,
        "fs/testdata/write_memory.ts",
        dir,
      ], { stdout: "piped", stderr: "piped" }).output();
      assert(success, new TextDecoder().decode(stderr));
      const report = JSON.parse(new TextDecoder().decode(stdout));
      assertEquals(report.size, 128 * 1024 * 1024);
      // Holding the chunks would take 128 MiB of heap (256 as UTF-16).
      const growth = (report.peak - report.before) / 1024 ** 2;
      assertLess(growth, 32, `the heap grew by ${growth.toFixed(1)} MiB`);
    });
  },
});
