// deno run -N=example.com,example.org,example.net examples/chain_requests.ts [url...]
//
// The tutorial's chain_requests: each response may name the URL to fetch
// next, so the requests of one chain run one after another. `paginate`
// follows the chain from each start URL: it asks `parseNext` (the tutorial's
// `parse_data`) for the next URL, resolves a relative one against the page's
// URL, stops when there is none, after `maxPages`, or with a
// `PaginationCycleError` when a page leads back to one already fetched.
// An HTML page such as example.com's names no next page: its chain is one
// page long. A chain that fails is reported and the others go on; the exit
// code is then 1.

import { type Page, paginate } from "../client/mod.ts";

/** The URL a page names as the next one: a JSON body's `next` field. */
function parseNext(page: Page<string>): string | undefined {
  try {
    const next = JSON.parse(page.data)?.next;
    return typeof next === "string" ? next : undefined;
  } catch {
    return undefined; // not JSON
  }
}

const urls = Deno.args.length > 0
  ? Deno.args
  : ["http://example.com", "http://example.org", "http://example.net"];

let pages = 0;
for (const url of urls) {
  try {
    const chain = paginate(url, {
      parse: (response) => response.text(),
      next: parseNext,
      maxPages: 10,
      timeout: 10_000,
    });
    for await (const page of chain) {
      console.log(
        `Page ${page.number} from ${page.url}: ${page.data.length} characters`,
      );
      pages++;
    }
  } catch (error) {
    console.error(`Error following ${url}: ${(error as Error).message}`);
    Deno.exitCode = 1;
  }
}
console.log(`Fetched ${pages} pages from ${urls.length} URLs`);
