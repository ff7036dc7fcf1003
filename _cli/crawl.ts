/**
 * `aio crawl`: chained requests, where each page names the next one.
 *
 * @module
 */

import { ParseError } from "../client/errors.ts";
import { nextPageUrl, type Page, paginate } from "../client/paginate.ts";
import {
  describeFlags,
  outPath,
  parseFlags,
  positiveDuration,
  UsageError,
  wholeNumber,
} from "./args.ts";
import { checkUrls, elapsed, REQUEST_FLAGS } from "./fetch.ts";
import { failureLine, type Io, writeLine, writeRecords } from "./io.ts";

const FLAGS = {
  next: {
    type: "string",
    short: "n",
    value: "link|json:PATH",
    description:
      'where the next URL is: the Link header\'s rel="next", or a JSON field path',
    default: "link",
  },
  "max-pages": {
    type: "number",
    short: "m",
    value: "N",
    description: "stop after N pages",
    default: "100",
  },
  ...REQUEST_FLAGS,
} as const;

/** The usage text of `aio crawl`. */
export const CRAWL_USAGE = `usage: aio crawl [options] <url>

Fetches <url>, then the page it names as next, and so on: one JSON line per
page, {"page","url","status","bytes","ms"}. Stops when a page names no
next page, after --max-pages, or with an error at a URL already visited;
the last line on standard error says why it stopped.

options:
${describeFlags(FLAGS)}

permissions: -N (or -N=host for the hosts crawled); with --out PATH also -R
and -W on PATH's directory.`;

/** One crawled page, as written to the results. */
interface PageRecord {
  page: number;
  url: string;
  status: number;
  bytes: number;
  ms: number;
}

/** Reads `--next`: undefined for Link headers, else the JSON field path. */
export function parseNext(value: string): string | undefined {
  if (value === "link") return undefined;
  if (value.startsWith("json:") && value.length > "json:".length) {
    return value.slice("json:".length);
  }
  throw new UsageError(
    `Cannot read --next: expected "link" or "json:PATH", received "${value}"`,
  );
}

/** Runs `aio crawl`; exits 1 when a page fails (the pages before it are kept). */
export async function crawlCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals, help } = parseFlags(args, FLAGS);
  if (help) {
    await writeLine(io.stdout, CRAWL_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `Cannot crawl: expected one start URL, received ${positionals.length}`,
    );
  }
  const [start] = checkUrls(positionals, "crawl");
  const next = parseNext(flags.next!);
  const maxPages = wholeNumber("max-pages", flags["max-pages"]!, 1);
  const retries = wholeNumber("retries", flags.retries!, 0);
  const timeout = positiveDuration("timeout", flags.timeout!);
  const out = outPath(flags.out);

  let bytes = 0;
  let count = 0;
  let last: Page<unknown> | undefined;
  let failure: unknown;
  async function* pages(): AsyncGenerator<PageRecord> {
    let before = performance.now();
    try {
      for await (
        const page of paginate(start!, {
          next,
          maxPages,
          timeout,
          retry: retries + 1,
          signal: io.signal,
          async parse(response) {
            const body = await response.bytes();
            bytes = body.length;
            return next === undefined ? null : parseJson(response.url, body);
          },
        })
      ) {
        count = page.number;
        last = page;
        yield {
          page: page.number,
          url: page.url,
          status: page.status,
          bytes,
          ms: elapsed(before),
        };
        before = performance.now();
      }
    } catch (error) {
      if (io.signal.aborted) throw error;
      failure = error;
      // Not one page: an --out file is left as it was, not emptied.
      if (count === 0) throw error;
    }
  }

  try {
    await writeRecords(io, out, pages());
  } catch (error) {
    if (error !== failure) throw error;
  }
  if (failure !== undefined) {
    await writeLine(io.stderr, `aio crawl: ${failureLine(failure, "crawl")}`);
    return 1;
  }
  // Why it stopped, so that a mistyped --next path shows at once. The last
  // page of exactly --max-pages pages may have had no next page either.
  const cut = count === maxPages &&
    await nextPageUrl(last!, next).then((url) => url !== undefined, () => true);
  const why = cut
    ? `--max-pages ${maxPages} reached`
    : `page ${count} has ${
      next === undefined ? 'no Link rel="next"' : `no next URL at "${next}"`
    }`;
  await writeLine(
    io.stderr,
    `aio crawl: ${count} page${count === 1 ? "" : "s"}; ${why}`,
  );
  return 0;
}

/** A page's body as JSON, or a `ParseError` naming the page. */
function parseJson(url: string, body: Uint8Array): unknown {
  const text = new TextDecoder().decode(body);
  try {
    return JSON.parse(text);
  } catch (error) {
    const start = text.slice(0, 60).replace(/\s+/g, " ").trim();
    throw new ParseError(
      `Cannot read the next URL of "${url}": the page is not JSON (${
        start ? `it starts with "${start}"` : "it is empty"
      })`,
      { url, method: "GET", body: text.slice(0, 100), cause: error },
    );
  }
}
