/**
 * Fetch-based clients in the asyncio style: the seed's `aiohttp` session,
 * `asyncio.gather` of many requests, and chained requests that follow "next"
 * links, with the error handling a network program needs.
 *
 * - `request`, `fetchText`, `fetchJson`, `fetchBytes`: `fetch` with a timeout
 *   over headers and body, retries with backoff and `Retry-After`, the
 *   caller's `AbortSignal`, and typed errors (`HttpError`, `NetworkError`,
 *   `ParseError`, `TimeoutError`).
 * - `Client`: a session with a base URL, default headers and settings, and
 *   global and per-host concurrency limits; `await using` closes it.
 * - `gather`, `mapConcurrent`, `wait`, `TaskGroup`: running many tasks at
 *   once, bounded, with the first failure cancelling the rest.
 * - `paginate`: chained requests through `Link` headers, a JSON field or a
 *   function, with cycle detection.
 * - `download`: a URL streamed to disk atomically.
 *
 * @example Many requests at once, then a chain of pages
 * ```ts
 * import { Client } from "@aio/aio/client";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const url = new URL(req.url);
 *     const page = Number(url.searchParams.get("page") ?? 1);
 *     return Response.json({
 *       path: url.pathname,
 *       next: page < 3 ? `/feed?page=${page + 1}` : null,
 *     });
 *   },
 * );
 * await using client = new Client({
 *   baseUrl: `http://127.0.0.1:${server.addr.port}`,
 *   timeout: 5_000,
 *   retry: 3,
 *   concurrency: 10,
 * });
 *
 * // asyncio.gather(*[fetch_data(url) for url in urls])
 * const data = await client.gather(
 *   ["/a", "/b", "/c"].map((path) => (signal: AbortSignal) =>
 *     client.json<{ path: string }>(path, { signal })
 *   ),
 * );
 * assertEquals(data.map((item) => item.path), ["/a", "/b", "/c"]);
 *
 * // next_data = await fetch_data(data["next"]), until there is none
 * let pages = 0;
 * for await (const _page of client.paginate("/feed", { next: "next" })) pages++;
 * assertEquals(pages, 3);
 * ```
 *
 * @module
 */

export * from "../errors.ts";
export * from "./client.ts";
export * from "./download.ts";
export * from "./errors.ts";
export * from "./gather.ts";
export * from "./paginate.ts";
export * from "./request.ts";
export * from "./retry.ts";
export * from "./task_group.ts";
export * from "./wait.ts";
