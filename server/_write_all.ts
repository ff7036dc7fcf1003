/**
 * Writing a whole buffer to a connection.
 *
 * @module
 */

/**
 * Writes all of `bytes` to `conn`, one `write` after another, each awaited,
 * so a peer that reads slowly slows the writer down instead of making it
 * buffer.
 *
 * @param conn Where to write.
 * @param bytes What to write.
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(
      written === 0 ? bytes : bytes.subarray(written),
    );
  }
}
