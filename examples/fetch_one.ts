// deno run -N=example.com examples/fetch_one.ts [url] [--timeout 10]
//
// The tutorial's aiohttp client: fetch one page and print it, reporting
// failures the way its `except (aiohttp.ClientError, asyncio.TimeoutError)`
// does. `fetchText` reads the whole body within `timeout` (headers and body,
// like aiohttp's total timeout) and fails with a typed error:
// - `HttpError` for a status outside 200-299 (aiohttp needs
//   `raise_for_status()` for that), `NetworkError` when the connection fails,
//   both `RequestError`s, like aiohttp's `ClientError`;
// - `TimeoutError` when the time is up.
// Anything else is a mistake in the program or its command line, such as a
// malformed URL (`TypeError`) or a host missing from `-N` (`NotCapable`), and
// is not caught. The exit code is 1 when the fetch failed.

import { parseArgs } from "node:util";
import { fetchText, RequestError, TimeoutError } from "../client/mod.ts";

async function fetchPage(url: string, timeout: number) {
  try {
    return await fetchText(url, { timeout });
  } catch (error) {
    if (error instanceof RequestError || error instanceof TimeoutError) {
      console.error(`Error fetching data from ${url}: ${error.message}`);
      return undefined;
    }
    throw error;
  }
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { timeout: { type: "string", default: "10" } }, // seconds
  allowPositionals: true,
});
const url = positionals[0] ?? "https://example.com";
const text = await fetchPage(url, Number(values.timeout) * 1000);
if (text === undefined) Deno.exitCode = 1;
else console.log(text);
