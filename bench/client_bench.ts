/**
 * Client benchmark: 20,000 GETs of a small body, at most 64 in flight,
 * against a fast local server (Deno.serve, pinned to core 0), with the load
 * generator pinned to core 1:
 *
 * - `raw pool`: 64 hand-written workers over raw `fetch` (the baseline),
 * - `raw pool, fetch with a signal`: the same with one `AbortSignal` shared
 *   by all requests: what cancellability alone costs (Deno's `Request` links
 *   a dependent signal per request),
 * - `fetchText pool, no timeout` and `fetchText pool`: the same 64 workers
 *   calling `fetchText()`, with `timeout: Infinity` (no signal: the request
 *   engine alone) and with its default 30 s timeout,
 * - `pooledMap`: `pooledMap` from `@std/async` over raw `fetch`,
 * - `gather`: `gather()` of 20,000 `fetchText()` tasks, `concurrency: 64`,
 * - `mapConcurrent`: `mapConcurrent()` of `fetchText()` over lazy inputs,
 * - `gather, raw fetch tasks` and `mapConcurrent, raw fetch tasks`: the same
 *   over the raw pool's own task (`fetch` + `text()`, no timeout), as
 *   `pooledMap` runs: what the schedulers alone cost,
 * - `Client`: `client.text()` × 20,000 under `concurrency: 64`,
 * - `aiohttp`: the seed's peer, a semaphore + `asyncio.gather`
 *   (bench/client_aiohttp.py).
 *
 * The library contenders read each body inside the request's timeout (30 s by
 * default), as a user's code would. Each run is its own process after a
 * warmup of 2,000 requests; median of 3 runs (`CLIENT_BENCH_RUNS`), with
 * min–max, round-robin in rotated order so that noise spreads evenly. Reported: requests per second, client CPU time per
 * request, and the client's peak RSS. Then the same contenders (aiohttp
 * aside) in one process, in alternating blocks of 20,000 requests, which
 * shows differences of a few percent that separate processes hide in their
 * noise. Then the peak RSS of `mapConcurrent()` over 1,000,000 lazily
 * generated tasks that resolve at once.
 *
 * Run: `flock /tmp/aio-bench.lock deno task bench client`.
 *
 * @module
 */

import { cpuUsage, resourceUsage } from "node:process";
import { pooledMap } from "@std/async/pool";
import { Client } from "../client/client.ts";
import { gather, mapConcurrent } from "../client/gather.ts";
import { fetchText } from "../client/request.ts";
import {
  denoArgs,
  LOAD_CORE,
  markdownTable,
  median,
  SERVER_CORE,
  spawnPinned,
  summary,
} from "./_util.ts";

const REQUESTS = 20_000;
const CONCURRENCY = 64;
const WARMUP = 2_000;
const RUNS = Number(Deno.env.get("CLIENT_BENCH_RUNS") ?? 3);
/**
 * Requests per block, and rounds of blocks, of the one-process comparison: a
 * whole run per block, so that `Client` queues as many calls as above.
 */
const BLOCK = REQUESTS;
const BLOCK_ROUNDS = 5;
const MILLION = 1_000_000;
const SELF = "bench/client_bench.ts";

/** What a child reports about its measured run. */
interface Result {
  ms: number;
  cpuMs: number;
  /** The process's peak RSS (getrusage's maxRSS), warmup included. */
  rssMiB: number;
}

type Load = (url: string, count: number) => Promise<void>;

