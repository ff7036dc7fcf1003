import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLess,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { TextLineStream } from "@std/streams/text-line-stream";
import { denoArgs, denoCommand } from "../tests/_deno.ts";
import {
  CHILD_IN_TMP,
  NOBODY,
  runsAsRoot,
  runUnprivileged,
} from "./_test_util.ts";
import { writeFileAtomic, type WriteFileAtomicData } from "./atomic.ts";
import { readLines } from "./lines.ts";
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

/**
 * `Deno.symlink` in a child, which needs unscoped read and write
 * permissions, for each `[target, path]`.
 */
async function symlink(...links: [string, string][]): Promise<void> {
  const { success, stderr } = await denoCommand("run", [
    "--allow-read",
    "--allow-write",
    "fs/testdata/make_symlink.ts",
    ...links.flat(),
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
      await t.step("a lone surrogate before a byte chunk", async () => {
        // Each lone half is U+FFFD, as with TextEncoder, in chunk order.
        const bytes = new Uint8Array([0x41]);
        await writeFileAtomic(path, ["a\ud83d", bytes, "\ude00"]);
        assertEquals(await Deno.readTextFile(path), "a\uFFFDA\uFFFD");
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
      await symlink(["real", `${dir}/link`], ["missing", `${dir}/dangling`]);
      await writeFileAtomic(`${dir}/link`, "new");
      assertEquals(await Deno.readTextFile(`${dir}/real`), "new");
      assert((await Deno.lstat(`${dir}/link`)).isSymlink);
      await writeFileAtomic(`${dir}/dangling`, "created");
      assertEquals(await Deno.readTextFile(`${dir}/missing`), "created");
      assert((await Deno.lstat(`${dir}/dangling`)).isSymlink);
    });
  },
});

Deno.test({
  name: "writeFileAtomic() follows a chain of symbolic links to its end",
  ignore: Deno.build.os === "windows",
  permissions: { ...TMP, run: ["deno"] },
  async fn(t) {
    await withDir(async (dir) => {
      await Deno.mkdir(`${dir}/sub`);
      await Deno.mkdir(`${dir}/other`);
      await symlink(
        ["link2", `${dir}/link1`],
        ["missing", `${dir}/link2`],
        ["../other/hop", `${dir}/sub/start`],
        ["end", `${dir}/other/hop`],
        ["loop-b", `${dir}/loop-a`],
        ["loop-a", `${dir}/loop-b`],
      );
      await t.step("to a file that does not exist yet", async () => {
        await writeFileAtomic(`${dir}/link1`, "created");
        assertEquals(await Deno.readTextFile(`${dir}/missing`), "created");
        assertEquals(await Deno.readLink(`${dir}/link1`), "link2");
        assertEquals(await Deno.readLink(`${dir}/link2`), "missing");
      });
      await t.step("each link relative to its own directory", async () => {
        await writeFileAtomic(`${dir}/sub/start`, "end");
        assertEquals(await Deno.readTextFile(`${dir}/other/end`), "end");
        assertEquals(await names(`${dir}/sub`), ["start"]);
        assertEquals(await names(`${dir}/other`), ["end", "hop"]);
      });
      await t.step("a loop is a FilesystemLoop naming the path", async () => {
        const error = await assertRejects(
          () => writeFileAtomic(`${dir}/loop-a`, "x"),
          Deno.errors.FilesystemLoop,
          `Cannot write "${dir}/loop-a": too many levels of symbolic links`,
        );
        assertInstanceOf(error.cause, Deno.errors.FilesystemLoop);
        assertEquals(await Deno.readLink(`${dir}/loop-a`), "loop-b");
      });
    });
  },
});

Deno.test({
  name:
    "writeFileAtomic() refuses a FIFO or a device, which the rename would remove",
  ignore: Deno.build.os !== "linux",
  permissions: {
    read: ["/tmp", "/dev/null"],
    write: ["/tmp"],
    run: ["deno", "mkfifo"],
  },
  async fn() {
    await withDir(async (dir) => {
      const made = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] })
        .output();
      assert(made.success, "mkfifo failed");
      // Links to them are followed: /dev/stdout leads to a pipe or a tty.
      await symlink(["fifo", `${dir}/to-fifo`], ["/dev/null", `${dir}/null`]);
      const cases = {
        fifo: "a FIFO",
        "to-fifo": "a FIFO",
        null: "a character device",
      };
      for (const [name, kind] of Object.entries(cases)) {
        await assertRejects(
          () => writeFileAtomic(`${dir}/${name}`, "x", { fsync: false }),
          Deno.errors.NotSupported,
          `Cannot write "${dir}/${name}": it is ${kind}, which a new file would replace`,
        );
      }
      assert((await Deno.lstat(`${dir}/fifo`)).isFifo);
      assert((await Deno.stat("/dev/null")).isCharDevice);
      assertEquals(await names(dir), ["fifo", "null", "to-fifo"]);
    });
  },
});

