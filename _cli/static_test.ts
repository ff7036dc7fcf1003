import { assertEquals } from "@std/assert";
import { denoCommand } from "../tests/_deno.ts";
import { makeTempDir } from "../fs/temp.ts";
import { safeSegments, staticFiles } from "./static.ts";

// Deno.symlink needs unscoped read and write; a child with just those makes
// the links so that this test keeps its narrow grants.
async function symlink(target: string, path: string): Promise<void> {
  const script = `Deno.symlinkSync(${JSON.stringify(target)}, ${
    JSON.stringify(path)
  })`;
  const { success, stderr } = await denoCommand("eval", ["-R", "-W", script], {
    stderr: "piped",
  }).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
}

// Deno has no mkfifo; a child allowed to run only mkfifo makes the FIFO.
async function mkfifo(path: string): Promise<void> {
  const script = `const { success } = await new Deno.Command("mkfifo", {
    args: [${JSON.stringify(path)}],
  }).output();
  if (!success) throw new Error("Cannot make a FIFO: mkfifo failed");`;
  const { success, stderr } = await denoCommand(
    "eval",
    ["--allow-run=mkfifo", script],
    { stderr: "piped" },
  ).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
}

Deno.test("safeSegments() refuses anything that could leave the root", () => {
  assertEquals(safeSegments("/a/b%20c.txt"), ["a", "b c.txt"]);
  assertEquals(safeSegments("//a///b"), ["a", "b"]);
  for (
    const bad of [
      "/..",
      "/a/%2e%2e/b",
      "/%2E%2E",
      "/a%2fb",
      "/a%5cb",
      "/%00",
      "/%e0%a4%a",
    ]
  ) {
    assertEquals(safeSegments(bad), undefined, bad);
  }
});

