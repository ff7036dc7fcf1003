/**
 * `deno task bench [name...]`: runs every `bench/*_bench.ts` (or the ones
 * named, e.g. `tcp http`) one after another, each in its own process, so
 * that no benchmark disturbs another. Each prints its own Markdown table.
 *
 * @module
 */

import { denoArgs, ROOT } from "./_util.ts";

const names = Deno.args.length > 0 ? Deno.args : [...Deno.readDirSync(
  new URL(".", import.meta.url),
)].map((entry) => entry.name)
  .filter((name) => name.endsWith("_bench.ts"))
  .map((name) => name.slice(0, -"_bench.ts".length))
  .sort();

let failed = 0;
for (const name of names) {
  console.log(`\n## ${name}\n`);
  const { success } = await new Deno.Command("deno", {
    cwd: ROOT,
    args: denoArgs("run", ["-P=bench", `bench/${name}_bench.ts`]),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) {
    console.error(`bench/${name}_bench.ts failed`);
    failed++;
  }
}
Deno.exit(failed ? 1 : 0);
