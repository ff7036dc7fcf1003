// deno run -N=example.com,example.org,example.net examples/fetch_gather.ts [url...]
//
// The tutorial's `asyncio.gather(*tasks)`: all requests start at once, so the
// total time is about that of the slowest one, not the sum (compare with
// fetch_sequential.ts). Results come back in the order of the URLs, whichever
// finishes first. With `settle: true` (asyncio's `return_exceptions=True`) a
// failed request is reported in its place and the others still count; the
// exit code is then 1. Each task gets an AbortSignal to pass on, so gather()
// can stop it (on the first failure, without `settle`).

import { fetchText, gather } from "../client/mod.ts";

const urls = Deno.args.length > 0
  ? Deno.args
  : ["http://example.com", "http://example.org", "http://example.net"];

const start = performance.now();
const results = await gather(
  urls.map((url) => (signal: AbortSignal) =>
    fetchText(url, { signal, timeout: 10_000 })
  ),
  { settle: true },
);
const elapsed = Math.round(performance.now() - start);

for (const [i, result] of results.entries()) {
  if (result.status === "fulfilled") {
    console.log(`Data from ${urls[i]}: ${result.value.length} characters`);
  } else {
    console.error(`Error fetching ${urls[i]}: ${result.reason.message}`);
    Deno.exitCode = 1;
  }
}
console.log(`Fetched ${urls.length} URLs at once in ${elapsed} ms`);