Deno.test({
  name:
    "writeFileAtomic() refuses /dev/stdout when it is a file opened for appending",
  ignore: Deno.build.os !== "linux",
  permissions: {
    read: ["/tmp", "../shared/std-offline"],
    write: ["/tmp"],
    run: ["sh", "deno"],
  },
  async fn() {
    await withDir(async (dir) => {
      const log = `${dir}/log`;
      await Deno.writeTextFile(log, "kept\n");
      const script = `import { writeFileAtomic } from "${
        new URL("./atomic.ts", import.meta.url).href
      }";
        for (const path of ["/dev/stdout", "/dev/fd/1"]) {
          await writeFileAtomic(path, "new\\n").catch((error) =>
            Deno.stderr.writeSync(new TextEncoder().encode(error.name + " ")));
        }`;
      const { stderr } = await new Deno.Command("sh", {
        args: [
          "-c",
          `exec "$0" "$@" >> "${log}"`,
          "deno",
          ...denoArgs("eval", [script]),
        ],
        stderr: "piped",
      }).output();
      assertEquals(
        new TextDecoder().decode(stderr),
        "NotSupported NotSupported ",
      );
      assertEquals(await Deno.readTextFile(log), "kept\n");
    });
  },
});

/** Makes a symbolic link with `ln -s`: Deno.symlink() needs unscoped permissions. */
async function shLink(target: string, link: string): Promise<void> {
  const linked = await new Deno.Command("sh", {
    args: ["-c", 'ln -s "$0" "$1"', target, link],
  }).output();
  assert(linked.success);
}

/**
 * Runs `body` after an import of writeFileAtomic, as `dir/write.ts` in a
 * child `deno run` with `flags`; returns whether it succeeded and its output.
 */
