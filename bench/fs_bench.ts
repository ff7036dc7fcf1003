/**
 * File benchmark, on a generated file and files in /tmp, every contender in
 * its own process pinned to core 0:
 *
 * - reading the lines of a 512 MiB text file (9.4 M lines of 1–130
 *   characters): `readLines()` against the plain pipeline it is built on
 *   (`Deno.open` + `TextDecoderStream` + `TextLineStream`, with no line limit
 *   and no UTF-8 check) and against `wc -l` (the floor: counting bytes, no
 *   decoding);
 * - writing 5,000 small files (100–300 bytes) one after another, new files
 *   and replacing existing ones: `writeFileAtomic(…, { fsync: false })`
 *   against `Deno.writeTextFile`, and for reference `writeFileAtomic()` with
 *   its default `fsync: true` (500 files).
 *
 * Median of 3 runs (min–max), round-robin so that noise spreads evenly; the
 * file is read once before the runs so that all of them read from the page
 * cache. Reported: throughput, CPU time per MiB or per file, and the
 * reader's peak RSS. Generated files are removed at the end.
 *
 * Run: `flock /tmp/aio-bench.lock deno task bench fs`.
 *
 * @module
 */

import { cpuUsage, resourceUsage } from "node:process";
import { TextLineStream } from "@std/streams/text-line-stream";
import { writeFileAtomic } from "../fs/atomic.ts";
import { readLines } from "../fs/lines.ts";
import { makeTempDir } from "../fs/temp.ts";
import {
  denoArgs,
  markdownTable,
  median,
  SERVER_CORE,
  summary,
} from "./_util.ts";

const FILE_MIB = 512;
const FILES = 5_000;
const FSYNC_FILES = 500;
const RUNS = 3;
const SELF = "bench/fs_bench.ts";

/** What a child reports about its measured run. */
interface Result {
  ms: number;
  cpuMs: number;
  rssMiB: number;
  /** Lines read or files written, to check the contenders agree. */
  count: number;
}

const readers: Record<string, (path: string) => Promise<number>> = {
  async readLines(path) {
    let count = 0;
    for await (const _ of readLines(path)) count++;
    return count;
  },
  async plain(path) {
    using file = await Deno.open(path);
    const lines = file.readable
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream());
    let count = 0;
    for await (const _ of lines) count++;
    return count;
  },
};

// Each writer writes `${prefix}${i}.json` for i < count.
const writers: Record<
  string,
  (prefix: string, count: number) => Promise<number>
> = {
  async atomic(prefix, count) {
    for (let i = 0; i < count; i++) {
      await writeFileAtomic(`${prefix}${i}.json`, payload(i), { fsync: false });
    }
    return count;
  },
  async plain(prefix, count) {
    for (let i = 0; i < count; i++) {
      await Deno.writeTextFile(`${prefix}${i}.json`, payload(i));
    }
    return count;
  },
  async atomicFsync(prefix, count) {
    for (let i = 0; i < count; i++) {
      await writeFileAtomic(`${prefix}${i}.json`, payload(i));
    }
    return count;
  },
};

function payload(i: number): string {
  return JSON.stringify({ id: i, name: `item ${i}`, tags: ["a", "b"] }) +
    "x".repeat(80 + (i * 37) % 200) + "\n";
}

/** Runs one contender in this process and prints its {@linkcode Result}. */
async function child(kind: string, name: string, target: string) {
  const count = Number(Deno.args[4] ?? 0);
  const cpu = cpuUsage();
  const start = performance.now();
  const seen = kind === "read"
    ? await readers[name]!(target)
    : await writers[name]!(target, count);
  const ms = performance.now() - start;
  const used = cpuUsage(cpu);
  const result: Result = {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    rssMiB: resourceUsage().maxRSS / 1024,
    count: seen,
  };
  console.log(JSON.stringify(result));
}