Deno.test({
  name: "staticFiles() serves files and refuses escapes",
  permissions: { read: ["/tmp", "."], write: ["/tmp"], run: ["deno"] },
  async fn() {
    const base = await Deno.makeTempDir();
    try {
      const root = `${base}/root`;
      await Deno.mkdir(`${root}/sub`, { recursive: true });
      await Deno.writeTextFile(`${root}/hello.txt`, "hi");
      await Deno.writeTextFile(`${root}/sub/index.html`, "<p>index</p>");
      await Deno.mkdir(`${root}/empty`);
      await Deno.writeTextFile(`${base}/secret.txt`, "secret");
      await symlink(`${base}/secret.txt`, `${root}/link.txt`);
      await symlink("hello.txt", `${root}/inside.txt`);
      const handler = await staticFiles(root);
      const get = (path: string, method = "GET") =>
        handler(new Request(`http://127.0.0.1${path}`, { method }));

      let response = await get("/hello.txt");
      assertEquals(response.status, 200);
      assertEquals(
        response.headers.get("content-type"),
        "text/plain; charset=utf-8",
      );
      assertEquals(response.headers.get("content-length"), "2");
      assertEquals(await response.text(), "hi");

      response = await get("/inside.txt");
      assertEquals(await response.text(), "hi");

      response = await get("/hello.txt", "HEAD");
      assertEquals(response.body, null);
      assertEquals(response.headers.get("content-length"), "2");

      // A conditional GET of an unchanged file: 304, no body.
      const modified = response.headers.get("last-modified")!;
      const since = (date: string) =>
        handler(
          new Request("http://127.0.0.1/hello.txt", {
            headers: { "if-modified-since": date },
          }),
        );
      response = await since(modified);
      assertEquals(response.status, 304);
      assertEquals(response.body, null);
      assertEquals(response.headers.get("last-modified"), modified);
      response = await since(
        new Date(Date.parse(modified) - 1000).toUTCString(),
      );
      assertEquals([response.status, await response.text()], [200, "hi"]);
      response = await since("not a date");
      assertEquals([response.status, await response.text()], [200, "hi"]);

      response = await get("/sub/");
      assertEquals(await response.text(), "<p>index</p>");

      response = await get("/sub");
      assertEquals(response.status, 301);
      assertEquals(response.headers.get("location"), "/sub/");

      response = await get("/empty/");
      assertEquals(response.status, 200);
      assertEquals((await response.text()).includes("<ul>"), true);

      response = await get("/missing");
      assertEquals(response.status, 404);
      await response.body?.cancel();

      response = await get("/hello.txt", "POST");
      assertEquals(response.status, 405);
      assertEquals(response.headers.get("allow"), "GET, HEAD");
      await response.body?.cancel();

      for (
        const escape of [
          "/link.txt",
          "/%2e%2e/secret.txt",
          "/sub/%2E%2E/%2e%2e/secret.txt",
          "/..%2fsecret.txt",
        ]
      ) {
        response = await get(escape);
        // "%2e%2e" is resolved by the URL parser already (-> 404 inside the
        // root); the rest reach the handler's checks (-> 403).
        assertEquals([403, 404].includes(response.status), true, escape);
        assertEquals((await response.text()).includes("secret"), false);
      }
      // The URL parser itself resolves plain "..": still inside the root.
      response = await get("/../../hello.txt");
      assertEquals(await response.text(), "hi");
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "staticFiles() refuses an index.html symlink leaving the root, special files and loops",
  permissions: {
    read: ["/tmp", "."],
    write: ["/tmp"],
    run: ["deno"],
  },
  async fn(t) {
    const base = await Deno.makeTempDir();
    try {
      const root = `${base}/root`;
      await Deno.mkdir(`${root}/site`, { recursive: true });
      await Deno.mkdir(`${root}/dirindex/index.html`, { recursive: true });
      await Deno.writeTextFile(`${base}/secret.txt`, "secret");
      await symlink(`${base}/secret.txt`, `${root}/site/index.html`);
      await symlink("loop-b", `${root}/loop-a`);
      await symlink("loop-a", `${root}/loop-b`);
      await Deno.writeTextFile(`${root}/file.txt`, "x");
      await mkfifo(`${root}/fifo`);
      const handler = await staticFiles(root);
      const get = (path: string, method = "GET") =>
        handler(new Request(`http://127.0.0.1${path}`, { method }));

      await t.step("index.html symlink outside the root", async () => {
        const response = await get("/site/");
        assertEquals(response.status, 403);
        assertEquals((await response.text()).includes("secret"), false);
      });
      await t.step("special files answer 404 at once", async () => {
        for (const path of ["/fifo", "/dirindex/"]) {
          for (const method of ["GET", "HEAD"]) {
            const response = await get(path, method);
            assertEquals(response.status, 404, `${method} ${path}`);
            await response.body?.cancel();
          }
        }
      });
      await t.step("a file asked for as a directory answers 404", async () => {
        const response = await get("/file.txt/");
        assertEquals(response.status, 404);
        await response.body?.cancel();
      });
      await t.step("filesystem errors answer 404, not 500", async () => {
        const tooLong = "/" + "a".repeat(300); // ENAMETOOLONG, a plain Error
        for (
          const path of ["/loop-a", "/loop-a/x", "/file.txt/x", tooLong]
        ) {
          const response = await get(path);
          assertEquals(response.status, 404, path);
          await response.body?.cancel();
        }
      });
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test({
  name: "staticFiles() redirects a directory only to a path on the same host",
  permissions: { read: ["/tmp"], write: ["/tmp"] },
  async fn() {
    const root = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${root}/docs/a b`, { recursive: true });
      const handler = await staticFiles(root);
      for (
        const [path, location] of [
          ["//docs", "/docs/"],
          ["///docs", "/docs/"],
          ["/docs//a%20b", "/docs/a%20b/"],
        ]
      ) {
        const response = await handler(new Request(`http://127.0.0.1${path}`));
        assertEquals(response.status, 301, path);
        assertEquals(response.headers.get("location"), location, path);
      }
      const response = await handler(new Request("http://127.0.0.1//docs/"));
      const body = await response.text();
      assertEquals(body.includes('href="//'), false, body);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "staticFiles() answers 400 for a URL built from a malformed Host",
  permissions: { read: ["/tmp"], write: ["/tmp"] },
  async fn() {
    await using root = await makeTempDir();
    const handler = await staticFiles(root.path);
    // What Deno hands over for "Host: [::1"; new Request() would refuse it.
    const request = { method: "GET", url: "http://[::1/a.txt" } as Request;
    const response = await handler(request);
    assertEquals(response.status, 400);
    assertEquals(await response.text(), "Bad Request\n");
  },
});

Deno.test({
  name:
    "staticFiles() keeps serving the directory a linked root named at start",
  permissions: { read: ["/tmp", "."], write: ["/tmp"], run: ["deno"] },
  async fn() {
    await using dir = await makeTempDir();
    for (const version of ["v1", "v2"]) {
      await Deno.mkdir(`${dir.path}/${version}`);
      await Deno.writeTextFile(`${dir.path}/${version}/a.txt`, version);
    }
    await symlink(`${dir.path}/v1`, `${dir.path}/current`);
    const serve = await staticFiles(`${dir.path}/current`);
    await Deno.remove(`${dir.path}/current`);
    await symlink(`${dir.path}/v2`, `${dir.path}/current`);
    const response = await serve(new Request("http://x/a.txt"));
    assertEquals(response.status, 200);
    assertEquals(await response.text(), "v1");
  },
});

/**
 * Serves `paths` by `staticFiles(root)` in a child `deno run` with `flags`
 * and returns what it printed: "<status> <body>" a line each ("list" for a
 * directory listing), and its standard error.
 */
async function serveInChild(
  dir: string,
  root: string,
  paths: string[],
  flags: string[],
): Promise<{ stdout: string; stderr: string }> {
  const script = `import { staticFiles } from "${
    new URL("./static.ts", import.meta.url).href
  }";
    const serve = await staticFiles(${JSON.stringify(root)});
    for (const path of ${JSON.stringify(paths)}) {
      const response = await serve(new Request("http://x" + path));
      const body = await response.text();
      console.log(response.status, body.includes("<ul>") ? "list" : body.trim());
    }`;
  await Deno.writeTextFile(`${dir}/serve.ts`, script);
  const { stdout, stderr } = await denoCommand(
    "run",
    [...flags, `${dir}/serve.ts`],
    { stdout: "piped", stderr: "piped" },
  ).output();
  const decoder = new TextDecoder();
  return { stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test({
  name: "staticFiles() honours a read denied under a linked root's path",
  permissions: { read: ["/tmp", "."], write: ["/tmp"], run: ["deno"] },
  async fn() {
    await using dir = await makeTempDir();
    await Deno.mkdir(`${dir.path}/site/private`, { recursive: true });
    await Deno.writeTextFile(`${dir.path}/site/a.txt`, "a");
    await Deno.writeTextFile(`${dir.path}/site/private/s.txt`, "secret");
    await symlink(`${dir.path}/site`, `${dir.path}/link`);
    const { stdout, stderr } = await serveInChild(
      dir.path,
      `${dir.path}/link`,
      ["/a.txt", "/private/s.txt", "/private/"],
      [`-R=${dir.path}`, `--deny-read=${dir.path}/link/private`],
    );
    assertEquals(stderr, "");
    assertEquals(stdout, "200 a\n403 Forbidden\n403 Forbidden\n");
  },
});

Deno.test({
  name: "staticFiles() needs read permission only for a linked root's path",
  permissions: { read: ["/tmp", "."], write: ["/tmp"], run: ["deno"] },
  async fn() {
    await using dir = await makeTempDir();
    await Deno.mkdir(`${dir.path}/site/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir.path}/site/a.txt`, "a");
    await Deno.writeTextFile(`${dir.path}/site/sub/index.html`, "i");
    await symlink(`${dir.path}/site`, `${dir.path}/link`);
    const { stdout, stderr } = await serveInChild(
      dir.path,
      `${dir.path}/link/`,
      ["/a.txt", "/sub/", "/"],
      [`-R=${dir.path}/link`],
    );
    assertEquals(stderr, "");
    assertEquals(stdout, "200 a\n200 i\n200 list\n");
  },
});
