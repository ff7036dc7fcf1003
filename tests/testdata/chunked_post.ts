// Run by server/http_test.ts: a chunked POST through serveHttp's body limit,
// after which the child must print nothing but the body it echoed (Deno
// prints a legacy-abort warning once a request whose signal was read
// completes).
import { serveHttp } from "../../server/http.ts";

await using server = serveHttp(
  async (request) => new Response(await request.text()),
  { maxBodySize: 1024 },
);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
  method: "POST",
  body: ReadableStream.from(["chunked ", "body"]).pipeThrough(
    new TextEncoderStream(),
  ),
});
console.log(await response.text());
