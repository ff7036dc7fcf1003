import {
  assert,
  assertEquals,
  assertGreater,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import { TimeoutError } from "../errors.ts";
import {
  httpResponse,
  rawServer,
  serveLoopback as serve,
} from "../tests/_loopback.ts";
import { download, type DownloadProgress } from "./download.ts";
import { HttpError, NetworkError } from "./errors.ts";

const PERMISSIONS = { net: ["127.0.0.1"], read: ["/tmp"], write: ["/tmp"] };

/** A temporary directory, removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "aio_download_test_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

/** `size` bytes of a repeating pattern, sent in `chunk`-byte pieces. */
function patterned(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 7) % 256);
}

Deno.test("download() streams the body to the file and reports progress", {
  permissions: PERMISSIONS,
}, async () => {
  const bytes = patterned(3_000_000);
  await using server = serve(() =>
    new Response(
      ReadableStream.from(
        (function* () {
          for (let i = 0; i < bytes.length; i += 65_536) {
            yield bytes.subarray(i, i + 65_536);
          }
        })(),
      ),
      { headers: { "content-length": String(bytes.length) } },
    )
  );
  await using dir = await tempDir();
  const progress: DownloadProgress[] = [];
  const result = await download(
    server.url("/file.bin"),
    `${dir.path}/file.bin`,
    {
      onProgress: (p) => progress.push(p),
    },
  );
  assertEquals(result.size, bytes.length);
  assertEquals(result.path, `${dir.path}/file.bin`);
  assertEquals(result.url, server.url("/file.bin"));
  assertEquals(await Deno.readFile(`${dir.path}/file.bin`), bytes);
  assertGreater(progress.length, 10, "progress comes chunk by chunk");
  assert(
    progress.every((p, i) => i === 0 || p.loaded > progress[i - 1]!.loaded),
  );
  assertEquals(progress.at(-1), { loaded: bytes.length, total: bytes.length });
  assertEquals(await names(dir.path), ["file.bin"]);
});

Deno.test(
  "download() writes into a temporary file beside the target, then renames it",
  {
    permissions: PERMISSIONS,
  },
  async () => {
    const halfway = Promise.withResolvers<void>();
    const resume = Promise.withResolvers<void>();
    const first = new Uint8Array(10_000).fill(1);
    await using server = serve(() =>
      new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(first);
            halfway.resolve();
            await resume.promise;
            controller.enqueue(new Uint8Array(5_000).fill(2));
            controller.close();
          },
        }),
        { headers: { "content-length": "15000" } },
      )
    );
    await using dir = await tempDir();
    const target = `${dir.path}/out.bin`;
    await Deno.writeTextFile(target, "old content");
    let seen = 0;
    const pending = download(server.url(), target, {
      onProgress: ({ loaded }) => {
        seen = loaded;
      },
    });
    await halfway.promise;
    while (seen < first.length) await new Promise((r) => setTimeout(r, 5));
    // Midway: the target still has the old content, the new bytes are in a
    // temporary file in the same directory.
    assertEquals(await Deno.readTextFile(target), "old content");
    const files = await names(dir.path);
    assertEquals(files.length, 2);
    const temp = files.find((name) => name !== "out.bin")!;
    assertStringIncludes(temp, "out.bin");
    resume.resolve();
    const result = await pending;
    assertEquals(result.size, 15_000);
    assertEquals((await Deno.readFile(target)).length, 15_000);
    assertEquals(await names(dir.path), ["out.bin"]);
  },
);

