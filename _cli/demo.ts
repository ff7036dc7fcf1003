/**
 * `aio demo`: the whole asyncio tutorial in one run, on loopback, needing
 * nothing but Deno. It starts the echo server and an HTTP server, drives
 * every client feature against them, writes the results atomically, prints
 * a summary and shuts everything down.
 *
 * @module
 */

import { delay } from "jsr:@std/async@^1.5.0/delay";
import { Client } from "../client/client.ts";
import { hello } from "../server/hello.ts";
import { echo } from "../server/echo.ts";
import { serveHttp } from "../server/http.ts";
import { router } from "../server/router.ts";
import { serveTcp } from "../server/tcp.ts";
import { readJsonLines, writeJsonLines } from "../fs/json_lines.ts";
import { makeTempDir } from "../fs/temp.ts";
import { describeFlags, parseFlags, UsageError, wholeNumber } from "./args.ts";
import { elapsed, failed, type FetchRecord, fetchRecord } from "./fetch.ts";
import { type Io, writeLine } from "./io.ts";
import { ProgressReporter } from "./progress.ts";

const FLAGS = {
  requests: {
    type: "number",
    short: "n",
    value: "N",
    description: "requests in the gather step",
    default: "200",
  },
  concurrency: {
    type: "number",
    short: "c",
    value: "N",
    description: "requests in flight at most",
    default: "16",
  },
  keep: {
    type: "boolean",
    description: "keep the results directory instead of removing it",
  },
} as const;

/** The usage text of `aio demo`. */
export const DEMO_USAGE = `usage: aio demo [options]

Runs the asyncio tutorial end to end on free loopback ports: a TCP echo
server and an HTTP server (hello, a paginated JSON API, a slow endpoint, a
flaky one answering 503 with Retry-After, a file), then echoes over TCP,
gathers many requests with a progress bar, crawls the API page by page,
survives the slow and flaky endpoints with a timeout and retries, downloads
the file, writes every result atomically as JSON lines into a temp directory
and prints a summary. Exits 0 when everything behaved as expected.

options:
${describeFlags(FLAGS)}

permissions: -N=127.0.0.1 -R=/tmp -W=/tmp (the temp directory; $TMPDIR if set).
Add --unstable-no-legacy-abort to silence Deno 2.9's one-time notice about
request.signal, which the slow endpoint watches to stop when its client
gives up.`;

const PAGES = 5;
const SLOW_MS = 5_000;
const SLOW_TIMEOUT_MS = 300;
const FILE_BYTES = 1 << 20;

/** One result line of the demo. */
interface DemoRecord extends FetchRecord {
  step: string;
}

/** The demo's HTTP application: the endpoints the client steps need. */
function app(flakyFailures: Map<string, number>) {
  const file = new Uint8Array(FILE_BYTES).map((_, i) => i % 251);
  return router([
    { method: "GET", pattern: "/", handler: hello },
    {
      method: "GET",
      pattern: "/items/:id",
      handler: (_request, _context, { id }) =>
        Response.json({ id: Number(id), name: `item ${id}` }),
    },
    {
      method: "GET",
      pattern: "/api/pages",
      handler: (request) => {
        const page = Number(new URL(request.url).searchParams.get("page") ?? 1);
        const next = page < PAGES ? `/api/pages?page=${page + 1}` : null;
        const items = Array.from({ length: 10 }, (_, i) => (page - 1) * 10 + i);
        return Response.json({ page, items, next });
      },
    },
    {
      method: "GET",
      pattern: "/slow",
      handler: async (_request, context) => {
        // Gives up as soon as the client does (its timeout).
        await delay(SLOW_MS, { signal: context.signal });
        return new Response("finally");
      },
    },
    {
      method: "GET",
      pattern: "/flaky/:key",
      handler: (_request, _context, { key }) => {
        const failures = flakyFailures.get(key!) ?? 0;
        if (failures < 1) {
          flakyFailures.set(key!, failures + 1);
          return new Response("busy, come back in a second\n", {
            status: 503,
            headers: { "retry-after": "1" },
          });
        }
        return Response.json({ key, ok: true });
      },
    },
    {
      method: "GET",
      pattern: "/files/data.bin",
      handler: () =>
        new Response(file, {
          headers: { "content-type": "application/octet-stream" },
        }),
    },
  ]);
}