async function readAll(url: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Cannot GET "${url}": ${response.status}`);
  await response.text();
}

/** `CONCURRENCY` workers calling `fn` until `count` calls were made. */
async function pool(count: number, fn: () => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** 0, 1, ..., `count - 1`, made one at a time. */
function* numbers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

async function drain(results: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of results) {
    // Nothing to keep.
  }
}

const LOADS: Record<string, () => Load> = {
  "raw pool": () => (url, count) => pool(count, () => readAll(url)),
  "raw pool, fetch with a signal": () => {
    // One signal for all, as the library's shared abort scopes do: the
    // least any cancellable fetch costs in Deno.
    const signal = new AbortController().signal;
    return (url, count) =>
      pool(count, async () => {
        const response = await fetch(url, { signal });
        await response.text();
      });
  },
  "fetchText pool, no timeout": () => (url, count) =>
    pool(count, () => fetchText(url, { timeout: Infinity })),
  "fetchText pool": () => (url, count) => pool(count, () => fetchText(url)),
  pooledMap: () => (url, count) =>
    drain(pooledMap(CONCURRENCY, numbers(count), () => readAll(url))),
  gather: () => async (url, count) => {
    const tasks = Array.from({ length: count }, () => () => fetchText(url));
    await gather(tasks, { concurrency: CONCURRENCY });
  },
  mapConcurrent: () => (url, count) =>
    drain(mapConcurrent(numbers(count), () => fetchText(url), {
      concurrency: CONCURRENCY,
    })),
  // The schedulers alone, over the raw pool's own task, as pooledMap runs.
  "gather, raw fetch tasks": () => async (url, count) => {
    const tasks = Array.from({ length: count }, () => () => readAll(url));
    await gather(tasks, { concurrency: CONCURRENCY });
  },
  "mapConcurrent, raw fetch tasks": () => (url, count) =>
    drain(mapConcurrent(numbers(count), () => readAll(url), {
      concurrency: CONCURRENCY,
    })),
  Client: () => {
    const client = new Client({ concurrency: CONCURRENCY });
    return async (url, count) => {
      const calls = new Array<Promise<string>>(count);
      for (let i = 0; i < count; i++) calls[i] = client.text(url);
      await Promise.all(calls);
    };
  },
};

/** Child process: runs one contender and prints its measurements. */
async function child(name: string, url: string): Promise<void> {
  const load = LOADS[name]!();
  await load(url, WARMUP);
  const cpu = cpuUsage();
  const start = performance.now();
  await load(url, REQUESTS);
  const ms = performance.now() - start;
  const used = cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  report({ ms, cpuMs });
}

/**
 * Child process: every contender in this one process, in alternating blocks
 * of {@linkcode BLOCK} requests, reporting each one's median CPU time per
 * request. Run-to-run differences (JIT, heap layout, the machine's moods)
 * cancel out, so small differences show.
 */
async function blocks(url: string): Promise<void> {
  const loads = Object.entries(LOADS).map(([name, make]) =>
    [name, make()] as const
  );
  const perRequest = new Map<string, number[]>(
    loads.map(([name]) => [name, []]),
  );
  for (const [, load] of loads) await load(url, WARMUP);
  for (let round = 0; round < BLOCK_ROUNDS; round++) {
    for (const [name, load] of loads) {
      const cpu = cpuUsage();
      await load(url, BLOCK);
      const used = cpuUsage(cpu);
      perRequest.get(name)!.push((used.user + used.system) / BLOCK);
    }
  }
  const medians = Object.fromEntries(
    [...perRequest].map(([name, values]) => [name, median(values)]),
  );
  console.log(`RESULT ${JSON.stringify(medians)}`);
}

/** Child process: mapConcurrent over a million lazily made, instant tasks. */
async function million(): Promise<void> {
  const start = performance.now();
  let count = 0;
  for await (
    const _ of mapConcurrent(numbers(MILLION), (i) => Promise.resolve(i), {
      concurrency: CONCURRENCY,
    })
  ) count++;
  if (count !== MILLION) throw new Error(`Cannot count: got ${count}`);
  report({ ms: performance.now() - start, cpuMs: 0 });
}

/** Whether /usr/bin/python3 can import aiohttp, installing it if not. */
async function hasAiohttp(): Promise<boolean> {
  const imports = async () =>
    (await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import aiohttp"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  if (await imports()) return true;
  console.error("aiohttp is missing: apt-get install -y python3-aiohttp");
  for (
    const args of [["update", "-qq"], [
      "install",
      "-y",
      "-qq",
      "python3-aiohttp",
    ]]
  ) {
    const { success } = await new Deno.Command("apt-get", {
      args,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!success) return false;
  }
  return await imports();
}

/**
 * Prints the result with the peak RSS from getrusage (a child may not read
 * /proc without --allow-all).
 */
function report(result: Omit<Result, "rssMiB">): void {
  const rssMiB = resourceUsage().maxRSS / 1024;
  console.log(`RESULT ${JSON.stringify({ ...result, rssMiB })}`);
}

/** Starts `command args` on the load core and returns what it reported. */
async function measure<T = Result>(
  command: string,
  args: string[],
): Promise<T> {
  const process = spawnPinned(LOAD_CORE, command, args, {
    waitFor: /^RESULT (.*)$/,
  });
  try {
    const match = await process.ready;
    return JSON.parse(match[1]!) as T;
  } finally {
    await process.stop();
  }
}

async function main(): Promise<void> {
  const server = spawnPinned(
    SERVER_CORE,
    "deno",
    denoArgs("run", ["-P=bench", SELF, "--server"]),
    { waitFor: /^listening (\d+)$/ },
  );
  try {
    const port = (await server.ready)[1]!;
    const url = `http://127.0.0.1:${port}/`;
    const contenders: [string, string, string[]][] = Object.keys(LOADS).map(
      (
        name,
      ) => [
        name,
        "deno",
        denoArgs("run", ["-P=bench", SELF, "--child", name, url]),
      ],
    );
    if (await hasAiohttp()) {
      contenders.push([
        "aiohttp (Python)",
        "/usr/bin/python3",
        [
          "bench/client_aiohttp.py",
          url,
          String(REQUESTS),
          String(CONCURRENCY),
          String(WARMUP),
        ],
      ]);
    }
    const results = new Map<string, Result[]>(
      contenders.map(([name]) => [name, []]),
    );
    for (let run = 0; run < RUNS; run++) {
      // Rotated, so that no contender always runs right after the same one.
      for (let i = 0; i < contenders.length; i++) {
        const [name, command, args] =
          contenders[(i + run) % contenders.length]!;
        results.get(name)!.push(await measure(command, args));
      }
    }
    const baseline = results.get("raw pool")!;
    const rate = (r: Result) => REQUESTS / (r.ms / 1000);
    const perRequest = (r: Result) => r.cpuMs * 1000 / REQUESTS;
    const baseRate = median(baseline.map(rate));
    const baseCpu = median(baseline.map(perRequest));
    const rows = [...results].map(([name, runs]) => [
      name,
      summary(runs.map(rate)),
      `${(median(runs.map(rate)) / baseRate).toFixed(2)}×`,
      summary(runs.map(perRequest), 1),
      `${(median(runs.map(perRequest)) / baseCpu).toFixed(2)}×`,
      summary(runs.map((r) => r.rssMiB)),
    ]);
    console.log(
      `${REQUESTS.toLocaleString("en-US")} GETs, ≤${CONCURRENCY} in flight, ` +
        `median of ${RUNS} (min–max); server on core ${SERVER_CORE}, client on core ${LOAD_CORE}\n`,
    );
    console.log(markdownTable(
      [
        "client",
        "req/s",
        "vs raw",
        "client CPU µs/req",
        "vs raw",
        "peak RSS MiB",
      ],
      rows,
    ));
    const inOne = await measure<Record<string, number>>(
      "deno",
      denoArgs("run", ["-P=bench", SELF, "--blocks", url]),
    );
    const base = inOne["raw pool"]!;
    console.log(
      `\nIn one process, alternating blocks of ${
        BLOCK.toLocaleString("en-US")
      } requests, median of ${BLOCK_ROUNDS}: client CPU µs/req (vs raw)\n`,
    );
    console.log(markdownTable(
      ["client", "client CPU µs/req", "vs raw"],
      Object.entries(inOne).map(([name, value]) => [
        name,
        value.toFixed(1),
        `${(value / base).toFixed(2)}×`,
      ]),
    ));
  } finally {
    await server.stop();
  }
  const millions: Result[] = [];
  for (let run = 0; run < RUNS; run++) {
    millions.push(
      await measure("deno", denoArgs("run", ["-P=bench", SELF, "--million"])),
    );
  }
  console.log(
    `\nmapConcurrent over ${
      MILLION.toLocaleString("en-US")
    } lazily generated tasks ` +
      `(concurrency ${CONCURRENCY}): peak RSS ${
        summary(millions.map((r) => r.rssMiB))
      } MiB, ` +
      `${summary(millions.map((r) => r.ms))} ms`,
  );
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "--server") {
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => console.log(`listening ${port}`),
    }, () => new Response("hello, world"));
  } else if (mode === "--child") {
    await child(rest[0]!, rest[1]!);
  } else if (mode === "--blocks") {
    await blocks(rest[0]!);
  } else if (mode === "--million") {
    await million();
  } else {
    await main();
  }
}
