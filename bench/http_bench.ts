/**
 * HTTP hello-world benchmark: raw `Deno.serve` against `serveHttp` (with
 * `requestTimeout` and `maxBodySize` set, access log off), each with a sync
 * and an async handler, `serveHttp` + `router` with 50 routes, raw
 * `Deno.serve` reading `request.url` (what any router pays first), and Hono
 * on Deno (1 route and the same 50 routes), all in the same run.
 *
 * `wrk -t1 -c64` drives each server (pinned to core 0) from core 1. Raw
 * `Deno.serve` already saturates wrk's core on this kind of machine, so
 * req/s alone hides overhead: the server's CPU time per request over the
 * measured window (the server reports its `getrusage` time on SIGUSR1), is
 * the figure that compares servers.
 * Every figure is the median of the runs with min–max; runs are interleaved
 * across servers, each run in a rotated order, and a run in which the
 * server got less than 90% of its core (every server saturates it on a
 * quiet machine) is measured again, up to 3 attempts.
 *
 * `deno task bench http` (permission set "bench"; installs the Debian
 * package `wrk` when missing). Environment: `HTTP_BENCH_SECONDS` (measured
 * seconds per run, default 3), `HTTP_BENCH_RUNS` (default 3).
 *
 * @module
 */

import {
  denoArgs,
  ensureDebian,
  LOAD_CORE,
  markdownTable,
  median,
  type PinnedProcess,
  SERVER_CORE,
  spawnPinned,
  summary,
} from "./_util.ts";

const SECONDS = Number(Deno.env.get("HTTP_BENCH_SECONDS") ?? 3);
const RUNS = Number(Deno.env.get("HTTP_BENCH_RUNS") ?? 3);
const WARMUP_SECONDS = 1;
const ATTEMPTS = 3;
const CONNECTIONS = 64;

interface Server {
  name: string;
  mode: string;
  path: string;
}

const SERVERS: Server[] = [
  { name: "raw Deno.serve", mode: "raw", path: "/" },
  { name: "serveHttp", mode: "serveHttp", path: "/" },
  { name: "raw Deno.serve, async handler", mode: "raw-async", path: "/" },
  { name: "serveHttp, async handler", mode: "serveHttp-async", path: "/" },
  {
    name: "raw Deno.serve, reads request.url",
    mode: "raw-url",
    path: "/hello/world",
  },
  {
    name: "serveHttp + router (50 routes)",
    mode: "router",
    path: "/hello/world",
  },
  { name: "Hono", mode: "hono", path: "/" },
  { name: "Hono (50 routes)", mode: "hono-router", path: "/hello/world" },
];

interface Result {
  requests: number;
  seconds: number;
  serverCpuMs: number;
  p99ms: number;
}

const perSecond = (r: Result) => r.requests / r.seconds;
const cpuPerRequest = (r: Result) => r.serverCpuMs * 1000 / r.requests;
const cpuShare = (r: Result) => r.serverCpuMs / (r.seconds * 1000);

/** wrk's latency figures carry their unit: `810.00us`, `1.20ms`, `1.00s`. */
function milliseconds(value: string): number {
  const match = value.match(/^([\d.]+)(us|ms|s)$/);
  if (!match) throw new Error(`Cannot read the wrk latency "${value}"`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as "us" | "ms" | "s"];
  return Number(match[1]) * scale;
}