Deno.test("download() leaves no file when the server cuts the body short", {
  permissions: PERMISSIONS,
}, async (t) => {
  await t.step("connection closed before Content-Length", async () => {
    await using server = rawServer(({ write }) =>
      write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + "x".repeat(300))
    );
    await using dir = await tempDir();
    await assertRejects(
      () => download(server.url(), `${dir.path}/cut.bin`),
      NetworkError,
    );
    assertEquals(await names(dir.path), []);
  });
  await t.step("an existing file keeps its content", async () => {
    await using server = rawServer(({ write }) =>
      write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nshort")
    );
    await using dir = await tempDir();
    await Deno.writeTextFile(`${dir.path}/keep.txt`, "previous");
    await assertRejects(
      () => download(server.url(), `${dir.path}/keep.txt`),
      NetworkError,
    );
    assertEquals(await Deno.readTextFile(`${dir.path}/keep.txt`), "previous");
    assertEquals(await names(dir.path), ["keep.txt"]);
  });
  await t.step("retried from the first byte", async () => {
    await using server = rawServer(({ index, write }) =>
      write(
        index === 0
          ? "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhel"
          : httpResponse("hello you!"),
      )
    );
    await using dir = await tempDir();
    const result = await download(server.url(), `${dir.path}/r.txt`, {
      retry: { attempts: 2, backoff: () => 1 },
    });
    assertEquals(result.size, 10);
    assertEquals(await Deno.readTextFile(`${dir.path}/r.txt`), "hello you!");
    assertEquals(await names(dir.path), ["r.txt"]);
  });
});

Deno.test(
  "download() leaves no file on abort, timeout, HTTP error or a failing onProgress",
  {
    permissions: PERMISSIONS,
  },
  async (t) => {
    await using server = serve((req) => {
      if (new URL(req.url).pathname === "/missing") {
        return new Response("not here", { status: 404 });
      }
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new Uint8Array(1_000));
          },
          pull: () => new Promise(() => {}),
        }),
        { headers: { "content-length": "2000" } },
      );
    });
    await using dir = await tempDir();
    const target = `${dir.path}/f.bin`;
    await t.step("abort midway", async () => {
      const controller = new AbortController();
      const reason = new Error("user cancelled");
      const error = await assertRejects(() =>
        download(server.url(), target, {
          signal: controller.signal,
          onProgress: () => controller.abort(reason),
        })
      );
      assertEquals(error, reason);
      assertEquals(await names(dir.path), []);
    });
    await t.step("timeout midway", async () => {
      const start = performance.now();
      const error = await assertRejects(
        () => download(server.url(), target, { timeout: 150 }),
        TimeoutError,
      );
      assertGreater(performance.now() - start, 140);
      assertEquals(error.timeout, 150);
      assertEquals(await names(dir.path), []);
    });
    await t.step("HTTP error", async () => {
      const error = await assertRejects(
        () => download(server.url("/missing"), target),
        HttpError,
      );
      assertEquals(error.body, "not here");
      assertEquals(await names(dir.path), []);
    });
    await t.step("onProgress throws", async () => {
      await assertRejects(
        () =>
          download(server.url(), target, {
            onProgress: () => {
              throw new Error("disk quota");
            },
          }),
        Error,
        "disk quota",
      );
      assertEquals(await names(dir.path), []);
    });
  },
);