async function writeInChild(
  dir: string,
  body: string,
  flags: string[],
): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const script = `import { writeFileAtomic } from "${
    new URL("./atomic.ts", import.meta.url).href
  }";
  ${body}`;
  await Deno.writeTextFile(`${dir}/write.ts`, script);
  const { success, stdout, stderr } = await denoCommand("run", [
    ...flags,
    `${dir}/write.ts`,
  ], { stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return {
    success,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

Deno.test({
  name:
    "writeFileAtomic() needs permissions only for a linked directory's path, not its target",
  ignore: Deno.build.os === "windows",
  permissions: { ...CHILD_IN_TMP, run: ["deno", "sh"] },
  async fn() {
    await withDir(async (dir) => {
      await Deno.mkdir(`${dir}/real`);
      await shLink(`${dir}/real`, `${dir}/link`);
      const { success, stderr } = await writeInChild(
        dir,
        `const dir = ${JSON.stringify(`${dir}/link`)};
        await writeFileAtomic(dir + "/synced", "a");
        await writeFileAtomic(dir + "/streamed", ["b"], { fsync: false });
        await writeFileAtomic(dir + "/fast", "c", { fsync: false });`,
        [`-R=${dir}/link,${dir}/write.ts`, `-W=${dir}/link`],
      );
      assertEquals(stderr, "");
      assert(success);
      for (
        const [name, text] of [["synced", "a"], ["streamed", "b"], [
          "fast",
          "c",
        ]]
      ) {
        assertEquals(await Deno.readTextFile(`${dir}/real/${name}`), text);
      }
    });
  },
});

Deno.test({
  name:
    "writeFileAtomic() names the directory a linked file leads to when a permission is missing there",
  ignore: Deno.build.os === "windows",
  permissions: { ...CHILD_IN_TMP, run: ["deno", "sh"] },
  async fn() {
    await withDir(async (dir) => {
      await Deno.mkdir(`${dir}/a`);
      await Deno.mkdir(`${dir}/b`);
      await shLink("../b/f.txt", `${dir}/a/link.txt`);
      const { stdout } = await writeInChild(
        dir,
        `await writeFileAtomic(${
          JSON.stringify(`${dir}/a/link.txt`)
        }, "x").catch((error) => console.log(error.message));`,
        [`-R=${dir}/a,${dir}/write.ts`, `-W=${dir}/a`],
      );
      assertEquals(
        stdout,
        `Cannot write "${dir}/a/link.txt": requires read access to its directory "${dir}/b", run again with --allow-read=${dir}/b\n`,
      );
    });
  },
});

Deno.test({
  name: "writeFileAtomic() drops setuid and setgid bits kept for a new owner",
  ignore: Deno.build.os === "windows",
  // A child runs as another user when this runs as root.
  permissions: CHILD_IN_TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/tool`;
      await t.step("the same owner keeps them", async () => {
        await Deno.writeTextFile(path, "old");
        await Deno.chmod(path, 0o4755);
        await writeFileAtomic(path, "new");
        assertEquals(modeOf(await Deno.stat(path)), 0o4755);
      });
      await t.step({
        name: "another owner's are not handed to the writer",
        // Only root can give a file to another user.
        ignore: !await runsAsRoot(dir),
        fn: async () => {
          // Another user, or only another group.
          for (const uid of [NOBODY, 0]) {
            for (const bits of [0o4000, 0o2000, 0o6000]) {
              for (const fsync of [true, false]) {
                await Deno.writeTextFile(path, "old");
                await Deno.chown(path, uid, NOBODY);
                await Deno.chmod(path, bits | 0o755);
                await writeFileAtomic(path, "new", { fsync });
                const info = await Deno.stat(path);
                assertEquals([info.uid, info.gid, modeOf(info)], [0, 0, 0o755]);
              }
            }
          }
        },
      });
      await t.step("a mode given is applied as it is", async () => {
        await writeFileAtomic(path, "new", { mode: 0o6755 });
        assertEquals(modeOf(await Deno.stat(path)), 0o6755);
      });
      await t.step("also for a user other than root", async () => {
        // Whose writes clear the bits: they are set after the data.
        await withDir(async (userDir) => {
          assertEquals(
            await runUnprivileged("setid-modes", userDir),
            [0o4755, 0o4755, 0o6750, 0o4755, 0o4755, 0o6750],
          );
        });
      });
    });
  },
});

Deno.test({
  name:
    "writeFileAtomic() leaves the target as it was when its directory cannot be flushed",
  ignore: Deno.build.os === "windows",
  // The child runs as another user when this runs as root.
  permissions: CHILD_IN_TMP,
  async fn() {
    await withDir(async (dir) => {
      // A directory the writer may write but not read (0o333).
      assertEquals(await runUnprivileged("unreadable-directory", dir), [
        {
          fsync: true,
          error:
            `PermissionDenied: Cannot write "${dir}/locked/file": permission denied`,
          content: "old",
          names: ["file"],
        },
        // Without fsync the directory is not opened.
        { fsync: false, error: null, content: "fsync false", names: ["file"] },
      ]);
    });
  },
});

Deno.test({
  name: "writeFileAtomic() accepts a file URL",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      await t.step("with escapes", async () => {
        const url = new URL(`file://${dir}/with space.txt`);
        await writeFileAtomic(url, "x");
        assertEquals(await Deno.readTextFile(`${dir}/with space.txt`), "x");
      });
      await t.step(
        "with a % that starts no escape, as Deno reads it",
        async () => {
          await writeFileAtomic(new URL(`file://${dir}/a%zz`), "x");
          assertEquals(await names(dir), ["a%zz", "with space.txt"]);
        },
      );
      await t.step("not with a path that is not UTF-8", async () => {
        const url = new URL(`file://${dir}/%ff`);
        await assertRejects(
          () => writeFileAtomic(url, "x"),
          TypeError,
          `Cannot write file: "path" must be a file URL whose path is valid UTF-8, received "${url.href}"`,
        );
      });
      await t.step({
        name: "not with a host",
        // On Windows a host makes a UNC path.
        ignore: Deno.build.os === "windows",
        fn: async () => {
          const url = new URL(`file://example.com${dir}/x`);
          await assertRejects(
            () => writeFileAtomic(url, "x"),
            TypeError,
            `Cannot write file: "path" must be a file URL without a host, received "${url.href}"`,
          );
          assertEquals(await names(dir), ["a%zz", "with space.txt"]);
        },
      });
    });
  },
});

