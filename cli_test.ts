import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { TextLineStream } from "@std/streams/text-line-stream";
import { denoCommand } from "./tests/_deno.ts";
import { makeTempDir } from "./fs/temp.ts";

const PERMISSIONS = {
  net: ["127.0.0.1"],
  read: [".", "/tmp", "../shared/std-offline"],
  write: ["/tmp"],
  run: ["deno"],
} satisfies Deno.PermissionOptionsObject;

const decoder = new TextDecoder();

/** Runs `deno run <flags> cli.ts <args>` to completion. */
async function aio(
  flags: string[],
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = denoCommand("run", [...flags, "cli.ts", ...args], {
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** A long-running `aio` child whose stdout is read line by line. */
class Running implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stderr: Promise<string>;
  readonly seen: string[] = [];

  constructor(flags: string[], args: string[]) {
    this.child = denoCommand("run", [...flags, "cli.ts", ...args], {
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = this.child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream())
      .getReader();
    this.#stderr = new Response(this.child.stderr).text();
  }

  /** Reads lines until one matches. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    while (true) {
      const { value, done } = await this.#lines.read();
      if (done) {
        throw new Error(
          `exited before printing ${pattern}:\n${
            this.seen.join("\n")
          }\n${await this.#stderr}`,
        );
      }
      this.seen.push(value);
      const match = value.match(pattern);
      if (match) return match;
    }
  }

  /** Sends `signal` and returns the exit code and the rest of the output. */
  async stop(signal: Deno.Signal): Promise<{ code: number; rest: string }> {
    this.child.kill(signal);
    const rest: string[] = [];
    while (true) {
      const { value, done } = await this.#lines.read();
      if (done) break;
      rest.push(value);
    }
    const { code } = await this.child.status;
    await this.#stderr;
    return { code, rest: rest.join("\n") };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#lines.cancel().catch(() => {});
    await this.child.status;
    await this.#stderr;
  }
}

Deno.test({
  name: "aio prints usage and exits 2 on bad arguments, without a stack",
  permissions: PERMISSIONS,
  async fn(t) {
    const cases: [string[], RegExp][] = [
      [[], /Cannot run: no command given/],
      [["launch"], /Cannot run "launch": unknown command/],
      [["serve"], /Cannot serve: say what, tcp or http/],
      [["serve", "udp"], /Cannot serve "udp": expected tcp or http/],
      [["serve", "tcp", "--port", "99999"], /not a port number/],
      [["serve", "http", "--dir"], /--dir: it needs a value/],
      [["fetch"], /no URLs given/],
      [["fetch", "ftp://x/"], /only http and https/],
      [["crawl", "-"], /Cannot crawl "-": not an absolute URL/],
      [
        ["fetch", "http://::1/"],
        /Cannot fetch "http:\/\/::1\/": not a valid URL/,
      ],
      [["fetch", "--concurrency", "0", "http://127.0.0.1/"], /at least 1/],
      [["fetch", "--timeout", "soon", "http://127.0.0.1/"], /not a duration/],
      [["crawl"], /expected one start URL, received 0/],
      [
        ["crawl", "--next", "xml", "http://127.0.0.1/"],
        /"link" or "json:PATH"/,
      ],
      [["demo", "--bogus"], /unknown flag "--bogus"/],
      [["fetch", "--timeout", "0", "http://127.0.0.1/"], /--timeout: .*0/],
      [["fetch", "-o", "", "http://127.0.0.1/"], /--out: it is empty/],
      [["crawl", "-t", "0s", "http://127.0.0.1/"], /--timeout: .*0/],
      [["serve", "http", "--request-timeout", "0"], /--request-timeout/],
      [["serve", "tcp", "--idle-timeout", "0ms"], /--idle-timeout/],
      [["serve", "tcp", "--line-timeout", "1s"], /only --lines reads/],
      [["serve", "tcp", "-l", "--line-timeout", "0s"], /--line-timeout/],
      [["serve", "http", "--hostname="], /--hostname: it is empty/],
      [["serve", "tcp", "--hostname", ""], /--hostname: it is empty/],
      [
        ["fetch", "-o", "--concurrency", "4", "http://127.0.0.1/"],
        /--out: it needs a value, received the flag "--concurrency"/,
      ],
    ];
    for (const [args, message] of cases) {
      await t.step(args.join(" ") || "(nothing)", async () => {
        const { code, stdout, stderr } = await aio([], args);
        assertEquals(code, 2, stderr);
        assertEquals(stdout, "");
        const [first] = stderr.split("\n");
        assertMatch(first!, /^aio: Cannot /);
        assertMatch(first!, message);
        assertStringIncludes(stderr, "usage: aio");
        assert(!/^\s+at /m.test(stderr), "no stack trace");
        // A server's own usage, not both.
        if (args[0] === "serve" && args[1] === "tcp") {
          assertEquals(stderr.includes("--dir"), false);
        }
      });
    }
  },
});

Deno.test({
  name:
    "aio fetch exits 2 on bad standard input, naming the line, without usage",
  permissions: PERMISSIONS,
  async fn() {
    const cases: [string, string][] = [
      [
        `http://a/\n${"x".repeat(70_000)}\n`,
        "Cannot read line 2 from standard input: longer than 65536 characters",
      ],
      [
        "# urls\nhttp://h/\rhttp://h/a\n",
        "(line 2 of standard input): it holds a tab or a line break",
      ],
      ["http://a/\nnot a url\n", "(line 2 of standard input)"],
    ];
    for (const [stdin, message] of cases) {
      const { code, stdout, stderr } = await aio([], ["fetch", "-"], stdin);
      assertEquals(code, 2, stderr);
      assertEquals(stdout, "");
      assertStringIncludes(stderr, message);
      assertEquals(stderr.includes("usage:"), false, stderr);
    }
  },
});

Deno.test({
  name: "aio --help works for every command",
  permissions: PERMISSIONS,
  async fn() {
    for (
      const args of [
        ["--help"],
        ["serve", "--help"],
        ["serve", "tcp", "-h"],
        ["serve", "http", "--help"],
        ["fetch", "--help"],
        ["crawl", "-h"],
        ["demo", "--help"],
        ["help", "fetch"],
      ]
    ) {
      const { code, stdout } = await aio([], args);
      assertEquals(code, 0, args.join(" "));
      assertMatch(stdout, /^usage: aio/);
      if (args[0] !== "--help") assertStringIncludes(stdout, "permissions:");
      if (args[0] === "help") assertMatch(stdout, /^usage: aio fetch/);
      // Each server's help is its own.
      if (args[1] === "tcp") assertEquals(stdout.includes("--dir"), false);
      if (args[1] === "http") assertEquals(stdout.includes("--lines"), false);
    }
  },
});

Deno.test({
  name: "aio names the command whose help lists a missing permission",
  permissions: PERMISSIONS,
  async fn() {
    const { code, stdout, stderr } = await aio(["--no-prompt"], [
      "serve",
      "tcp",
      "--port",
      "0",
    ]);
    assertEquals(code, 1);
    assertEquals(stdout, "");
    assertMatch(
      stderr,
      /^aio: Requires net access to "127\.0\.0\.1:0".* \(see "aio serve tcp --help" for the permissions\)\n$/,
    );
    // crawl reports its own failures.
    const crawl = await aio(["--no-prompt"], ["crawl", "http://127.0.0.1:8/"]);
    assertEquals(crawl.code, 1);
    assertMatch(
      crawl.stderr,
      /^aio crawl: Requires net access to "127\.0\.0\.1:8".* \(see "aio crawl --help" for the permissions\)\n$/,
    );
  },
});

Deno.test({
  name: "aio serve tcp echoes until SIGINT, then shuts down gracefully",
  permissions: PERMISSIONS,
  async fn(t) {
    for (const lines of [false, true]) {
      await t.step(lines ? "--lines" : "raw bytes", async () => {
        await using server = new Running(
          ["-N=127.0.0.1"],
          ["serve", "tcp", "--port", "0", ...(lines ? ["--lines"] : [])],
        );
        const [, port] = await server.waitFor(/server on 127\.0\.0\.1:(\d+)/);
        using conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: Number(port),
        });
        await conn.write(new TextEncoder().encode("one\r\ntwo\n"));
        await conn.closeWrite();
        const reply = await new Response(conn.readable).text();
        assertEquals(reply, lines ? "one\ntwo\n" : "one\r\ntwo\n");
        const { code, rest } = await server.stop("SIGINT");
        assertEquals(code, 0);
        assertEquals(rest, "Shutting down\nClosed");
      });
    }
  },
});

Deno.test({
  name:
    "aio serve shuts down gracefully with its standard output closed, and exits at once on a second signal",
  permissions: PERMISSIONS,
  async fn(t) {
    await t.step("standard output closed", async () => {
      const child = denoCommand("run", [
        "-N=127.0.0.1",
        "cli.ts",
        "serve",
        "tcp",
        "--port",
        "0",
      ], { stdin: "null", stdout: "piped", stderr: "null" }).spawn();
      const reader = child.stdout.getReader();
      for (let seen = ""; !seen.includes("server on");) {
        const { value, done } = await reader.read();
        assert(!done, `exited early, after: ${seen}`);
        seen += decoder.decode(value);
      }
      // Closed at once (no read pending): "Shutting down" and "Closed" fail.
      await reader.cancel();
      child.kill("SIGINT");
      assertEquals((await child.status).code, 0);
    });
    await t.step("a second SIGINT", async () => {
      await using server = new Running(["-N=127.0.0.1"], [
        "serve",
        "tcp",
        "--port",
        "0",
        "--shutdown-timeout",
        "60s",
      ]);
      const [, port] = await server.waitFor(/server on 127\.0\.0\.1:(\d+)/);
      // An idle echo client: the graceful shutdown would wait 60 s for it.
      using conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(port),
      });
      await conn.write(new TextEncoder().encode("x"));
      await conn.read(new Uint8Array(1)); // accepted and served
      server.child.kill("SIGINT");
      await server.waitFor(/Shutting down/);
      const start = performance.now();
      const { code } = await server.stop("SIGINT");
      assertEquals(code, 130);
      assert(performance.now() - start < 10_000, "not at once");
    });
  },
});

