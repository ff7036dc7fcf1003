/**
 * Helpers for the fs/ tests that depend on who runs them.
 *
 * @module
 */

import { assert } from "@std/assert";
import { denoCommand } from "../tests/_deno.ts";

/**
 * The permissions of a test that starts a `deno` child working in `/tmp`
 * (the child reads the offline @std stand-ins when they exist).
 */
export const CHILD_IN_TMP: Deno.PermissionOptionsObject = {
  read: ["/tmp", "../shared/std-offline"],
  write: ["/tmp"],
  run: ["deno"],
};

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
 * The script is bundled into one file beside `dir` first, which needs no
 * import map and nothing from the checkout, which nobody may not be able to
 * read (under `/root`, say).
 */
export async function runUnprivileged(
  scenario: string,
  dir: string,
): Promise<unknown> {
  const asRoot = await runsAsRoot(dir);
  if (asRoot) await Deno.chown(dir, NOBODY, NOBODY);
  const script = `${dir}.unprivileged.js`;
  await run(denoCommand("bundle", [
    "--quiet",
    "fs/testdata/unprivileged.ts",
    "--output",
    script,
  ], { stdout: "piped", stderr: "piped" }));
  try {
    const args = [
      "run",
      "--allow-read",
      "--allow-write",
      script,
      scenario,
      dir,
    ];
    return JSON.parse(
      await run(
        new Deno.Command("deno", {
          args,
          // From `dir`: nobody may not be able to enter this process's.
          cwd: dir,
          ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
          stdout: "piped",
          stderr: "piped",
        }),
      ),
    );
  } finally {
    await Deno.remove(script);
  }
}

/** Runs `command` to success and returns its standard output. */
async function run(command: Deno.Command): Promise<string> {
  const { success, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  assert(success, decoder.decode(stderr));
  return decoder.decode(stdout);
}