Deno.test("download() skips the length check for an encoded body", {
  permissions: PERMISSIONS,
}, async () => {
  const text = "compressible ".repeat(10_000);
  const gzipped = new Uint8Array(
    await new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  await using server = serve(() =>
    new Response(gzipped, {
      headers: {
        "content-encoding": "gzip",
        "content-length": String(gzipped.length),
      },
    })
  );
  await using dir = await tempDir();
  const progress: DownloadProgress[] = [];
  const result = await download(server.url(), `${dir.path}/t.txt`, {
    onProgress: (p) => progress.push(p),
  });
  assertEquals(await Deno.readTextFile(`${dir.path}/t.txt`), text);
  assertEquals(result.size, text.length);
  assertEquals(progress.at(-1)!.total, undefined);
});

Deno.test("download() takes the chunked size over a Content-Length beside it", {
  permissions: PERMISSIONS,
}, async () => {
  // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length.
  await using server = rawServer(({ write }) =>
    write(
      "HTTP/1.1 200 OK\r\ncontent-length: 50\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    )
  );
  await using dir = await tempDir();
  const result = await download(server.url(), `${dir.path}/ok.txt`);
  assertEquals(await Deno.readTextFile(`${dir.path}/ok.txt`), "ok");
  assertEquals(result.size, 2);
});

Deno.test("download() takes no byte count from a HEAD, 204 or 304 answer", {
  permissions: PERMISSIONS,
}, async () => {
  // Content-Length describes the body a GET would get: none is sent here.
  await using server = rawServer(({ head, write }) => {
    const status = head.startsWith("HEAD ")
      ? "200 OK"
      : head.includes("/304")
      ? "304 Not Modified"
      : "204 No Content";
    return write(
      `HTTP/1.1 ${status}\r\ncontent-length: 1234\r\nconnection: close\r\n\r\n`,
    );
  });
  await using dir = await tempDir();
  for (
    const [path, options] of [
      ["/head", { method: "HEAD" }],
      ["/304", { throwHttpErrors: false }],
      ["/204", {}],
    ] as const
  ) {
    const result = await download(
      server.url(path),
      `${dir.path}/empty`,
      options,
    );
    assertEquals(result.size, 0, path);
    assertEquals(await Deno.readTextFile(`${dir.path}/empty`), "");
  }
  assertEquals(server.connections(), 3, "nothing was retried");
});

Deno.test("download() reports the decoded path of a file: URL", {
  permissions: PERMISSIONS,
}, async () => {
  await using server = serve(() => new Response("x"));
  await using dir = await tempDir();
  const result = await download(
    server.url(),
    new URL(`file://${dir.path}/a b é.txt`),
  );
  assertEquals(result.path, `${dir.path}/a b é.txt`);
  assertEquals(await Deno.readTextFile(result.path), "x");
});

Deno.test("download() rejects bad arguments before sending anything", {
  permissions: PERMISSIONS,
}, async () => {
  let requests = 0;
  await using server = serve(() => {
    requests++;
    return new Response("x");
  });
  await assertRejects(
    () => download(server.url(), ""),
    TypeError,
    'Cannot download: "path" must not be empty',
  );
  await assertRejects(
    () => download(server.url(), new URL("https://example.com/x")),
    TypeError,
    'Cannot download: "path" must be a file URL, received "https://example.com/x"',
  );
  await assertRejects(
    () => download(server.url(), "/tmp/x", null as unknown as undefined),
    TypeError,
    'Cannot download: "options" must be an object, received null',
  );
  await assertRejects(
    () => download(server.url(), "/tmp/x", { fsync: "no" as never }),
    TypeError,
    'Cannot download: "fsync" must be a boolean, received "no"',
  );
  await assertRejects(
    () => download(server.url(), "/tmp/x", { fileMode: 0o10000 }),
    RangeError,
    '"fileMode" must be an integer from 0 to 0o7777, received 4096',
  );
  await assertRejects(
    () =>
      download(server.url(), "/tmp/x", {
        fileMode: "644" as unknown as number,
      }),
    TypeError,
    '"fileMode" must be an integer from 0 to 0o7777, received "644"',
  );
  await assertRejects(
    () =>
      download(server.url(), "/tmp/x", {
        onProgress: 1 as unknown as () => void,
      }),
    TypeError,
    '"onProgress" must be a function, received 1',
  );
  assertEquals(requests, 0);
});

Deno.test("download() throws an onProgress error as it is, without retrying", {
  permissions: PERMISSIONS,
}, async () => {
  let requests = 0;
  await using server = serve(() => {
    requests++;
    return new Response("x".repeat(200_000));
  });
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file.bin`, "old");
  const mistake = new TypeError("a bug in the progress bar");
  const error = await assertRejects(() =>
    download(server.url("/file.bin"), `${dir.path}/file.bin`, {
      retry: { attempts: 3, backoff: () => 1 },
      onProgress: () => {
        throw mistake;
      },
    })
  );
  assertStrictEquals(error, mistake);
  assertEquals(requests, 1, "not retried");
  assertEquals(await Deno.readTextFile(`${dir.path}/file.bin`), "old");
  assertEquals(await names(dir.path), ["file.bin"]);
});
