/**
 * `aio fetch`: many URLs at once (asyncio.gather), one JSON line per URL.
 *
 * @module
 */

import { Client } from "../client/client.ts";
import { mapConcurrent } from "../client/gather.ts";
import { HttpError, RequestError } from "../client/errors.ts";
import { LineTooLongError, TimeoutError } from "../errors.ts";
import { escapeInvisible, excerpt } from "../_show.ts";
import {
  describeFlags,
  InputError,
  outPath,
  parseFlags,
  positiveDuration,
  UsageError,
  wholeNumber,
} from "./args.ts";
import { ProgressReporter } from "./progress.ts";
import {
  type Io,
  MAX_STDIN_LINE,
  readStdinLines,
  writeLine,
  writeRecords,
} from "./io.ts";

/** The outcome of one URL, as written to the results. */
export interface FetchRecord {
  url: string;
  /** The response status, or null when no response came. */
  status: number | null;
  /**
   * Bytes of a successful response's body; 0 for a failure, an HTTP error
   * included.
   */
  bytes: number;
  /** Milliseconds from the first attempt to the last body byte. */
  ms: number;
  /** Retries made (attempts beyond the first). */
  retries: number;
  /** Why it failed, when it did. */
  error?: string;
}

/** Whether a record counts as failed: no response, or a 4xx/5xx status. */
export function failed(record: FetchRecord): boolean {
  return record.error !== undefined;
}

