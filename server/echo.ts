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
 * @module
 */

import { serveTcp } from "./tcp.ts";
import { formatAddr, isPeerReset } from "./_connection.ts";

const INITIAL_BUFFER_SIZE = 4 * 1024;

/** Options of {@linkcode echo}. */
export interface EchoOptions {
  /**
   * Stops echoing when aborted: the connection is closed (a pending read
   * cannot be cancelled any other way) and `echo` rejects with the reason.
   * The `context` of a {@linkcode serveTcp} handler fits here.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The largest read buffer, in bytes. The buffer starts at 4 KiB (or this
   * size, if smaller) and doubles each time a read fills it, so a chatty
   * connection keeps a small buffer and a bulk one grows to this size; it
   * bounds the memory of a connection.
   *
   * @default {65536}
   */
  bufferSize?: number;
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
  const { signal, bufferSize = 64 * 1024 } = options;
  if (!Number.isSafeInteger(bufferSize) || bufferSize < 1) {
    throw new RangeError(
      `Cannot echo: "bufferSize" must be a positive integer, received ${bufferSize}`,
    );
  }
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

const USAGE = "usage: server/echo.ts [--port 8080] [--hostname 127.0.0.1]";

function parseArgs(args: string[]): { hostname: string; port: number } {
  let hostname = "127.0.0.1";
  let port = 8080;
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
        `Cannot start the echo server: bad argument "${arg}"`,
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
    server = serveTcp(echo, {
      ...address,
      onListen: (addr) => console.log(`Echo server on ${formatAddr(addr)}`),
    });
  } catch (error) {
    console.error(`Cannot start the echo server: ${(error as Error).message}`);
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
