/**
 * Run by `client/request_test.ts`: responses whose bodies are never read,
 * from `request()` and from a `Client` never closed, under a 20 s timeout.
 * Like a plain `fetch`'s, they must not keep the process alive until then.
 *
 * @module
 */

import { Client } from "../../client/client.ts";
import { request } from "../../client/request.ts";

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response("ok"),
);
const response = await request(`http://127.0.0.1:${server.addr.port}/`, {
  timeout: 20_000,
});
await server.shutdown();

const client = new Client({
  timeout: 20_000,
  fetch: () => Promise.resolve(new Response("ok")),
});
const unread = await client.request("http://example.test/");
console.log(response.status, unread.status);
