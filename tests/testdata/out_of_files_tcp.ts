/**
 * Run by `tests/out_of_files_test.ts` under `ulimit -n 64`: a `serveTcp`
 * echo server that prints `listening <port>`, one `error <message>` line per
 * error reported to `onError`, and `finished` once the shutdown that SIGTERM
 * starts is over.
 *
 * @module
 */

import { echo } from "../../server/echo.ts";
import { serveTcp } from "../../server/tcp.ts";

const server = serveTcp(echo, {
  onListen: ({ port }) => console.log(`listening ${port}`),
  onError: (error) => console.log(`error ${(error as Error).message}`),
});
// Set up before descriptors run out: Deno 2.9.6 panics if its signal
// handling has to start then.
Deno.addSignalListener("SIGTERM", () => void server.shutdown());
await server.finished;
console.log("finished");
