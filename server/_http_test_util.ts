/**
 * Raw HTTP/1.1 for the HTTP server tests, where a test must send what
 * `fetch` would not (a lying `Content-Length`, a body that stops, a path
 * that is not canonical).
 *
 * @module
 */

const decoder = new TextDecoder();

/** A response read off a raw connection. */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Reads one HTTP/1.1 response (Content-Length or chunked body) from a raw
 * connection; `null` if the connection closed before a status line.
 */
export async function readResponse(
  conn: Deno.Conn,
): Promise<RawResponse | null> {
  let buffered = new Uint8Array(0);
  const more = async () => {
    const chunk = new Uint8Array(16 * 1024);
    const n = await conn.read(chunk);
    if (n === null) throw new Error("EOF in the middle of a response");
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
  };
  const take = (n: number) => {
    const bytes = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return decoder.decode(bytes);
  };
  const line = async () => {
    let end: number;
    while ((end = decoder.decode(buffered).indexOf("\r\n")) < 0) await more();
    const text = take(end);
    take(2);
    return text;
  };
  try {
    const status = Number((await line()).split(" ")[1]);
    const headers = new Headers();
    for (let header = await line(); header !== ""; header = await line()) {
      const colon = header.indexOf(":");
      headers.append(header.slice(0, colon), header.slice(colon + 1).trim());
    }
    let body = "";
    if (headers.get("transfer-encoding") === "chunked") {
      for (let size = parseInt(await line(), 16); size > 0;) {
        while (buffered.length < size + 2) await more();
        body += take(size);
        take(2);
        size = parseInt(await line(), 16);
      }
      await line();
    } else {
      const length = Number(headers.get("content-length") ?? 0);
      while (buffered.length < length) await more();
      body = take(length);
    }
    return { status, headers, body };
  } catch (error) {
    if (buffered.length === 0) return null;
    throw error;
  }
}
