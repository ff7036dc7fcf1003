/**
 * The "Hello, world!" HTTP server of the asyncio tutorial: every request
 * gets `Hello, world!` as `text/plain`.
 *
 * Run directly, this file serves it on 127.0.0.1:8888, prints the address
 * and one line per request; Ctrl-C (SIGINT) or SIGTERM shuts it down
 * gracefully:
 *
 * ```sh
 * deno run -N=127.0.0.1:8888 jsr:@aio/aio/server/hello [--port 8888] [--hostname 127.0.0.1]
 * ```
 *
 * It takes the other options of `aio serve http` too (`--help` lists them).
 *
 * @module
 */

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { serveHttp } from "./http.ts";

/**
 * Answers any request with `Hello, world!` as `text/plain`, like the
 * tutorial's `handle_request`. Usable directly as a {@linkcode serveHttp}
 * handler: `serveHttp(hello)`.
 *
 * The content type is the one a string body gets by default, which lets
 * Deno send the response on its fastest path.
 *
 * @returns The response.
 *
 * @example Serving it
 * ```ts
 * import { hello } from "@aio/aio/server/hello";
 * import { serveHttp } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveHttp(hello);
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(response.headers.get("content-type"), "text/plain;charset=UTF-8");
 * assertEquals(await response.text(), "Hello, world!");
 * ```
 */
export function hello(): Response {
  return new Response("Hello, world!");
}

if (import.meta.main) {
  // Running this file is `aio serve http`: the same flags and output.
  // Not awaited at the top level: cli.ts imports this module back.
  import("../cli.ts").then(async ({ main }) =>
    Deno.exit(await main(["serve", "http", ...Deno.args]))
  );
}
