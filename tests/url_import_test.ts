import { assertEquals } from "@std/assert";
import { ROOT } from "./_deno.ts";

const OFFLINE_DIR = new URL("../../shared/std-offline/", import.meta.url);

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}

/** A script that uses the library through its root module, by URL. */
const MAIN = `
import { fetchText, serveHttp } from "./mod.ts";
await using server = serveHttp(() => new Response("Hello, world!"), {
  onListen() {},
});
console.log(await fetchText(\`http://127.0.0.1:\${server.addr.port}/\`));
`;

Deno.test({
  name: "mod.ts works imported by URL, without our deno.json or an import map",
  permissions: {
    run: ["deno"],
    read: [".", "../shared/std-offline"],
    net: ["127.0.0.1"],
  },
  async fn() {
    // The checkout served over HTTP, as a Git host serves raw files; where
    // JSR is unreachable, its stand-ins are served beside it under /std/.
    await using files = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const path = decodeURIComponent(new URL(request.url).pathname);
        const file = path.startsWith("/std/")
          ? new URL(path.slice("/std/".length), OFFLINE_DIR)
          : new URL(path.slice(1), `file://${ROOT}`);
        try {
          const body = path === "/main.ts" ? MAIN : await Deno.readFile(file);
          return new Response(body, {
            headers: { "content-type": "application/typescript" },
          });
        } catch {
          return new Response("Not Found", { status: 404 });
        }
      },
    );
    const origin = `http://127.0.0.1:${files.addr.port}`;
    const args = [
      "run",
      "--no-config",
      "--no-lock",
      `--allow-import=127.0.0.1:${files.addr.port}`,
      "-N=127.0.0.1",
    ];
    if (await exists(new URL("import_map.json", OFFLINE_DIR))) {
      // Only the fully qualified `jsr:@std/...@^x` names: a user without our
      // deno.json has nothing that resolves a bare "@std/async".
      const { imports } = JSON.parse(
        await Deno.readTextFile(new URL("import_map.json", OFFLINE_DIR)),
      ) as { imports: Record<string, string> };
      const jsrOnly = Object.fromEntries(
        Object.entries(imports)
          .filter(([name]) => name.startsWith("jsr:"))
          .map(([name, path]) => [name, `${origin}/std/${path.slice(2)}`]),
      );
      args.push(
        `--import-map=data:application/json,${
          encodeURIComponent(JSON.stringify({ imports: jsrOnly }))
        }`,
      );
    }
    const { code, stdout, stderr } = await new Deno.Command("deno", {
      args: [...args, `${origin}/main.ts`],
      cwd: "/",
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    assertEquals(
      { code, stdout: decoder.decode(stdout) },
      { code: 0, stdout: "Hello, world!\n" },
      decoder.decode(stderr),
    );
  },
});
