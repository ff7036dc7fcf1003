// deno run -N=127.0.0.1:8888 examples/hello_server.ts [--port 8888] [--hostname 127.0.0.1]
//
// The tutorial's asyncio HTTP server: every request gets "Hello, world!"
// after a second of simulated work. `serveHttp` parses HTTP for us, so unlike
// the tutorial's `await reader.read()`, nothing waits for the client to close
// its side before answering, and the response is well-formed. Requests run
// concurrently: ten clients at once all get their answer after one second.
// Ctrl-C (SIGINT) or SIGTERM shuts the server down gracefully: requests in
// flight are answered (new ones get 503), then it exits.
//
// Try it: `curl http://127.0.0.1:8888/`

import { delay } from "@std/async/delay";
import { parseArgs } from "node:util";
import { type HttpContext, serveHttp } from "../server/mod.ts";

async function handleRequest(request: Request, context: HttpContext) {
  const { hostname, port } = context.remoteAddr!;
  const { pathname } = new URL(request.url);
  console.log(
    `Received ${request.method} ${pathname} from ${hostname}:${port}`,
  );
  // Simulate some processing time. (Work that should stop when the client
  // goes away or the request times out passes on `context.signal`.)
  await delay(1_000);
  return new Response("Hello, world!");
}

let server;
try {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8888" },
      hostname: { type: "string", default: "127.0.0.1" },
    },
  });
  server = serveHttp(handleRequest, {
    hostname: values.hostname,
    port: Number(values.port),
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(`Serving on http://${host}:${port}/`);
    },
  });
} catch (error) {
  // A bad argument, or the port is taken: one line, no stack trace.
  console.error(`Cannot start the hello server: ${(error as Error).message}`);
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
