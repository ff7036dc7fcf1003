/**
 * Client-side helpers for the server tests.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { writeAll as writeBytes } from "./_write_all.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads exactly `size` bytes; throws at an early end of input. */
export async function readExactly(
  conn: Deno.Conn,
  size: number,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await conn.read(buffer.subarray(filled));
    if (n === null) throw new Error(`EOF after ${filled} of ${size} bytes`);
    filled += n;
  }
  return buffer;
}

/** Writes all of `data` (text is UTF-8 encoded). */
export function writeAll(
  conn: Deno.Conn,
  data: Uint8Array | string,
): Promise<void> {
  return writeBytes(
    conn,
    typeof data === "string" ? encoder.encode(data) : data,
  );
}

/** Sends `text` and reads back as many bytes. */
export async function roundTrip(
  conn: Deno.Conn,
  text: string,
): Promise<string> {
  const bytes = encoder.encode(text);
  await writeBytes(conn, bytes);
  return decoder.decode(await readExactly(conn, bytes.length));
}

/** Resolves with `null` at the end of input; throws if data comes instead. */
export async function readEof(conn: Deno.Conn): Promise<null> {
  const n = await conn.read(new Uint8Array(1));
  if (n !== null) throw new Error("Expected the end of input, received data");
  return n;
}

/**
 * Asserts that a new connection to `port` is not served: connecting fails,
 * or (when the kernel completed the handshake while the listening socket
 * was closing) the connection ends without data.
 */
export async function assertNotServed(port: number): Promise<void> {
  try {
    using conn = await Deno.connect({ port });
    assertEquals(await conn.read(new Uint8Array(1)), null);
  } catch (error) {
    if (
      !(error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  }
}

/** Resolves with the signal's reason once it aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(signal.reason), {
      once: true,
    })
  );
}
