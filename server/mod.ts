/**
 * Servers in the style of Python's asyncio: a handler per connection or per
 * request, all running concurrently on one event loop, with graceful
 * shutdown, limits and cancellation built in.
 *
 * - {@linkcode serveTcp} runs a handler per TCP connection (asyncio's
 *   `start_server`); {@linkcode serveLines} serves a line protocol on it;
 *   {@linkcode echo} is the tutorial's echo handler.
 * - Every server is disposable (`await using`), shuts down by draining
 *   within a deadline, bounds its connections, and hands each handler an
 *   `AbortSignal` that aborts when its work must stop.
 *
 * @example An echo server and a client round trip
 * ```ts
 * import { echo, serveTcp } from "@aio/aio/server";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveTcp(echo, { idleTimeout: 30_000 });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("hello, asyncio"));
 * await conn.closeWrite(); // the echo continues until the end of input
 * assertEquals(await new Response(conn.readable).text(), "hello, asyncio");
 * ```
 *
 * @module
 */

export * from "../errors.ts";
export * from "./tcp.ts";
export * from "./lines.ts";
export * from "./echo.ts";
export * from "./http.ts";
export * from "./router.ts";
export * from "./hello.ts";
