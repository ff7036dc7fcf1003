/**
 * Helpers for the fs/ tests that depend on who runs them.
 *
 * @module
 */

import { assert } from "@std/assert";
import { denoCommand } from "../tests/_deno.ts";

/** The uid and gid of `nobody`, whom the tests act as when run as root. */
export const NOBODY = 65534;

/**
 * Whether this process runs as root, found without `--allow-sys`: a file it
 * creates in `dir` belongs to uid 0.
 */
export async function runsAsRoot(dir: string): Promise<boolean> {
  const probe = `${dir}/.uid-probe`;
  await Deno.writeTextFile(probe, "");
  try {
    return (await Deno.stat(probe)).uid === 0;
  } finally {
    await Deno.remove(probe);
  }
}

/**
 * Runs `fs/testdata/unprivileged.ts SCENARIO DIR` as a user that file
 * permissions apply to: `nobody` when the tests run as root (then `dir` is
 * given to nobody first, so its parent must be open to all, like `/tmp`),
 * else the user running them. Returns what the scenario prints, parsed as
 * JSON.
 *
 * As root, the script is bundled into one file beside `dir` first: nobody
 * may not be able to read the checkout (under `/root`, say).
 */
export async function runUnprivileged(
  scenario: string,
  dir: string,
): Promise<unknown> {
  const asRoot = await runsAsRoot(dir);
  let script = "fs/testdata/unprivileged.ts";
  if (asRoot) {
    await Deno.chown(dir, NOBODY, NOBODY);
    script = `${dir}.unprivileged.js`;
    await run(denoCommand("bundle", [
      "--quiet",
      "fs/testdata/unprivileged.ts",
      "--output",
      script,
    ], { stdout: "piped", stderr: "piped" }));
  }
  try {
    return JSON.parse(
      await run(denoCommand("run", [
        "--allow-read",
        "--allow-write",
        script,
        scenario,
        dir,
      ], {
        // From `dir`: nobody may not be able to enter the working directory.
        ...(asRoot ? { uid: NOBODY, gid: NOBODY, cwd: dir } : {}),
        stdout: "piped",
        stderr: "piped",
      })),
    );
  } finally {
    if (asRoot) await Deno.remove(script);
  }
}

/** Runs `command` to success and returns its standard output. */
async function run(command: Deno.Command): Promise<string> {
  const { success, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  assert(success, decoder.decode(stderr));
  return decoder.decode(stdout);
}
