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
 * @module
 */

import { serveHttp } from "./http.ts";

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

const USAGE = "usage: server/hello.ts [--port 8888] [--hostname 127.0.0.1]";

function parseArgs(args: string[]): { hostname: string; port: number } {
  let hostname = "127.0.0.1";
  let port = 8888;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.split(/=(.*)/s, 2);
    const value = inline ?? args[++i];
    if (flag === "--hostname" && value) {
      hostname = value;
    } else if (flag === "--port" && value && /^\d+$/.test(value)) {
      port = Number(value);
    } else {
      throw new TypeError(
        `Cannot start the hello server: bad argument "${arg}"`,
      );
    }
  }
  return { hostname, port };
}

async function main(args: string[]): Promise<void> {
  let address;
  try {
    address = parseArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  let server;
  try {
    server = serveHttp(hello, {
      ...address,
      accessLog: true,
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        console.log(`Serving on http://${host}:${port}/`);
      },
    });
  } catch (error) {
    console.error(`Cannot start the hello server: ${(error as Error).message}`);
    Deno.exit(1);
  }
  const signals = ["SIGINT", "SIGTERM"] as const;
  const stop = () => {
    console.log("Shutting down");
    void server.shutdown();
  };
  for (const name of signals) Deno.addSignalListener(name, stop);
  await server.finished;
  for (const name of signals) Deno.removeSignalListener(name, stop);
  console.log("Closed");
}

if (import.meta.main) await main(Deno.args);