async function runChild(args: string[]): Promise<Result> {
  const { success, stdout, stderr } = await new Deno.Command("taskset", {
    args: [
      "-c",
      String(SERVER_CORE),
      "deno",
      ...denoArgs("run", ["-P=bench", SELF, "--child", ...args]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot run ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

async function runWc(path: string): Promise<Result> {
  const start = performance.now();
  const { success, stdout } = await new Deno.Command("taskset", {
    args: ["-c", String(SERVER_CORE), "wc", "-l", path],
    stdout: "piped",
  }).output();
  const ms = performance.now() - start;
  if (!success) throw new Error("Cannot run wc -l");
  const count = Number(new TextDecoder().decode(stdout).trim().split(" ")[0]);
  // A short-lived external process: its wall time is its CPU time, near
  // enough (it never waits, the file is in the page cache).
  return { ms, cpuMs: ms, rssMiB: NaN, count };
}

/** Writes `mib` MiB of lines of 1–130 characters; returns the line count. */
async function generate(path: string, mib: number): Promise<number> {
  const words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed " +
    "do eiusmod tempor incididunt ut labore et dolore magna aliqua").split(" ");
  let seed = 1;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  // 16 different blocks of 1 MiB, repeated: generating 512 MiB of random
  // text would take longer than reading it.
  const blocks: Uint8Array[] = [];
  const lineCounts: number[] = [];
  for (let b = 0; b < 16; b++) {
    const lines: string[] = [];
    let size = 0;
    while (size < 1024 * 1024 - 200) {
      const count = random(20);
      const parts = [String(random(1e6))];
      for (let w = 0; w < count; w++) parts.push(words[random(words.length)]!);
      const line = parts.join(" ");
      lines.push(line);
      size += line.length + 1;
    }
    blocks.push(new TextEncoder().encode(lines.join("\n") + "\n"));
    lineCounts.push(lines.length);
  }
  let total = 0;
  await writeFileAtomic(
    path,
    (function* () {
      for (let i = 0; i < mib; i++) {
        total += lineCounts[i % 16]!;
        yield blocks[i % 16]!;
      }
    })(),
    { fsync: false },
  );
  return total;
}

async function benchRead(dir: string): Promise<string> {
  const path = `${dir}/lines.txt`;
  const lines = await generate(path, FILE_MIB);
  await runWc(path); // Into the page cache.
  const contenders = ["readLines", "plain", "wc -l"];
  const results = new Map<string, Result[]>(contenders.map((c) => [c, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const name of contenders) {
      const result = name === "wc -l"
        ? await runWc(path)
        : await runChild(["read", name, path]);
      if (result.count !== lines) {
        throw new Error(`${name} counted ${result.count} lines, not ${lines}`);
      }
      results.get(name)!.push(result);
    }
  }
  const mibPerS = (r: Result) => FILE_MIB / (r.ms / 1000);
  const plain = median(results.get("plain")!.map(mibPerS));
  const rows = contenders.map((name) => {
    const runs = results.get(name)!;
    return [
      name === "readLines"
        ? "`readLines()`"
        : name === "plain"
        ? "plain pipeline"
        : "`wc -l` (floor)",
      summary(runs.map(mibPerS)),
      `${(median(runs.map(mibPerS)) / plain).toFixed(2)}×`,
      summary(runs.map((r) => r.cpuMs / FILE_MIB), 2),
      name === "wc -l" ? "–" : summary(runs.map((r) => r.rssMiB)),
    ];
  });
  return `Reading ${FILE_MIB} MiB, ${
    lines.toLocaleString("en-US")
  } lines:\n\n` +
    markdownTable(
      ["reader", "MiB/s", "vs plain", "CPU ms per MiB", "peak RSS MiB"],
      rows,
    );
}

async function benchWrite(dir: string): Promise<string> {
  const scenarios: [string, string, number, boolean][] = [
    ["atomic", "`writeFileAtomic()`, `fsync: false`, new files", FILES, false],
    ["plain", "`Deno.writeTextFile()`, new files", FILES, false],
    ["atomic", "`writeFileAtomic()`, `fsync: false`, replacing", FILES, true],
    ["plain", "`Deno.writeTextFile()`, replacing", FILES, true],
    [
      "atomicFsync",
      "`writeFileAtomic()`, `fsync: true`, new files",
      FSYNC_FILES,
      false,
    ],
  ];
  // One directory for every run: each new directory lands in another block
  // group of ext4, whose first inodes cost several times more to allocate,
  // which would be charged to whichever writer comes first. Nothing is
  // removed before the end either (removals slow the next run down).
  const shared = `${dir}/files`;
  await Deno.mkdir(shared);
  const results = scenarios.map((): Result[] => []);
  let batch = 0;
  const run = async (index: number) => {
    const [name, , count, replacing] = scenarios[index]!;
    const prefix = `${shared}/${batch++}-`;
    if (replacing) {
      for (let i = 0; i < count; i++) {
        await Deno.writeTextFile(`${prefix}${i}.json`, "old");
      }
    }
    const result = await runChild(["write", name, prefix, String(count)]);
    const check = await Deno.readTextFile(`${prefix}${count - 1}.json`);
    if (check !== payload(count - 1)) {
      throw new Error(`${name} did not write ${prefix}${count - 1}.json`);
    }
    return result;
  };
  // A warmup round, then the measured ones, each in another order.
  for (let index = 0; index < scenarios.length; index++) await run(index);
  for (let round = 0; round < RUNS; round++) {
    for (let k = 0; k < scenarios.length; k++) {
      const index = (k + round) % scenarios.length;
      results[index]!.push(await run(index));
    }
  }
  const perS = (count: number) => (r: Result) => count / (r.ms / 1000);
  const rows = scenarios.map(([, label, count, replacing], index) => {
    const runs = results[index]!;
    const plain = median(
      results[
        scenarios.findIndex(([name, , , r]) =>
          name === "plain" && r === replacing
        )
      ]!.map(perS(FILES)),
    );
    return [
      label + (count === FILES ? "" : ` (${count} files)`),
      summary(runs.map(perS(count))),
      `${(plain / median(runs.map(perS(count)))).toFixed(2)}×`,
      summary(runs.map((r) => r.cpuMs * 1000 / count)),
    ];
  });
  return `Writing ${
    FILES.toLocaleString("en-US")
  } small files one by one:\n\n` +
    markdownTable(
      ["writer", "files/s", "time vs plain", "CPU µs per file"],
      rows,
    );
}

if (Deno.args[0] === "--child") {
  const [, kind, name, target] = Deno.args;
  await child(kind!, name!, target!);
} else {
  await using dir = await makeTempDir({ dir: "/tmp", prefix: "aio-fs-bench-" });
  console.log(await benchRead(dir.path));
  console.log();
  console.log(await benchWrite(dir.path));
}
