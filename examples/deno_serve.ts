/**
 * An HTTP app for `deno serve --parallel`, which runs one copy of this module
 * per CPU core and spreads connections across them. The module exports
 * `{ fetch }` built with `createFetchHandler`, so every copy applies the
 * same request timeout, body size limit and error answers as `serveHttp`.
 *
 * ```sh
 * deno serve --parallel -N=127.0.0.1:8000 --host 127.0.0.1 --port 8000 examples/deno_serve.ts
 * curl http://127.0.0.1:8000/             # Hello, world!
 * curl http://127.0.0.1:8000/worker       # which copy answered
 * curl -d 'hi' http://127.0.0.1:8000/echo # hi (413 past 64 KiB)
 * ```
 *
 * @module
 */

import { createFetchHandler } from "@aio/aio/server/http";
import { hello } from "@aio/aio/server/hello";
import { router } from "@aio/aio/server/router";

/** Tells the copies (one per worker) apart. */
const worker = crypto.randomUUID().slice(0, 8);

export default createFetchHandler(
  router([
    { method: "GET", pattern: "/", handler: hello },
    { method: "GET", pattern: "/worker", handler: () => new Response(worker) },
    {
      method: "POST",
      pattern: "/echo",
      handler: async (request) => new Response(await request.text()),
    },
  ]),
  { requestTimeout: 10_000, maxBodySize: 64 * 1024 },
) satisfies Deno.ServeDefaultExport;
