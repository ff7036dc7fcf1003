/**
 * Python asyncio's way of writing network programs, for Deno: servers that
 * run a handler per connection or request, clients that fetch many URLs at
 * once and follow "next" links through timeouts and flaky servers, and file
 * writes that never leave a half-written file. Each area has its own entry
 * point, re-exported here (the CLI aside, which is its own):
 *
 * - `@aio/aio/server`: {@linkcode serveTcp} (asyncio's `start_server`),
 *   {@linkcode serveLines}, {@linkcode echo}, {@linkcode serveHttp} on
 *   `Deno.serve` with timeouts, body limits and graceful shutdown, and
 *   {@linkcode router}.
 * - `@aio/aio/client`: {@linkcode request} and `fetchText` / `fetchJson` /
 *   `fetchBytes` (timeouts, retries, typed errors), {@linkcode Client} (the
 *   aiohttp session), {@linkcode gather}, {@linkcode mapConcurrent},
 *   {@linkcode wait}, {@linkcode TaskGroup}, {@linkcode paginate} and
 *   {@linkcode download}.
 * - `@aio/aio/fs`: {@linkcode writeFileAtomic}, {@linkcode readLines},
 *   {@linkcode writeLines}, JSON Lines and {@linkcode makeTempDir}.
 * - `@aio/aio/cli`: the `aio` command (`serve`, `fetch`, `crawl`, `demo`).
 *
 * Everything that runs is cancellable with an `AbortSignal` and disposable
 * with `await using`, and leaves no connection, timer or file behind.
 *
 * Permissions: servers need `--allow-net` for their address, clients for the
 * hosts they fetch, the file helpers `--allow-read` / `--allow-write` for
 * their paths.
 *
 * @example The seed in one piece: a server, many requests at once, a file
 * ```ts
 * import { gather, makeTempDir, serveHttp, writeJsonLines } from "@aio/aio";
 * import { assertEquals } from "@std/assert";
 *
 * // The "Hello, world!" server, on a free loopback port.
 * await using server = serveHttp(
 *   (request) => new Response(`Hello from ${new URL(request.url).pathname}`),
 *   { port: 0, requestTimeout: 5_000 },
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 *
 * // asyncio.gather over 20 URLs, at most 5 at a time.
 * const urls = Array.from({ length: 20 }, (_, i) => `${base}/item/${i}`);
 * const responses = await gather(urls, { concurrency: 5 });
 * const rows = await Promise.all(
 *   responses.map(async (response, i) => ({
 *     url: urls[i],
 *     status: response.status,
 *     text: await response.text(),
 *   })),
 * );
 *
 * // Written atomically into a directory removed at the end of the scope.
 * await using dir = await makeTempDir({ prefix: "aio-" });
 * await writeJsonLines(`${dir.path}/results.jsonl`, rows);
 * const lines = (await Deno.readTextFile(`${dir.path}/results.jsonl`))
 *   .trim().split("\n");
 * assertEquals(lines.length, 20);
 * assertEquals(JSON.parse(lines[3]!).text, "Hello from /item/3");
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./server/mod.ts";
export * from "./client/mod.ts";
export * from "./fs/mod.ts";
