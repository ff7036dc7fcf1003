/**
 * Runs every file of examples/ as a user would, in a `deno run` child with
 * the narrowest flags, against servers on loopback ports (no external
 * network). Servers are stopped with the signals a user sends.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { delay } from "@std/async/delay";
import { denoCommand } from "./_deno.ts";
import { closedPort, serveLoopback } from "./_loopback.ts";
import { startScript } from "./_script.ts";

const PERMISSIONS: Deno.PermissionOptionsObject = {
  run: ["deno"],
  read: ["../shared/std-offline"],
  net: ["127.0.0.1"],
};
const FILE_PERMISSIONS: Deno.PermissionOptionsObject = {
  ...PERMISSIONS,
  read: ["../shared/std-offline", "/tmp"],
  write: ["/tmp"],
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `deno run <flags> examples/<name> <args>` to the end. */
async function runExample(
  name: string,
  flags: string[],
  args: string[] = [],
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await denoCommand(
    "run",
    [...flags, `examples/${name}`, ...args],
    { env: env ?? {}, stdin: "null", stdout: "piped", stderr: "piped" },
  ).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** A user error: exactly one line, starting with `start` (no stack trace). */
function assertOneLine(text: string, start: string): void {
  assert(text.startsWith(start), `Expected "${start}..." but got:\n${text}`);
  assertEquals(
    text.indexOf("\n"),
    text.length - 1,
    `One line expected:\n${text}`,
  );
}

/** The output with the elapsed time printed as "N". */
function withoutTime(stdout: string): string {
  return stdout.replace(/ in \d+ ms\n/, " in N ms\n");
}

/** Sends `text` and reads its echo. */
async function roundTrip(conn: Deno.Conn, text: string): Promise<string> {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) {
    done += await conn.write(bytes.subarray(done));
  }
  const echoed = new Uint8Array(bytes.length);
  for (let done = 0; done < echoed.length;) {
    const read = await conn.read(echoed.subarray(done));
    if (read === null) throw new Error(`Connection closed after ${done} bytes`);
    done += read;
  }
  return decoder.decode(echoed);
}

Deno.test({
  name:
    "examples/echo_server.ts echoes and drains open connections on a signal",
  permissions: PERMISSIONS,
  async fn(t) {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      await t.step(signal, async () => {
        const script = startScript("run", [
          "-N=127.0.0.1:0",
          "examples/echo_server.ts",
          "--port",
          "0",
        ]);
        let stopping = false;
        try {
          const [, port] = await script.waitFor(
            /Serving on 127\.0\.0\.1:(\d+)\n/,
          );
          using conn = await Deno.connect({ port: Number(port) });
          assertEquals(await roundTrip(conn, "hello\n"), "hello\n");
          await script.waitFor(/Connection from 127\.0\.0\.1:\d+\n/);

          script.child.kill(signal);
          stopping = true;
          await script.waitFor(/Shutting down\n/);
          // Still served while the server drains; done when the client is.
          assertEquals(await roundTrip(conn, "still here"), "still here");
          await conn.closeWrite();
          assertEquals(await conn.read(new Uint8Array(1)), null);
        } finally {
          if (!stopping) script.child.kill("SIGKILL");
        }
        const { code, stdout, stderr } = await script.exited();
        assertEquals(code, 0, stderr);
        assertMatch(stdout, /\nClosed 127\.0\.0\.1:\d+\nServer closed\n$/);
        assertEquals(stderr, "");
      });
    }
  },
});

Deno.test({
  name: "examples/hello_server.ts answers requests in flight on SIGTERM",
  permissions: PERMISSIONS,
  async fn() {
    const script = startScript("run", [
      "-N=127.0.0.1:0",
      "examples/hello_server.ts",
      "--port",
      "0",
    ]);
    let stopping = false;
    try {
      const [, port] = await script.waitFor(
        /Serving on http:\/\/127\.0\.0\.1:(\d+)\/\n/,
      );
      const base = `http://127.0.0.1:${port}`;
      const answers = Promise.all(["/", "/again"].map(async (path) => {
        const response = await fetch(base + path);
        return [response.status, await response.text()];
      }));
      answers.catch(() => {}); // awaited below, unless the test fails first
      // Both are being handled at once (each takes a second).
      await script.waitFor(/Received GET \/ from 127\.0\.0\.1:\d+\n/);
      await script.waitFor(/Received GET \/again from 127\.0\.0\.1:\d+\n/);

      script.child.kill("SIGTERM");
      stopping = true;
      await script.waitFor(/Shutting down\n/);
      assertEquals(await answers, [
        [200, "Hello, world!"],
        [200, "Hello, world!"],
      ]);
    } finally {
      if (!stopping) script.child.kill("SIGKILL");
    }
    const { code, stdout, stderr } = await script.exited();
    assertEquals(code, 0, stderr);
    assertMatch(stdout, /\nServer closed\n$/);
    assertEquals(stderr, "");
  },
});