Deno.test({
  name: "writeFileAtomic() lets what the data source throws through unchanged",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/copy.txt`;
      await Deno.writeTextFile(path, "old");
      const sources: [string, (error: Error) => WriteFileAtomicData][] = [
        ["a generator", (error) =>
          (async function* () {
            yield "partial ";
            throw error;
          })()],
        ["a stream", (error) =>
          new ReadableStream({
            start(controller) {
              controller.enqueue("partial ");
              controller.error(error);
            },
          })],
      ];
      for (const [label, source] of sources) {
        await t.step(`a Deno error from ${label}`, async () => {
          // What a body or a file being copied may fail with.
          const cause = new Deno.errors.ConnectionReset("peer went away");
          const error = await assertRejects(() =>
            writeFileAtomic(path, source(cause))
          );
          assertStrictEquals(error, cause);
          assertEquals(await Deno.readTextFile(path), "old");
          assertEquals(await names(dir), ["copy.txt"]);
        });
      }
      await t.step("the lines of a missing file", async () => {
        await assertRejects(
          () => writeFileAtomic(path, readLines(`${dir}/missing.txt`)),
          Deno.errors.NotFound,
          `Cannot read lines from "${dir}/missing.txt": no such file or directory`,
        );
      });
    });
  },
});

Deno.test({
  name: "writeFileAtomic() rejects with the signal's reason itself",
  permissions: TMP,
  async fn(t) {
    await withDir(async (dir) => {
      const path = `${dir}/keep.txt`;
      await Deno.writeTextFile(path, "old");
      // A Deno error, which the file-system errors' wrapping must not touch.
      const reason = new Deno.errors.TimedOut("too slow");
      const sources: [string, (abort: () => void) => WriteFileAtomicData][] = [
        ["while the source waits", (abort) =>
          new ReadableStream({
            pull: abort,
          })],
        ["between chunks", (abort) =>
          (function* () {
            yield "a";
            abort();
            yield "b";
          })()],
        ["after the last chunk", (abort) =>
          (function* () {
            yield "a";
            abort();
          })()],
        // As a response body does when its fetch has the same signal: the
        // source's failure must not go unhandled and crash the process.
        ["as the source fails because of it", (abort) => {
          let calls = 0;
          const iterator: AsyncIterator<string> = {
            next() {
              if (++calls === 1) {
                return Promise.resolve({ done: false, value: "a" });
              }
              abort();
              return Promise.reject(new Error("cancelled by the abort"));
            },
            return: () => Promise.resolve({ done: true, value: undefined }),
          };
          return { [Symbol.asyncIterator]: () => iterator };
        }],
      ];
      for (const [label, source] of sources) {
        await t.step(label, async () => {
          const controller = new AbortController();
          const data = source(() => controller.abort(reason));
          const error = await assertRejects(() =>
            writeFileAtomic(path, data, { signal: controller.signal })
          );
          assertStrictEquals(error, reason);
          assertEquals(await Deno.readTextFile(path), "old");
          assertEquals(await names(dir), ["keep.txt"]);
        });
      }
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
          "chunk 2 must be a string or a Uint8Array, received 42",
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
      `Cannot write "/tmp/aio-no-permission.txt": requires write access to its directory "/tmp", run again with --allow-write=/tmp`,
    );
    assertInstanceOf(error.cause, Deno.errors.NotCapable);
  },
});

Deno.test({
  name:
    "writeFileAtomic() names the directory, not a temporary file, when a permission covers the file only",
  permissions: { read: ["/tmp"], write: ["/tmp/aio-only-this-file.txt"] },
  async fn(t) {
    for (const fsync of [false, true]) {
      await t.step(`fsync: ${fsync}`, async () => {
        await assertRejects(
          () => writeFileAtomic("/tmp/aio-only-this-file.txt", "x", { fsync }),
          Deno.errors.NotCapable,
          `Cannot write "/tmp/aio-only-this-file.txt": requires write access to its directory "/tmp", run again with --allow-write=/tmp`,
        );
      });
    }
  },
});

Deno.test({
  name: "writeFileAtomic() reports a missing --allow-read for the directory",
  permissions: { read: false, write: ["/tmp"] },
  async fn() {
    await assertRejects(
      () => writeFileAtomic("/tmp/aio-no-permission.txt", "x"),
      Deno.errors.NotCapable,
      `Cannot write "/tmp/aio-no-permission.txt": requires read access to its directory "/tmp", run again with --allow-read=/tmp`,
    );
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
          `Cannot write "${path}": "data" must be a string, a Uint8Array, a ReadableStream or an iterable of chunks, received 42`,
        ],
        [
          "mode type",
          () => writeFileAtomic(path, "x", { mode: "644" as never }),
          TypeError,
          `"mode" must be an integer, received "644"`,
        ],
        [
          "mode not an integer",
          () => writeFileAtomic(path, "x", { mode: 1.5 }),
          RangeError,
          `"mode" must be an integer between 0 and 0o7777, received 1.5`,
        ],
        [
          "mode range",
          () => writeFileAtomic(path, "x", { mode: 0o10000 }),
          RangeError,
          `"mode" must be an integer between 0 and 0o7777, received 0o10000`,
        ],
        [
          "negative mode",
          () => writeFileAtomic(path, "x", { mode: -1 }),
          RangeError,
          `"mode" must be an integer between 0 and 0o7777, received -1`,
        ],
        [
          "options",
          () => writeFileAtomic(path, "x", null as never),
          TypeError,
          `Cannot write "${path}": "options" must be an object, received null`,
        ],
        [
          "fsync",
          () => writeFileAtomic(path, "x", { fsync: "yes" as never }),
          TypeError,
          `"fsync" must be a boolean, received "yes"`,
        ],
        [
          "signal",
          () => writeFileAtomic(path, "x", { signal: {} as never }),
          TypeError,
          `"signal" must be an AbortSignal, received an object`,
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
  name: "writeFileAtomic() sweeps what killed writers left, once per directory",
  ignore: Deno.build.os === "windows",
  permissions: TMP,
  async fn(t) {
    const temp = (dir: string, name: string) =>
      Deno.writeTextFile(`${dir}/${name}`, "part");
    await t.step("no write in flight: every temporary file goes", async () => {
      await withDir(async (dir) => {
        await temp(dir, ".a.txt.aio-0123456789ab.tmp");
        await temp(dir, ".b.txt.aio-0123456789ab.tmp");
        // Not sweepable by their names, or not files.
        await temp(dir, ".c.txt.aio-0123456789ab.tmp~");
        await temp(dir, ".e.txt.tmp");
        await temp(dir, "f.txt.aio-0123456789ab.tmp");
        await temp(dir, ".session.0123456789ab.tmp"); // another tool's
        await Deno.mkdir(`${dir}/.g.txt.aio-0123456789ab.tmp`);
        await writeFileAtomic(`${dir}/a.txt`, "new", { fsync: false });
        const left = [
          ".c.txt.aio-0123456789ab.tmp~",
          ".e.txt.tmp",
          ".g.txt.aio-0123456789ab.tmp",
          ".session.0123456789ab.tmp",
          "a.txt",
          "f.txt.aio-0123456789ab.tmp",
        ];
        assertEquals(await names(dir), left);
        // Swept once: a later leftover waits for another process.
        await temp(dir, ".h.txt.aio-0123456789ab.tmp");
        await writeFileAtomic(`${dir}/a.txt`, "newer");
        assertEquals(
          await names(dir),
          [...left, ".h.txt.aio-0123456789ab.tmp"].sort(),
        );
      });
    });
    await t.step(
      "a write in flight holds the sweep off, for a while",
      async () => {
        await withDir(async (dir) => {
          await temp(dir, ".a.txt.aio-0123456789ab.tmp");
          // What every writer holds while it writes: a shared lock.
          using writer = await Deno.open(dir);
          await writer.lock(false);
          await writeFileAtomic(`${dir}/b.txt`, "new", { fsync: false });
          assertEquals(await names(dir), [
            ".a.txt.aio-0123456789ab.tmp",
            "b.txt",
          ]);
          // Tried again by a later write, once nothing is in flight.
          await writer.unlock();
          await writeFileAtomic(`${dir}/b.txt`, "newer", { fsync: false });
          assertEquals(await names(dir), ["b.txt"]);
        });
      },
    );
    await t.step(
      "a writer waits for a sweep, then names its file",
      async () => {
        await withDir(async (dir) => {
          const seen: string[][] = [];
          async function* data() {
            seen.push(await names(dir));
            yield "a";
          }
          for (const releaseAfter of [30, undefined]) {
            // A sweep elsewhere, for 30 ms, or someone holding on for good.
            const sweep = await Deno.open(dir);
            await sweep.lock(true);
            const timer = releaseAfter === undefined
              ? undefined
              : setTimeout(() => sweep.close(), releaseAfter);
            try {
              await writeFileAtomic(`${dir}/s.txt`, data(), { fsync: false });
            } finally {
              if (timer === undefined) sweep.close();
            }
          }
          const temps = seen.map((list) =>
            list.filter((n) => n.startsWith("."))
          );
          assertEquals(temps.map((list) => list.length), [1, 1]);
          // Sweepable once it has the lock; never swept when it gets none.
          assert(/^\.s\.txt\.aio-[0-9a-f]{12}\.tmp$/.test(temps[0]![0]!));
          assert(/^\.s\.txt\.aio-[0-9a-f]{12}\.tmp~$/.test(temps[1]![0]!));
        });
      },
    );
    await t.step("writers hold the lock, also for streams", async () => {
      await withDir(async (dir) => {
        let sweptDuring = true;
        async function* data() {
          yield "a";
          // A sweep from elsewhere cannot have the directory now.
          using sweep = await Deno.open(dir);
          sweptDuring = await sweep.tryLock(true);
          yield "b";
        }
        await writeFileAtomic(`${dir}/s.txt`, data(), { fsync: false });
        assertEquals(sweptDuring, false);
        assertEquals(await Deno.readTextFile(`${dir}/s.txt`), "ab");
      });
    });
  },
});

Deno.test({
  name:
    "writeFileAtomic() keeps sweeping after aborts, refuses temporary names, names a removed temporary file",
  ignore: Deno.build.os === "windows",
  permissions: TMP,
  async fn(t) {
    await t.step("aborted sweeps are not tries", async () => {
      await withDir(async (dir) => {
        await Deno.writeTextFile(`${dir}/.dead.aio-0123456789ab.tmp`, "x");
        for (let i = 0; i < 10; i++) {
          const controller = new AbortController();
          const writing = writeFileAtomic(`${dir}/f.txt`, "new", {
            fsync: false,
            signal: controller.signal,
          });
          controller.abort(new Error("cancelled"));
          await assertRejects(() => writing, Error, "cancelled");
        }
        await writeFileAtomic(`${dir}/f.txt`, "new", { fsync: false });
        assertEquals(await names(dir), ["f.txt"]);
      });
    });
    await t.step("a target named like a temporary file", async () => {
      await withDir(async (dir) => {
        await assertRejects(
          () => writeFileAtomic(`${dir}/.cache.aio-0123456789ab.tmp`, "x"),
          TypeError,
          "are kept for temporary files",
        );
        assertEquals(await names(dir), []);
      });
    });
    await t.step("a temporary file removed by someone else", async () => {
      await withDir(async (dir) => {
        await Deno.writeTextFile(`${dir}/f.txt`, "old");
        async function* data() {
          yield "a";
          for (const name of await names(dir)) {
            if (name.includes(".aio-")) await Deno.remove(`${dir}/${name}`);
          }
          yield "b";
        }
        await assertRejects(
          () => writeFileAtomic(`${dir}/f.txt`, data(), { fsync: false }),
          Deno.errors.NotFound,
          "was removed by someone else",
        );
        assertEquals(await Deno.readTextFile(`${dir}/f.txt`), "old");
      });
    });
  },
});

Deno.test({
  name: "writeFileAtomic() writes a file whose name is long in UTF-8",
  permissions: TMP,
  async fn() {
    await withDir(async (dir) => {
      // 240 bytes: a legal name, and 258 with the temporary name's parts.
      const path = `${dir}/${"界".repeat(80)}`;
      for (const fsync of [false, true]) {
        await writeFileAtomic(path, `fsync ${fsync}`, { fsync });
        assertEquals(await Deno.readTextFile(path), `fsync ${fsync}`);
      }
      assertEquals(await names(dir), ["界".repeat(80)]);
    });
  },
});

Deno.test({
  name: "writeFileAtomic() leaves one complete version when killed at random",
  // The offline @std stand-ins are found by reading their directory.
  permissions: CHILD_IN_TMP,
  async fn() {
    await withDir(async (dir) => {
      const path = `${dir}/state.txt`;
      await writeFileAtomic(path, content(0, 10));
      let versions = 0;
      let killedInFlight = 0;
      const seen = new Set<string>();
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
        // Left as they are: the next writer sweeps what a killed one left,
        // so at most the file of the write in flight remains.
        const temps = (await names(dir)).filter((name) => name !== "state.txt");
        assert(temps.length <= 1, `temp files pile up: ${temps.join(", ")}`);
        for (const name of temps) {
          assert(/^\.state\.txt\.aio-[0-9a-f]{12}\.tmp$/.test(name), name);
          if (!seen.has(name)) killedInFlight++;
          seen.add(name);
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
  permissions: CHILD_IN_TMP,
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
