// The memory-test child: `deno run --allow-read=FILE
// fs/testdata/read_lines_memory.ts FILE` reads FILE with readLines and
// prints, as JSON, how many lines and characters it saw and its resident
// memory before and at the peak of the reading (sampled every 10,000 lines).

import { readLines } from "../lines.ts";

const [path] = Deno.args;
if (!path) throw new Error("Usage: read_lines_memory.ts FILE");

const before = Deno.memoryUsage().rss;
let peak = before;
let lines = 0;
let chars = 0;
for await (const line of readLines(path)) {
  lines++;
  chars += line.length;
  if (lines % 10_000 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
}
peak = Math.max(peak, Deno.memoryUsage().rss);
console.log(JSON.stringify({ lines, chars, before, peak }));