function describeError(error: unknown, url: string): string {
  if (error instanceof HttpError) return `HTTP ${error.status}`;
  if (error instanceof TimeoutError) return `timeout after ${error.timeout} ms`;
  const message = error instanceof Error ? error.message : String(error);
  // The library's message names the failure; the record already has the
  // URL of its "Cannot GET "url": " prefix.
  const prefix = error instanceof RequestError
    ? `Cannot ${error.method} "${error.url}": `
    : `Cannot GET "${url}": `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/**
 * Fetches `url` through `client`, counting the body's bytes without keeping
 * them, and returns a record; never throws except for `signal.reason`.
 */
export async function fetchRecord(
  client: Client,
  url: string,
  signal?: AbortSignal,
  options: { timeout?: number; retries?: number } = {},
): Promise<FetchRecord> {
  const start = performance.now();
  let retries = 0;
  let status: number | null = null;
  let bytes = 0;
  try {
    // A one-page paginate() reads the body inside the attempt, so a body cut
    // off or stalled is retried like a failed request.
    const pages = client.paginate(url, {
      signal,
      timeout: options.timeout,
      retry: options.retries === undefined ? undefined : {
        attempts: options.retries + 1,
        onRetry: () => retries++,
      },
      maxPages: 1,
      // Counted, not kept: any size.
      maxBodySize: Infinity,
      parse: async (response) => {
        status = response.status;
        bytes = 0;
        for await (const chunk of response.body ?? []) bytes += chunk.length;
      },
    });
    for await (const _page of pages) {
      // The one page; parse() has counted it.
    }
    return { url, status, bytes, ms: elapsed(start), retries };
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    if (error instanceof HttpError) status = error.status;
    return {
      url,
      status,
      bytes: 0,
      ms: elapsed(start),
      retries,
      error: describeError(error, url),
    };
  }
}

/** Milliseconds since `start` (a `performance.now()`), to a tenth. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** The flags `fetch` and `crawl` share. */
export const REQUEST_FLAGS = {
  timeout: {
    type: "duration",
    short: "t",
    description: "per request, headers and body (500ms, 10s, 1m)",
    default: "10s",
  },
  retries: {
    type: "number",
    short: "r",
    description:
      "retries of a failed request (network errors, 408, 429, 500, 502, 503, 504)",
    default: "2",
  },
  out: {
    type: "string",
    short: "o",
    value: "PATH",
    description:
      "write the JSON lines to PATH atomically (else, or with -, stdout)",
  },
} as const;

const FLAGS = {
  concurrency: {
    type: "number",
    short: "c",
    description: "requests in flight at most",
    default: "16",
  },
  ...REQUEST_FLAGS,
} as const;

/** The usage text of `aio fetch`. */
export const FETCH_USAGE = `usage: aio fetch [options] <url...|->

Fetches every URL at once (at most --concurrency in flight) and writes one
JSON line per URL, in input order: {"url","status","bytes","ms","retries","error"?}.
URLs come from the arguments, or one per line from standard input with "-"
(or no argument when input is piped; UTF-8, lines of up to ${
  MAX_STDIN_LINE.toLocaleString("en-US")
} characters,
blank lines and # comments skipped). Progress goes to standard error: a bar
on a terminal, plain lines otherwise. Exits 1 if any URL failed, 2 on bad
arguments or input.

options:
${describeFlags(FLAGS)}

permissions: -N (or -N=host1,host2 for the hosts fetched); with --out PATH
also -R and -W on PATH's directory (the file is replaced atomically).`;

/**
 * Checks each URL is absolute http(s) and returns them normalized; `action`
 * starts the message of a bad one (`Cannot crawl "x": ...`), and `origin`,
 * if given, says where the one at an index came from (`line 3 of standard
 * input`).
 */
export function checkUrls(
  inputs: string[],
  action = "fetch",
  origin?: (index: number) => string,
): string[] {
  return inputs.map((input, index) => {
    const bad = (why: string) => {
      const message = `Cannot ${action} ${quoted(input)}${
        origin ? ` (${origin(index)})` : ""
      }: ${why}`;
      return origin ? new InputError(message) : new UsageError(message);
    };
    // The URL parser drops tabs and line breaks: a lone carriage return
    // (old Mac line ends) would join two URLs into one.
    if (/[\t\n\r]/.test(input)) {
      throw bad("it holds a tab or a line break");
    }
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw bad(
        URL.canParse(input, "http://localhost/")
          ? "not an absolute URL"
          : "not a valid URL",
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw bad("only http and https URLs");
    }
    return url.href;
  });
}

/** `input` for a message: quoted, escaped and cut, as it may be anything piped in. */
function quoted(input: string): string {
  return escapeInvisible(JSON.stringify(excerpt(input, 200)));
}

/** Runs `aio fetch`. */
export async function fetchCommand(
  args: string[],
  io: Io,
): Promise<number> {
  const { flags, positionals, help } = parseFlags(args, FLAGS);
  if (help) {
    await writeLine(io.stdout, FETCH_USAGE);
    return 0;
  }
  const concurrency = wholeNumber("concurrency", flags.concurrency!, 1);
  const retries = wholeNumber("retries", flags.retries!, 0);
  const timeout = positiveDuration("timeout", flags.timeout!);
  const out = outPath(flags.out);
  let inputs = positionals;
  let origin: ((index: number) => string) | undefined;
  if (
    inputs.length === 1 && inputs[0] === "-" ||
    inputs.length === 0 && !io.stdinIsTerminal
  ) {
    const lines = await readStdinLines(io.stdin, io.signal).catch((error) => {
      throw error instanceof LineTooLongError ||
          error instanceof Deno.errors.InvalidData
        ? new InputError(error.message, { cause: error })
        : error;
    });
    inputs = lines.map(({ text }) => text);
    origin = (index) => `line ${lines[index]!.number} of standard input`;
  } else if (inputs.includes("-")) {
    throw new UsageError(`Cannot read the URLs: "-" must be the only argument`);
  }
  if (inputs.length === 0) throw new UsageError("Cannot fetch: no URLs given");
  const urls = checkUrls(inputs, "fetch", origin);

  await using client = new Client({ concurrency, timeout });
  const progress = new ProgressReporter({ sink: io.stderr, label: "fetch" });
  const counts = { done: 0, failed: 0, total: urls.length };
  const records = mapConcurrent(urls, async (url, signal) => {
    const record = await fetchRecord(client, url, signal, { timeout, retries });
    counts.done++;
    if (failed(record)) counts.failed++;
    progress.update(counts);
    return record;
  }, { concurrency, signal: io.signal });

  // The bar's time and rate move on while requests are in flight.
  const ticker = setInterval(() => progress.refresh(counts), 250);
  try {
    await writeRecords(io, out, records, progress);
  } catch (error) {
    progress.endLine();
    throw error;
  } finally {
    clearInterval(ticker);
  }
  progress.finish(counts);
  return counts.failed > 0 ? 1 : 0;
}
