// The memory-test child: `deno run --allow-write=DIR fs/testdata/write_memory.ts
// DIR` streams 128 MiB of string chunks into DIR/out.txt with writeFileAtomic
// (under an AbortSignal, as a caller with a deadline would) and prints, as
// JSON, the bytes it wrote and the JavaScript heap in use before and at the
// peak of the writing (sampled every 64 chunks).

import { writeFileAtomic } from "../atomic.ts";

const [dir] = Deno.args;
if (!dir) throw new Error("Usage: write_memory.ts DIR");

const chunk = "x".repeat(64 * 1024 - 1) + "\n";
const chunks = 2048;
const before = Deno.memoryUsage().heapUsed;
let peak = before;
function* source() {
  for (let i = 0; i < chunks; i++) {
    if (i % 64 === 0) peak = Math.max(peak, Deno.memoryUsage().heapUsed);
    // A fresh string each time, as real data would be.
    yield chunk.slice(0, -1) + "\n";
  }
}
await writeFileAtomic(`${dir}/out.txt`, source(), {
  fsync: false,
  signal: new AbortController().signal,
});
const { size } = await Deno.stat(`${dir}/out.txt`);
console.log(JSON.stringify({ size, before, peak }));
