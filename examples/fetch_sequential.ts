// deno run -N=example.com,example.org,example.net examples/fetch_sequential.ts [url...]
//
// The tutorial's loop that awaits one request after another: each request
// starts when the previous one has finished, so the total time is the sum of
// all of them. Compare with fetch_gather.ts, which sends the same requests at
// once. A failed request is reported and the loop goes on; the exit code is
// then 1.

import { fetchText } from "../client/mod.ts";

const urls = Deno.args.length > 0
  ? Deno.args
  : ["http://example.com", "http://example.org", "http://example.net"];

const start = performance.now();
for (const url of urls) {
  try {
    const data = await fetchText(url, { timeout: 10_000 });
    console.log(`Response from ${url}: ${data.length} characters`);
  } catch (error) {
    console.error(`Error fetching ${url}: ${(error as Error).message}`);
    Deno.exitCode = 1;
  }
}
const elapsed = Math.round(performance.now() - start);
console.log(`Fetched ${urls.length} URLs one after another in ${elapsed} ms`);
