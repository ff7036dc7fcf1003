/**
 * The echo server of the asyncio tutorial: whatever a client sends comes
 * back.
 *
 * Run directly, this file starts one and prints the address it serves on;
 * Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully:
 *
 * ```sh
 * deno run -N=127.0.0.1:8080 jsr:@aio/aio/server/echo [--port 8080] [--hostname 127.0.0.1]
 * ```
 *
 * It takes the other options of `aio serve tcp` too (`--help` lists them).
 *
 * @module
 */

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { serveTcp } from "./tcp.ts";
import { checkObject, checkSignal, show } from "../_show.ts";
import { isPeerReset } from "./_connection.ts";
import { assertLimit } from "./_validate.ts";

const INITIAL_BUFFER_SIZE = 4 * 1024;

/**
 * Options of {@linkcode echo}.
 *
 * @example Stopping an echo with a signal
 * ```ts
 * import { echo } from "@aio/aio/server/echo";
 * import { serveTcp } from "@aio/aio/server/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * const controller = new AbortController();
 * const stopped = Promise.withResolvers<unknown>();
 * await using server = serveTcp(async (conn) => {
 *   try {
 *     await echo(conn, { signal: controller.signal, bufferSize: 1024 });
 *   } catch (error) {
 *     stopped.resolve(error);
 *   }
 * });
 *
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("ping"));
 * const buffer = new Uint8Array(16);
 * const n = await conn.read(buffer);
 * assertEquals(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "ping");
 *
 * controller.abort(new Error("enough"));
 * assertEquals(await conn.read(buffer), null); // echo closed the connection
 * assertEquals(await stopped.promise, controller.signal.reason);
 * ```
 */
export interface EchoOptions {
  /**
   * Stops echoing when aborted: the connection is closed (a pending read
   * cannot be cancelled any other way) and `echo` rejects with the reason.
   * The `context` of a {@linkcode serveTcp} handler fits here.
   *
   * @default {undefined}
   */
  signal?: AbortSignal | undefined;
  /**
   * The largest read buffer, in bytes. The buffer starts at 4 KiB (or this
   * size, if smaller) and doubles each time a read fills it, so a chatty
   * connection keeps a small buffer and a bulk one grows to this size; it
   * bounds the memory of a connection.
   *
   * @default {65536}
   */
  bufferSize?: number | undefined;
}

/**
 * Sends back everything read from `conn`, until the peer stops sending (end
 * of input, or the peer resets the connection). Does not close `conn`.
 *
 * A `read`/`write` loop over one reused buffer: the next read waits for the
 * previous write, so a peer that does not read its echo stops being read
 * (backpressure), and nothing is allocated per message. (Piping
 * `conn.readable` into `conn.writable` does the same job about 4× slower in
 * ping-pong.)
 *
 * Usable directly as a {@linkcode serveTcp} handler: `serveTcp(echo)`.
 *
 * @param conn The connection to echo on.
 * @param options A signal to stop, and the buffer size.
 * @returns A promise that resolves when the peer has stopped sending and
 * everything it sent was written back.
 * @throws {TypeError} If `conn` is not a connection, `options` is not an
 * object, `signal` is not an `AbortSignal` or `bufferSize` is not a number.
 * @throws {RangeError} If `bufferSize` is not a positive integer.
 * @throws {unknown} `signal.reason` when `signal` aborts; a read or write
 * error other than the peer resetting the connection.
 *
 * @example An echo server and a client round trip
 * ```ts
 * import { echo } from "@aio/aio/server/echo";
 * import { serveTcp } from "@aio/aio/server/tcp";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveTcp(echo);
 * using conn = await Deno.connect({ port: server.addr.port });
 * await conn.write(new TextEncoder().encode("hello"));
 * await conn.closeWrite();
 * assertEquals(await new Response(conn.readable).text(), "hello");
 * ```
 */
export async function echo(
  conn: Deno.Conn,
  options: EchoOptions = {},
): Promise<void> {
  if (typeof conn?.read !== "function" || typeof conn.write !== "function") {
    throw new TypeError(
      `Cannot echo: "conn" must be a Deno.Conn, received ${show(conn)}`,
    );
  }
  checkObject(options, "Cannot echo");
  const { signal, bufferSize = 64 * 1024 } = options;
  checkSignal(signal, "Cannot echo");
  assertLimit("bufferSize", bufferSize, {
    integer: true,
    infinity: false,
    action: "echo",
  });
  signal?.throwIfAborted();
  let buffer = new Uint8Array(Math.min(INITIAL_BUFFER_SIZE, bufferSize));
  const onAbort = () => conn[Symbol.dispose]();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      // Inline rather than writeAll(): no extra promise per message.
      let written = 0;
      while (written < n) {
        written += await conn.write(buffer.subarray(written, n));
      }
      if (n === buffer.length && n < bufferSize) {
        buffer = new Uint8Array(Math.min(n * 2, bufferSize));
      }
    }
  } catch (error) {
    signal?.throwIfAborted();
    if (isPeerReset(error)) return;
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

if (import.meta.main) {
  // Running this file is `aio serve tcp`: the same flags and output.
  // Not awaited at the top level: cli.ts imports this module back.
  import("../cli.ts").then(async ({ main }) =>
    Deno.exit(await main(["serve", "tcp", ...Deno.args]))
  );
}
