/**
 * Run by `tests/out_of_files_test.ts` under `ulimit -n 64`: a `serveHttp`
 * server that prints `listening <port>`, one `error <message>` line per
 * error reported to `onError`, and `finished` once SIGTERM has shut it
 * down.
 *
 * @module
 */

import { serveHttp } from "../../server/http.ts";

const server = serveHttp(() => new Response("ok"), {
  onListen: ({ port }) => console.log(`listening ${port}`),
  onError: (error) => console.log(`error ${(error as Error).message}`),
});
Deno.addSignalListener("SIGTERM", () => void server.shutdown());
await server.finished;
console.log("finished");