Deno.test({
  name: "examples/*_server.ts report a bad start in one line",
  permissions: PERMISSIONS,
  async fn(t) {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String(taken.addr.port);
    for (const name of ["echo", "hello"]) {
      await t.step(`${name}_server.ts, port taken`, async () => {
        const { code, stderr } = await runExample(
          `${name}_server.ts`,
          [`-N=127.0.0.1:${port}`],
          ["--port", port],
        );
        assertEquals(code, 1);
        assertOneLine(stderr, `Cannot start the ${name} server: `);
      });
      await t.step(`${name}_server.ts, unknown flag`, async () => {
        const { code, stderr } = await runExample(
          `${name}_server.ts`,
          [],
          ["--prot", "8080"],
        );
        assertEquals(code, 1);
        assertOneLine(stderr, `Cannot start the ${name} server: `);
        assertStringIncludes(stderr, "--prot");
      });
    }
  },
});

Deno.test({
  name: "examples/fetch_one.ts prints the page or reports the failure",
  permissions: PERMISSIONS,
  async fn(t) {
    const release = Promise.withResolvers<void>();
    await using server = serveLoopback(async (request) => {
      switch (new URL(request.url).pathname) {
        case "/":
          return new Response("<p>hello</p>");
        case "/slow": // answers when the steps are over
          await release.promise;
          return new Response("too late");
        default:
          return new Response("no such page", { status: 404 });
      }
    });
    const flags = [`-N=127.0.0.1:${server.server.addr.port}`];

    try {
      await t.step("a page", async () => {
        const result = await runExample("fetch_one.ts", flags, [server.url()]);
        assertEquals(result, { code: 0, stdout: "<p>hello</p>\n", stderr: "" });
      });
      await t.step("an HTTP error", async () => {
        const url = server.url("/missing");
        const { code, stdout, stderr } = await runExample(
          "fetch_one.ts",
          flags,
          [url],
        );
        assertEquals([code, stdout], [1, ""]);
        assertOneLine(stderr, `Error fetching data from ${url}: `);
        assertStringIncludes(stderr, "404");
      });
      await t.step("a timeout", async () => {
        const url = server.url("/slow");
        const { code, stdout, stderr } = await runExample(
          "fetch_one.ts",
          flags,
          [url, "--timeout", "0.2"],
        );
        assertEquals([code, stdout], [1, ""]);
        assertOneLine(stderr, `Error fetching data from ${url}: `);
        assertStringIncludes(stderr, "200 ms");
      });
      await t.step("a refused connection", async () => {
        const port = closedPort();
        const url = `http://127.0.0.1:${port}/`;
        const { code, stdout, stderr } = await runExample(
          "fetch_one.ts",
          [`-N=127.0.0.1:${port}`],
          [url],
        );
        assertEquals([code, stdout], [1, ""]);
        assertOneLine(stderr, `Error fetching data from ${url}: `);
      });
    } finally {
      release.resolve();
    }
  },
});

/** Requests seen by a test server: their paths, and the most at once. */
function tracker() {
  let inFlight = 0;
  const seen = { paths: [] as string[], peak: 0 };
  return {
    seen,
    async track(request: Request, work: (path: string) => Promise<void>) {
      const path = new URL(request.url).pathname;
      seen.paths.push(path);
      seen.peak = Math.max(seen.peak, ++inFlight);
      try {
        await work(path);
      } finally {
        inFlight--;
      }
      return path === "/missing"
        ? new Response("no such page", { status: 404 })
        : new Response(path); // its length tells the pages apart
    },
  };
}

