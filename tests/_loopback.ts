/**
 * Loopback servers for the client tests: `Deno.serve` on a free port, and a
 * bare TCP server for what `Deno.serve` cannot do (stall without touching
 * `request.signal`, close without answering, cut a body short).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A `Deno.serve` server on 127.0.0.1 and a free port, disposable. */
export interface LoopbackServer extends AsyncDisposable {
  /** The server's base URL, `http://127.0.0.1:<port>`. */
  origin: string;
  /** `origin` + `path`. */
  url(path?: string): string;
  /** The server itself. */
  server: Deno.HttpServer<Deno.NetAddr>;
}

/** Starts `handler` on 127.0.0.1:0. */
export function serveLoopback(handler: Deno.ServeHandler): LoopbackServer {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    url: (path = "/") => origin + path,
    server,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** One connection of a {@linkcode RawServer}, its request head read. */
export interface RawConnection {
  conn: Deno.Conn;
  /** 0 for the first connection. */
  index: number;
  /** The request line and headers. */
  head: string;
  /** Writes text to the client. */
  write(text: string): Promise<void>;
  /** Resolves when the client closes the connection. */
  closed(): Promise<void>;
}

/** A bare TCP server on 127.0.0.1, disposable. */
export interface RawServer extends AsyncDisposable {
  port: number;
  /** `http://127.0.0.1:<port>` + `path`. */
  url(path?: string): string;
  /** How many connections were accepted. */
  connections(): number;
}

/**
 * Accepts connections and hands each to `respond` once its request head is
 * read; the connection is closed when `respond` returns.
 */
export function rawServer(
  respond: (connection: RawConnection) => Promise<void> | void,
): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers = new Set<Promise<void>>();
  let count = 0;
  const handle = async (conn: Deno.Conn, index: number) => {
    try {
      const buffer = new Uint8Array(4096);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const read = await conn.read(buffer);
        if (read === null) return;
        head += decoder.decode(buffer.subarray(0, read));
      }
      await respond({
        conn,
        index,
        head,
        write: async (text) => {
          const bytes = encoder.encode(text);
          for (let done = 0; done < bytes.length;) {
            done += await conn.write(bytes.subarray(done));
          }
        },
        closed: async () => {
          while (await conn.read(buffer) !== null) {
            // Discard whatever else the client sends.
          }
        },
      });
    } catch {
      // The client went away first.
    } finally {
      conn.close();
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const handler = handle(conn, count++);
      handlers.add(handler);
      handler.finally(() => handlers.delete(handler));
    }
  })();
  const origin = `http://127.0.0.1:${listener.addr.port}`;
  return {
    port: listener.addr.port,
    url: (path = "/") => origin + path,
    connections: () => count,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      await Promise.all(handlers);
    },
  };
}

/** A complete HTTP/1.1 response with a `Content-Length`. */
export function httpResponse(
  body: string,
  status = "200 OK",
  headers: Record<string, string> = {},
): string {
  const lines = Object.entries({
    "content-length": String(encoder.encode(body).length),
    connection: "close",
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `HTTP/1.1 ${status}\r\n${lines}\r\n${body}`;
}

/** A port nothing listens on. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
