/**
 * Run by `tests/first_timer_test.ts` in a fresh process (`deno run`): the
 * server's first request makes the process's first timer call (the timeout
 * sweep's), which runs pending work before it returns. A chunked body past
 * `maxBodySize` met during that call must still get its 413. Prints the
 * status.
 *
 * @module
 */

import { serveHttp } from "../../server/http.ts";

const server = serveHttp(
  async (request) => new Response(await request.text()),
  { maxBodySize: 1024, onListen() {} },
);
const body = ReadableStream.from([new Uint8Array(2048)]);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
  method: "POST",
  body,
});
console.log(response.status);
await response.body?.cancel();
await server.shutdown();
