// deno run -N=127.0.0.1:8080 examples/echo_server.ts [--port 8080] [--hostname 127.0.0.1]
//
// The tutorial's asyncio TCP echo server: whatever a client sends comes back.
// `serveTcp` is `asyncio.start_server`: one handler call per connection, all
// running at once. Unlike the tutorial's `await reader.read()`, `echo` answers
// each chunk as it arrives instead of waiting for the client to stop sending.
// Ctrl-C (SIGINT) or SIGTERM shuts the server down gracefully: it stops
// accepting, lets open connections finish (up to 5 s), then exits.
//
// Try it: `nc 127.0.0.1 8080`, type a line, and it comes back.

import { parseArgs } from "node:util";
import { echo, serveTcp, type TcpContext } from "../server/mod.ts";

async function handleClient(conn: Deno.TcpConn, context: TcpContext) {
  const { hostname, port } = context.remoteAddr;
  console.log(`Connection from ${hostname}:${port}`);
  await echo(conn);
  console.log(`Closed ${hostname}:${port}`);
}

let server;
try {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      hostname: { type: "string", default: "127.0.0.1" },
    },
  });
  server = serveTcp(handleClient, {
    hostname: values.hostname,
    port: Number(values.port),
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`Serving on ${host}:${port}`);
    },
  });
} catch (error) {
  // A bad argument, or the port is taken: one line, no stack trace.
  console.error(`Cannot start the echo server: ${(error as Error).message}`);
  Deno.exit(1);
}

const stop = () => {
  console.log("Shutting down");
  server.shutdown();
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await server.finished;
console.log("Server closed");
