/**
 * The Deno echo servers of `tcp_bench.ts`, one per process:
 *
 * - `serveTcp`: `serveTcp(echo)` from this library;
 * - `loop`: a raw `Deno.listen` echo, a `read`/`write` loop over one reused
 *   buffer per connection;
 * - `pipe`: a raw `Deno.listen` echo, `conn.readable.pipeTo(conn.writable)`.
 *
 * Prints `port <n>` once listening, then serves until killed.
 *
 * @module
 */

import { echo } from "../server/echo.ts";
import { serveTcp } from "../server/tcp.ts";

/** The size `echo()`'s buffer grows to by default. */
const BUFFER_SIZE = 64 * 1024;

async function loop(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(BUFFER_SIZE);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let written = 0;
      while (written < n) {
        written += await conn.write(buffer.subarray(written, n));
      }
    }
  } catch {
    // The load generator closes its connections when it is done.
  } finally {
    conn[Symbol.dispose]();
  }
}

const mode = Deno.args[0];
if (mode === "serveTcp") {
  serveTcp(echo, {
    maxConnections: Infinity,
    onListen: (addr) => console.log(`port ${addr.port}`),
    onError: () => {},
  });
} else if (mode === "loop" || mode === "pipe") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`port ${listener.addr.port}`);
  for await (const conn of listener) {
    if (mode === "loop") {
      loop(conn);
    } else {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  }
} else {
  console.error("usage: _tcp_echo_server.ts serveTcp|loop|pipe");
  Deno.exit(2);
}