Deno.test({
  name: "aio exits 130 on SIGINT and 143 on SIGTERM while a request is out",
  permissions: PERMISSIONS,
  async fn(t) {
    let arrived = Promise.withResolvers<void>();
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        arrived.resolve();
        await new Promise((resolve) =>
          request.signal.addEventListener("abort", resolve)
        );
        return new Response("never read");
      },
    );
    const url = `http://127.0.0.1:${server.addr.port}/`;
    for (
      const [signal, expected] of [["SIGINT", 130], ["SIGTERM", 143]] as const
    ) {
      await t.step(signal, async () => {
        arrived = Promise.withResolvers();
        const child = denoCommand("run", [
          "-N=127.0.0.1",
          "cli.ts",
          "fetch",
          url,
        ], {
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        await arrived.promise;
        child.kill(signal);
        const { code, stderr } = await child.output();
        assertEquals(decoder.decode(stderr), "aio: interrupted\n");
        assertEquals(code, expected);
      });
    }
  },
});

Deno.test({
  name:
    "aio serve http answers Hello, world! and serves a directory confined to it",
  permissions: PERMISSIONS,
  async fn() {
    await using temp = await makeTempDir();
    const base = temp.path;
    await Deno.mkdir(`${base}/site`);
    await Deno.writeTextFile(`${base}/site/page.txt`, "a page");
    await Deno.writeTextFile(`${base}/secret.txt`, "secret");
    {
      await using server = new Running(["-N=127.0.0.1"], [
        "serve",
        "http",
        "--port",
        "0",
        "--quiet",
      ]);
      const [, url] = await server.waitFor(/Hello server on (http:\S+)/);
      const response = await fetch(url!);
      assertEquals(await response.text(), "Hello, world!");
      // A client stalled mid-upload does not hold the exit up.
      using stalled = await Deno.connect({
        port: Number(new URL(url!).port),
      });
      await stalled.write(new TextEncoder().encode(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello",
      ));
      await stalled.read(new Uint8Array(1024)); // the answer
      assertEquals((await server.stop("SIGTERM")).code, 0);
    }
    await using server = new Running(
      ["-N=127.0.0.1", `-R=${base}/site`],
      ["serve", "http", "--port", "0", "--dir", `${base}/site`],
    );
    const [, url] = await server.waitFor(/on (http:\S+)/);
    let response = await fetch(`${url}page.txt`);
    assertEquals(await response.text(), "a page");
    for (
      const escape of [
        "..%2fsecret.txt",
        "%2e%2e/secret.txt",
        "x/..%2F..%2Fsecret.txt",
      ]
    ) {
      response = await fetch(`${url}${escape}`);
      assert(response.status === 403 || response.status === 404, escape);
      assert(!(await response.text()).includes("secret"), escape);
    }
    // The access log is on by default.
    await server.waitFor(/"GET http:\S+page\.txt" 200/);
    assertEquals((await server.stop("SIGINT")).code, 0);
  },
});