Deno.test({
  name: "examples/fetch_sequential.ts fetches one URL after another",
  permissions: PERMISSIONS,
  async fn(t) {
    const DELAY = 100;
    const { seen, track } = tracker();
    await using server = serveLoopback((request) =>
      track(request, () => delay(DELAY))
    );
    const flags = [`-N=127.0.0.1:${server.server.addr.port}`];
    const urls = ["/a", "/bb", "/ccc"].map((path) => server.url(path));

    await t.step("all succeed", async () => {
      const { code, stdout, stderr } = await runExample(
        "fetch_sequential.ts",
        flags,
        urls,
      );
      assertEquals([code, stderr], [0, ""]);
      const lines = stdout.split("\n");
      assertEquals(lines.slice(0, 3), [
        `Response from ${urls[0]}: 2 characters`,
        `Response from ${urls[1]}: 3 characters`,
        `Response from ${urls[2]}: 4 characters`,
      ]);
      const [, elapsed] = lines[3]!.match(
        /^Fetched 3 URLs one after another in (\d+) ms$/,
      )!;
      assertGreaterOrEqual(Number(elapsed), 3 * DELAY * 0.9);
      assertEquals(seen, { paths: ["/a", "/bb", "/ccc"], peak: 1 });
    });
    await t.step("one fails, the others are fetched", async () => {
      const missing = server.url("/missing");
      const { code, stdout, stderr } = await runExample(
        "fetch_sequential.ts",
        flags,
        [urls[0]!, missing, urls[2]!],
      );
      assertEquals(code, 1);
      assertEquals(
        withoutTime(stdout),
        `Response from ${urls[0]}: 2 characters\n` +
          `Response from ${urls[2]}: 4 characters\n` +
          "Fetched 3 URLs one after another in N ms\n",
      );
      assertOneLine(stderr, `Error fetching ${missing}: `);
    });
  },
});

Deno.test({
  name: "examples/fetch_gather.ts fetches all URLs at once, results in order",
  permissions: PERMISSIONS,
  async fn(t) {
    await t.step("all succeed", async () => {
      // Holds every request until all three have arrived (a sequential
      // client would wait out the fallback and fail the peak check), then
      // answers the first URL last.
      const answerDelay: Record<string, number> = { "/a": 100, "/bb": 50 };
      const arrived = Promise.withResolvers<void>();
      const { seen, track } = tracker();
      await using server = serveLoopback((request) =>
        track(request, async (path) => {
          if (seen.paths.length === 3) arrived.resolve();
          const fallback = new AbortController();
          await Promise.race([
            arrived.promise,
            delay(5_000, { signal: fallback.signal }).catch(() => {}),
          ]);
          fallback.abort();
          await delay(answerDelay[path] ?? 0);
        })
      );
      const urls = ["/a", "/bb", "/ccc"].map((path) => server.url(path));
      const { code, stdout, stderr } = await runExample(
        "fetch_gather.ts",
        [`-N=127.0.0.1:${server.server.addr.port}`],
        urls,
      );
      assertEquals(seen.peak, 3);
      assertEquals([code, stderr], [0, ""]);
      assertEquals(
        withoutTime(stdout),
        `Data from ${urls[0]}: 2 characters\n` +
          `Data from ${urls[1]}: 3 characters\n` +
          `Data from ${urls[2]}: 4 characters\n` +
          "Fetched 3 URLs at once in N ms\n",
      );
    });
    await t.step("one fails, the others still count", async () => {
      const { track } = tracker();
      await using server = serveLoopback((request) =>
        track(request, () => Promise.resolve())
      );
      const [a, missing, c] = ["/a", "/missing", "/ccc"].map((path) =>
        server.url(path)
      );
      const { code, stdout, stderr } = await runExample(
        "fetch_gather.ts",
        [`-N=127.0.0.1:${server.server.addr.port}`],
        [a!, missing!, c!],
      );
      assertEquals(code, 1);
      assertEquals(
        withoutTime(stdout),
        `Data from ${a}: 2 characters\nData from ${c}: 4 characters\n` +
          "Fetched 3 URLs at once in N ms\n",
      );
      assertOneLine(stderr, `Error fetching ${missing}: `);
    });
  },
});