async function echoRecord(port: number, n: number): Promise<DemoRecord> {
  const start = performance.now();
  const message = `hello ${n} from the asyncio demo\n`;
  const url = `tcp://127.0.0.1:${port}`;
  try {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(message));
    await conn.closeWrite();
    const reply = await new Response(conn.readable).text();
    const ms = elapsed(start);
    const record = {
      step: "tcp echo",
      url,
      status: null,
      bytes: reply.length,
      ms,
      retries: 0,
    };
    return reply === message ? record : { ...record, error: "echo differs" };
  } catch (error) {
    const ms = elapsed(start);
    return {
      step: "tcp echo",
      url,
      status: null,
      bytes: 0,
      ms,
      retries: 0,
      error: String(error),
    };
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** The summary table: one row per step and a total. */
function summaryTable(records: DemoRecord[]): string {
  const steps = [...new Set(records.map((r) => r.step))];
  const header = [
    "step",
    "requests",
    "failed",
    "retries",
    "timeouts",
    "p50 ms",
    "p99 ms",
    "bytes",
  ];
  const row = (name: string, rs: DemoRecord[]) => {
    const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
    return [
      name,
      rs.length,
      rs.filter(failed).length,
      rs.reduce((sum, r) => sum + r.retries, 0),
      rs.filter((r) => r.error?.startsWith("timeout")).length,
      percentile(ms, 0.5).toFixed(1),
      percentile(ms, 0.99).toFixed(1),
      rs.reduce((sum, r) => sum + r.bytes, 0),
    ].map(String);
  };
  const rows = [
    header,
    ...steps.map((s) => row(s, records.filter((r) => r.step === s))),
    row("total", records),
  ];
  const widths = header.map((_, i) =>
    Math.max(...rows.map((r) => r[i]!.length))
  );
  return rows.map((r) =>
    r.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    ).join("  ")
  ).join("\n");
}

/** What the demo expects of each step; a message per surprise. */
function surprises(records: DemoRecord[], requests: number): string[] {
  const problems: string[] = [];
  const of = (step: string) => records.filter((r) => r.step === step);
  const expectAllOk = (step: string, count: number) => {
    const rs = of(step);
    if (rs.length !== count) {
      problems.push(`${step}: ${rs.length} results, expected ${count}`);
    }
    for (const r of rs.filter(failed)) {
      problems.push(`${step}: ${r.url}: ${r.error}`);
    }
  };
  expectAllOk("tcp echo", 20);
  expectAllOk("gather", requests);
  expectAllOk("crawl", PAGES);
  expectAllOk("flaky (retry)", 5);
  expectAllOk("download", 1);
  for (const r of of("slow (timeout)")) {
    if (!r.error?.startsWith("timeout")) {
      problems.push(
        `slow (timeout): ${r.url}: expected a timeout, got ${
          r.error ?? r.status
        }`,
      );
    }
  }
  if (of("flaky (retry)").some((r) => r.retries !== 1)) {
    problems.push("flaky (retry): expected exactly one retry per request");
  }
  return problems;
}