Deno.test({
  name: "aio serve http serves HTTPS with --cert and --key",
  permissions: PERMISSIONS,
  async fn() {
    const tls = "server/testdata";
    {
      await using server = new Running(["-N=127.0.0.1", `-R=${tls}`], [
        "serve",
        "http",
        "--port",
        "0",
        "--quiet",
        "--cert",
        `${tls}/tls_cert.pem`,
        "--key",
        `${tls}/tls_key.pem`,
      ]);
      const [, url] = await server.waitFor(/Hello server on (https:\S+)/);
      using client = Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(`${tls}/tls_ca.pem`)],
      });
      const response = await fetch(url!, { client });
      assertEquals(await response.text(), "Hello, world!");
      assertEquals((await server.stop("SIGINT")).code, 0);
    }
    const { code, stderr } = await aio(["-N=127.0.0.1", `-R=${tls}`], [
      "serve",
      "http",
      "--cert",
      `${tls}/tls_cert.pem`,
    ]);
    assertEquals(code, 2, stderr);
    assertStringIncludes(stderr, "--cert and --key go together");
  },
});

/** A loopback server for the client commands. */
function testServer() {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url);
      const page = Number(url.searchParams.get("page") ?? 1);
      switch (url.pathname) {
        case "/slow":
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          return new Response("late");
        case "/missing":
          return new Response("no", { status: 404 });
        case "/links":
          return new Response(`page ${page}`, {
            headers: page < 3
              ? { link: `</links?page=${page + 1}>; rel="next"` }
              : {},
          });
        case "/json":
          return Response.json({
            meta: { next: page < 4 ? `/json?page=${page + 1}` : null },
          });
        case "/cycle":
          return new Response("again", {
            headers: { link: '</cycle>; rel="next"' },
          });
        default:
          return new Response(`body of ${url.pathname}`);
      }
    },
  );
}

