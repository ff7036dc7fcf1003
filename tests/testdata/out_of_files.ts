/**
 * Run by `tests/out_of_files_test.ts` under `ulimit -n 64`: a `serveHttp`
 * server that prints `listening <port>`, one `error <message>` line per
 * error reported to `onError`, `shut down` once the shutdown that SIGTERM
 * starts resolves, and `finished` when `finished` does. `/hold` prints
 * `holding` and answers once `/release` is asked for; `/hang` prints
 * `hanging` and answers only when its signal aborts.
 *
 * @module
 */

import { serveHttp } from "../../server/http.ts";

const release = Promise.withResolvers<void>();
const server = serveHttp(async (request, context) => {
  switch (new URL(request.url).pathname) {
    case "/hold": // in flight until /release
      console.log("holding");
      await release.promise;
      return new Response("held");
    case "/release":
      release.resolve();
      return new Response("released");
    case "/hang": // until the shutdown gives up on it
      console.log("hanging");
      await new Promise((resolve) =>
        context.signal.addEventListener("abort", resolve)
      );
      return new Response("aborted");
    default:
      return new Response("ok");
  }
}, {
  shutdownTimeout: 300,
  onListen: ({ port }) => console.log(`listening ${port}`),
  onError: (error) => console.log(`error ${(error as Error).message}`),
});
Deno.addSignalListener("SIGTERM", () => {
  server.shutdown().then(() => console.log("shut down"));
});
await server.finished;
console.log("finished");