/** Runs `aio demo`. */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals, help } = parseFlags(args, FLAGS);
  if (help) {
    await writeLine(io.stdout, DEMO_USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Cannot run the demo: unexpected "${positionals[0]}"`);
  }
  const requests = wholeNumber("requests", flags.requests!, 1);
  const concurrency = wholeNumber("concurrency", flags.concurrency!, 1);
  const say = (text: string) => writeLine(io.stdout, text);
  const started = performance.now();
  const { signal } = io;
  // Made first: a temporary directory that cannot be made fails the demo
  // before its network steps, not after them.
  const dir = await makeTempDir({ prefix: "aio-demo-" });
  await using _removed = flags.keep ? undefined : dir;

  await using tcp = serveTcp(echo, { onListen() {} });
  await using http = serveHttp(app(new Map()), { onListen() {} });
  const base = `http://127.0.0.1:${http.addr.port}`;
  await say(
    `echo server on 127.0.0.1:${tcp.addr.port}, HTTP server on ${base}`,
  );
  await using client = new Client({
    baseUrl: base,
    concurrency,
    timeout: 5_000,
  });
  const records: DemoRecord[] = [];
  const tag = (step: string) => (record: FetchRecord): DemoRecord => ({
    step,
    ...record,
  });

  // 1. The seed's echo server: 20 clients at once.
  const echoes = await client.gather(
    Array.from({ length: 20 }, (_, n) => () => echoRecord(tcp.addr.port, n)),
    { signal },
  );
  records.push(...echoes);
  await say(
    `tcp echo: ${echoes.filter((r) => !failed(r)).length}/20 echoed intact`,
  );

  // 2. asyncio.gather: many requests, at most `concurrency` in flight.
  const progress = new ProgressReporter({ sink: io.stderr, label: "gather" });
  let counts = { done: 0, failed: 0, total: requests };
  const gathered = await client.gather(
    Array.from(
      { length: requests },
      (_, i) => (taskSignal: AbortSignal) =>
        fetchRecord(client, `${base}/items/${i}`, taskSignal),
    ),
    {
      signal,
      onProgress: (now) => {
        counts = now;
        progress.update(now);
      },
    },
  ).catch((error) => {
    // On Ctrl-C, "interrupted" must not land on the bar's line.
    progress.endLine();
    throw error;
  });
  progress.finish({ ...counts, failed: gathered.filter(failed).length });
  records.push(...gathered.map(tag("gather")));

  // 3. Chained requests: each page names the next.
  let before = performance.now();
  for await (
    const page of client.paginate<{ next: string | null; items: number[] }>(
      `${base}/api/pages`,
      { next: "next", signal },
    )
  ) {
    const ms = elapsed(before);
    const bytes = JSON.stringify(page.data).length;
    records.push({
      step: "crawl",
      url: page.url,
      status: page.status,
      bytes,
      ms,
      retries: 0,
    });
    before = performance.now();
  }
  await say(
    `crawl: ${records.filter((r) => r.step === "crawl").length} pages followed`,
  );

  // 4. Timeouts and retries: a slow endpoint and a flaky one, side by side.
  const [slow, flaky] = await Promise.all([
    Promise.all(
      Array.from(
        { length: 3 },
        (_, i) =>
          fetchRecord(client, `${base}/slow?n=${i}`, signal, {
            timeout: SLOW_TIMEOUT_MS,
            retries: 0,
          }),
      ),
    ),
    Promise.all(
      Array.from(
        { length: 5 },
        (_, i) =>
          fetchRecord(client, `${base}/flaky/${i}`, signal, { retries: 2 }),
      ),
    ),
  ]);
  records.push(
    ...slow.map(tag("slow (timeout)")),
    ...flaky.map(tag("flaky (retry)")),
  );
  await say(
    `slow: ${
      slow.filter((r) => r.error?.startsWith("timeout")).length
    }/3 timed out after ${SLOW_TIMEOUT_MS} ms; ` +
      `flaky: ${flaky.filter((r) => !failed(r)).length}/5 succeeded after ${
        flaky.reduce((s, r) => s + r.retries, 0)
      } retries (Retry-After: 1)`,
  );

  // 5. Files: a download and the results, both written atomically.
  const start = performance.now();
  const target = `${dir.path}/data.bin`;
  const download: DemoRecord = {
    step: "download",
    url: `${base}/files/data.bin`,
    status: null,
    bytes: 0,
    ms: 0,
    retries: 0,
  };
  try {
    await client.download("/files/data.bin", target, { signal });
    const { size } = await Deno.stat(target);
    download.status = 200;
    download.bytes = size;
    if (size !== FILE_BYTES) {
      download.error = `${size} bytes on disk, expected ${FILE_BYTES}`;
    }
  } catch (error) {
    download.error = String(error);
  }
  download.ms = elapsed(start);
  records.push(download);

  const results = `${dir.path}/results.jsonl`;
  await writeJsonLines(results, records, { signal });
  let lines = 0;
  for await (const _ of readJsonLines(results, { signal })) lines++;

  await say("");
  await say(summaryTable(records));
  await say("");
  await say(
    `results: ${results} (${lines} JSON lines, written atomically)${
      flags.keep ? "" : ", removed on exit"
    }`,
  );

  const problems = surprises(records, requests);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    for (const problem of problems) {
      await writeLine(io.stderr, `unexpected: ${problem}`);
    }
    await say(
      `demo finished in ${seconds} s with ${problems.length} surprise(s)`,
    );
    return 1;
  }
  await say(`demo finished in ${seconds} s: every step behaved; shutting down`);
  return 0;
}