async function wrk(url: string, seconds: number): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("taskset", {
    args: [
      "-c",
      String(LOAD_CORE),
      "wrk",
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--latency",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    throw new Error(`Cannot run wrk: ${new TextDecoder().decode(stderr)}`);
  }
  if (/Non-2xx|Socket errors/.test(text)) {
    throw new Error(`Cannot benchmark ${url}: wrk saw errors\n${text}`);
  }
  return text;
}

/** The server's CPU time so far in ms, which it prints on SIGUSR1. */
async function cpuTimeMs(server: PinnedProcess): Promise<number> {
  const count = () => server.output().match(/^cpu \d+$/gm)?.length ?? 0;
  const before = count();
  server.child.kill("SIGUSR1");
  for (let waited = 0; count() === before; waited += 5) {
    if (waited > 5000) throw new Error("Cannot read the server's CPU time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const lines = server.output().match(/^cpu (\d+)$/gm)!;
  return Number(lines[lines.length - 1]!.slice(4)) / 1000;
}

async function measure(server: Server): Promise<Result> {
  const process = spawnPinned(
    SERVER_CORE,
    "deno",
    denoArgs("run", ["-N=127.0.0.1", "bench/_http_server.ts", server.mode]),
    { waitFor: /^port (\d+)$/ },
  );
  try {
    const [, port] = await process.ready;
    const url = `http://127.0.0.1:${port}${server.path}`;
    await wrk(url, WARMUP_SECONDS);
    const before = await cpuTimeMs(process);
    const text = await wrk(url, SECONDS);
    const serverCpuMs = await cpuTimeMs(process) - before;
    const done = text.match(/(\d+) requests in ([\d.]+)(m?s)/);
    const p99 = text.match(/^\s+99%\s+(\S+)$/m);
    if (!done || !p99) throw new Error(`Cannot read wrk's output:\n${text}`);
    return {
      requests: Number(done[1]),
      seconds: Number(done[2]) * (done[3] === "ms" ? 0.001 : 1),
      serverCpuMs,
      p99ms: milliseconds(p99[1]!),
    };
  } finally {
    await process.stop();
  }
}

if (!await ensureDebian("wrk", "wrk")) {
  console.error("Cannot benchmark HTTP: wrk is missing and apt-get failed");
  Deno.exit(1);
}

const results = new Map<string, Result[]>();
for (let run = 1; run <= RUNS; run++) {
  // Each run starts with a different server, so none always goes first.
  const shift = (run - 1) % SERVERS.length;
  const order = [...SERVERS.slice(shift), ...SERVERS.slice(0, shift)];
  for (const server of order) {
    let result = await measure(server);
    for (
      let attempt = 2;
      attempt <= ATTEMPTS && cpuShare(result) < 0.9;
      attempt++
    ) {
      console.error(
        `  ${server.name}: server CPU only ${
          (cpuShare(result) * 100).toFixed(0)
        }%, measuring again (attempt ${attempt}/${ATTEMPTS})`,
      );
      const again = await measure(server);
      if (cpuShare(again) > cpuShare(result)) result = again;
    }
    results.set(server.name, [...results.get(server.name) ?? [], result]);
    console.error(
      `run ${run}/${RUNS} ${server.name}: ${
        Math.round(perSecond(result))
      } req/s, ${cpuPerRequest(result).toFixed(2)} µs/req, p99 ${
        result.p99ms.toFixed(2)
      } ms, server CPU ${(cpuShare(result) * 100).toFixed(0)}%`,
    );
  }
}

const runsOf = (server: Server) => results.get(server.name)!;
const raw = runsOf(SERVERS[0]!);
const rawCpu = median(raw.map(cpuPerRequest));
const rawRate = median(raw.map(perSecond));
const rawP99 = median(raw.map((r) => r.p99ms));

console.log(
  `HTTP hello-world, wrk -t1 -c${CONNECTIONS}, ${RUNS} runs of ${SECONDS} s ` +
    `(after ${WARMUP_SECONDS} s warm-up), server on core ${SERVER_CORE}, ` +
    `wrk on core ${LOAD_CORE}; median (min–max); ratios of medians to raw ` +
    `Deno.serve.\n`,
);
console.log(markdownTable(
  [
    "server",
    "req/s",
    "server CPU µs/req",
    "p99 ms",
    "CPU/req vs raw",
    "req/s vs raw",
    "p99 vs raw",
  ],
  SERVERS.map((server) => {
    const runs = runsOf(server);
    return [
      server.name,
      summary(runs.map(perSecond)),
      summary(runs.map(cpuPerRequest), 2),
      summary(runs.map((r) => r.p99ms), 2),
      `${(median(runs.map(cpuPerRequest)) / rawCpu).toFixed(2)}×`,
      `${(median(runs.map(perSecond)) / rawRate).toFixed(2)}×`,
      `${(median(runs.map((r) => r.p99ms)) / rawP99).toFixed(2)}×`,
    ];
  }),
));