Deno.test({
  name: "examples/chain_requests.ts follows the next URL each page names",
  permissions: PERMISSIONS,
  async fn(t) {
    const paths: string[] = [];
    await using server = serveLoopback((request) => {
      const { pathname } = new URL(request.url);
      paths.push(pathname);
      const page = Number(pathname.match(/^\/chain\/(\d+)$/)?.[1]);
      if (page) {
        return Response.json({
          page,
          next: page < 3 ? `/chain/${page + 1}` : null,
        });
      }
      if (pathname === "/loop") return Response.json({ next: "/loop" });
      return new Response("<!doctype html><p>No next page here</p>", {
        headers: { "content-type": "text/html" },
      });
    });
    const flags = [`-N=127.0.0.1:${server.server.addr.port}`];

    await t.step("chains end where no next URL is named", async () => {
      paths.length = 0;
      const { code, stdout, stderr } = await runExample(
        "chain_requests.ts",
        flags,
        [server.url("/chain/1"), server.url("/html")],
      );
      assertEquals([code, stderr], [0, ""]);
      assertEquals(paths, ["/chain/1", "/chain/2", "/chain/3", "/html"]);
      assertEquals(
        stdout.replace(/: \d+ characters\n/g, "\n"),
        `Page 1 from ${server.url("/chain/1")}\n` +
          `Page 2 from ${server.url("/chain/2")}\n` +
          `Page 3 from ${server.url("/chain/3")}\n` +
          `Page 1 from ${server.url("/html")}\n` +
          "Fetched 4 pages from 2 URLs\n",
      );
    });
    await t.step("a cycle is reported, the other chains go on", async () => {
      paths.length = 0;
      const loop = server.url("/loop");
      const { code, stdout, stderr } = await runExample(
        "chain_requests.ts",
        flags,
        [loop, server.url("/chain/3")],
      );
      assertEquals(code, 1);
      assertEquals(paths, ["/loop", "/chain/3"]);
      assertEquals(
        stdout.replace(/: \d+ characters\n/g, "\n"),
        `Page 1 from ${loop}\nPage 1 from ${server.url("/chain/3")}\n` +
          "Fetched 2 pages from 2 URLs\n",
      );
      assertOneLine(stderr, `Error following ${loop}: `);
    });
  },
});

Deno.test({
  name: "examples/write_file.ts writes atomically and reports errors",
  permissions: FILE_PERMISSIONS,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "examples-test-" });
    const list = async () =>
      (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
    const access = [`-R=${dir}`, `-W=${dir}`];
    try {
      await t.step(
        "into a temporary directory, removed at the end",
        async () => {
          const { code, stdout, stderr } = await runExample(
            "write_file.ts",
            access,
            [],
            { TMPDIR: dir },
          );
          assertEquals([code, stderr], [0, ""]);
          const [, written] = stdout.match(/^Wrote (.*)\/hello\.txt\n/)!;
          assert(written!.startsWith(`${dir}/write-file-`), stdout);
          assertStringIncludes(stdout, `Removing ${written} and its content\n`);
          assertEquals(await list(), []);
        },
      );
      await t.step("a given file, nothing else left", async () => {
        const path = `${dir}/notes.txt`;
        await Deno.writeTextFile(path, "old notes");
        const { code, stdout, stderr } = await runExample(
          "write_file.ts",
          access,
          [path, "new notes"],
        );
        assertEquals([code, stdout, stderr], [0, `Wrote ${path}\n`, ""]);
        assertEquals(await Deno.readTextFile(path), "new notes");
        assertEquals(await list(), ["notes.txt"]);
        await Deno.remove(path);
      });
      for (
        const [name, flags, path] of [
          ["a missing directory", access, `${dir}/missing/notes.txt`],
          ["no write permission", [`-R=${dir}`], `${dir}/notes.txt`],
        ] as const
      ) {
        await t.step(name, async () => {
          const { code, stdout, stderr } = await runExample(
            "write_file.ts",
            [...flags],
            [path, "text"],
          );
          assertEquals([code, stdout], [1, ""]);
          assertOneLine(stderr, `Error writing to file ${path}: `);
          assertEquals(await list(), []);
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