Deno.test({
  name: "aio fetch gets URLs at once, in order, and exits 1 when one fails",
  permissions: PERMISSIONS,
  async fn(t) {
    await using server = testServer();
    const base = `http://127.0.0.1:${server.addr.port}`;
    const urls = [`${base}/a`, `${base}/missing`, `${base}/slow`, `${base}/bb`];

    await t.step("arguments to stdout", async () => {
      const { code, stdout, stderr } = await aio(
        ["-N=127.0.0.1"],
        ["fetch", "--timeout", "500ms", "--retries", "0", ...urls],
      );
      assertEquals(code, 1);
      const records = stdout.trim().split("\n").map((line) => JSON.parse(line));
      assertEquals(records.map((r) => r.url), urls);
      assertEquals(records.map((r) => r.status), [200, 404, null, 200]);
      assertEquals(records.map((r) => r.bytes), [10, 0, 0, 11]); // "body of /a"
      assertEquals(records[1].error, "HTTP 404");
      assertMatch(records[2].error, /^timeout after 500 ms/);
      // Not a terminal: plain progress lines, no carriage returns.
      assertStringIncludes(stderr, "4/4  2 failed");
      assert(!stderr.includes("\r"));
    });

    await t.step("--out - is standard output", async () => {
      const { code, stdout } = await aio(
        ["-N=127.0.0.1"],
        ["fetch", "--out", "-", `${base}/a`],
      );
      assertEquals(code, 0);
      assertEquals(JSON.parse(stdout).url, `${base}/a`);
    });

    await t.step("--out /dev/stdout is standard output", async () => {
      const { code, stdout, stderr } = await aio(
        ["-N=127.0.0.1"],
        ["fetch", "--out", "/dev/stdout", `${base}/a`],
      );
      assertEquals(code, 0, stderr);
      assertEquals(JSON.parse(stdout).url, `${base}/a`);
    });

    await t.step("a reader that leaves early ends it quietly", async () => {
      // `aio fetch - < urls | head -1`
      const child = denoCommand("run", ["-N=127.0.0.1", "cli.ts", "fetch"], {
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const input = child.stdin.getWriter();
      await input.write(
        new TextEncoder().encode(`${base}/a\n`.repeat(2_000)),
      );
      await input.close();
      const lines = child.stdout.pipeThrough(new TextDecoderStream())
        .pipeThrough(new TextLineStream()).getReader();
      assertEquals(JSON.parse((await lines.read()).value!).status, 200);
      await lines.cancel();
      assertEquals((await child.status).code, 141);
      assert(!(await stderr).includes("aio:"), await stderr);
    });

    await t.step("standard input to an atomically written file", async () => {
      await using temp = await makeTempDir();
      const dir = temp.path;
      const out = `${dir}/results.jsonl`;
      await Deno.writeTextFile(out, "old results\n");
      const { code, stderr } = await aio(
        ["-N=127.0.0.1", `-R=${dir}`, `-W=${dir}`],
        ["fetch", "-", "--out", out],
        `${base}/one\n\n# a comment\n${base}/two\n`,
      );
      assertEquals(code, 0, stderr);
      const records = (await Deno.readTextFile(out)).trim().split("\n").map((
        line,
      ) => JSON.parse(line));
      assertEquals(records.map((r) => [r.url, r.status]), [[
        `${base}/one`,
        200,
      ], [`${base}/two`, 200]]);
      assertEquals(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), [
        "results.jsonl",
      ]);
    });
  },
});

Deno.test({
  name: "aio fetch and crawl name the real reason a connection failed",
  permissions: PERMISSIONS,
  async fn(t) {
    // A port that was just free: nothing listens there any more.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${listener.addr.port}/`;
    listener.close();

    await t.step("fetch", async () => {
      const { code, stdout } = await aio(["-N=127.0.0.1"], [
        "fetch",
        "--retries",
        "0",
        url,
      ]);
      assertEquals(code, 1);
      const record = JSON.parse(stdout);
      assertEquals(record.status, null);
      assertMatch(record.error, /refused/i);
    });

    await t.step("crawl", async () => {
      const { code, stderr } = await aio(["-N=127.0.0.1"], [
        "crawl",
        "--retries",
        "0",
        url,
      ]);
      assertEquals(code, 1);
      assertMatch(stderr, /^aio crawl: Cannot GET .*refused/im);
      assert(!/fetch failed/i.test(stderr), stderr);
    });
  },
});

Deno.test({
  name: "aio crawl follows Link headers and JSON fields, and stops at a cycle",
  permissions: PERMISSIONS,
  async fn(t) {
    await using server = testServer();
    const base = `http://127.0.0.1:${server.addr.port}`;
    const crawl = (...args: string[]) =>
      aio(["-N=127.0.0.1"], ["crawl", ...args]);

    await t.step("Link header", async () => {
      const { code, stdout, stderr } = await crawl(
        `${base}/links`,
      );
      assertEquals(code, 0);
      assertEquals(
        stderr,
        'aio crawl: 3 pages; page 3 has no Link rel="next"\n',
      );
      const pages = stdout.trim().split("\n").map((line) => JSON.parse(line));
      assertEquals(pages.map((p) => [p.page, p.url, p.bytes]), [
        [1, `${base}/links`, 6],
        [2, `${base}/links?page=2`, 6],
        [3, `${base}/links?page=3`, 6],
      ]);
    });

    await t.step("JSON field, --max-pages", async () => {
      let { code, stdout } = await crawl(
        "--next",
        "json:meta.next",
        `${base}/json`,
      );
      assertEquals(code, 0);
      assertEquals(stdout.trim().split("\n").length, 4);
      let stderr;
      ({ code, stdout, stderr } = await crawl(
        "-n",
        "json:meta.next",
        "-m",
        "2",
        `${base}/json`,
      ));
      assertEquals(code, 0);
      assertEquals(stdout.trim().split("\n").length, 2);
      assertEquals(stderr, "aio crawl: 2 pages; --max-pages 2 reached\n");
      // Exactly --max-pages pages, the last without a next one.
      ({ code, stderr } = await crawl(
        "-n",
        "json:meta.next",
        "-m",
        "4",
        `${base}/json`,
      ));
      assertEquals(code, 0);
      assertEquals(
        stderr,
        'aio crawl: 4 pages; page 4 has no next URL at "meta.next"\n',
      );
      ({ code, stdout, stderr } = await crawl(
        "-n",
        "json:meta.nxt",
        `${base}/json`,
      ));
      assertEquals(code, 0);
      assertEquals(stdout.trim().split("\n").length, 1);
      assertEquals(
        stderr,
        'aio crawl: 1 page; page 1 has no next URL at "meta.nxt"\n',
      );
    });

    await t.step("a page that is not JSON, with --next json:", async () => {
      const { code, stdout, stderr } = await crawl(
        "--next",
        "json:next",
        `${base}/links`,
      );
      assertEquals(code, 1);
      assertEquals(stdout, "");
      assertStringIncludes(
        stderr,
        `aio crawl: Cannot read the next URL of "${base}/links": the page is not JSON (it starts with "page 1")`,
      );
    });

    await t.step("a first page that fails leaves --out as it was", async () => {
      await using temp = await makeTempDir();
      const dir = temp.path;
      const out = `${dir}/pages.jsonl`;
      await Deno.writeTextFile(out, "old\n");
      const { code, stderr } = await aio(
        ["-N=127.0.0.1", `-R=${dir}`, `-W=${dir}`],
        ["crawl", "--out", out, `${base}/missing`],
      );
      assertEquals(code, 1);
      assertStringIncludes(stderr, "404 Not Found");
      assertEquals(await Deno.readTextFile(out), "old\n");
    });

    await t.step("cycle", async () => {
      const { code, stdout, stderr } = await crawl(
        `${base}/cycle`,
      );
      assertEquals(code, 1);
      assertEquals(stdout.trim().split("\n").length, 1);
      assertMatch(
        stderr,
        /^aio crawl: Cannot paginate: .*\/cycle", which was already fetched/m,
      );
    });
  },
});

Deno.test({
  name: "aio demo runs the whole tutorial on loopback and exits 0",
  permissions: PERMISSIONS,
  async fn() {
    const start = performance.now();
    const { code, stdout, stderr } = await aio(
      ["-N=127.0.0.1", "-R=/tmp", "-W=/tmp", "--unstable-no-legacy-abort"],
      ["demo", "--requests", "50"],
    );
    assertEquals(code, 0, stdout + stderr);
    for (
      const line of [
        "tcp echo: 20/20 echoed intact",
        "crawl: 5 pages followed",
        "slow: 3/3 timed out",
        "flaky: 5/5 succeeded after 5 retries",
        "every step behaved",
      ]
    ) {
      assertStringIncludes(stdout, line);
    }
    assertMatch(stdout, /^gather\s+50\s+0\s+0\s+0\s/m);
    assertMatch(stdout, /^total\s+84\s+3\s+5\s+3\s/m);
    assertMatch(
      stdout,
      /results: \S+results\.jsonl \(84 JSON lines, written atomically\)/,
    );
    assertStringIncludes(stderr, "gather [");
    assert(!stderr.includes("legacy"), stderr);
    assert(performance.now() - start < 60_000);
  },
});

Deno.test({
  name: "aio demo whose reader leaves after one line exits 141 quietly",
  permissions: PERMISSIONS,
  async fn() {
    const child = denoCommand("run", [
      "-N=127.0.0.1",
      "-R=/tmp",
      "-W=/tmp",
      "cli.ts",
      "demo",
    ], { stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream()).getReader();
    assertMatch((await lines.read()).value ?? "", /^echo server on /);
    await lines.cancel(); // `aio demo | head -1`
    assertEquals((await child.status).code, 141);
    assert(!(await stderr).includes("aio:"), await stderr);
  },
});
