/**
 * Run by `tests/out_of_files_test.ts` under `ulimit -n 64`: a `serveHttp`
 * server that prints `listening <port>`, one `error <message>` line per
 * error reported to `onError`, `shut down` once the shutdown that SIGTERM
 * starts resolves, and `finished` when `finished` does.
 *
 * @module
 */

import { serveHttp } from "../../server/http.ts";

const server = serveHttp(() => new Response("ok"), {
  onListen: ({ port }) => console.log(`listening ${port}`),
  onError: (error) => console.log(`error ${(error as Error).message}`),
});
Deno.addSignalListener("SIGTERM", () => {
  server.shutdown().then(() => console.log("shut down"));
});
await server.finished;
console.log("finished");
