/**
 * Spawning `deno` children from tests and benchmarks.
 *
 * A child started in this project resolves `@std/*` through `deno.json`,
 * which points at JSR. Where JSR is unreachable the offline stand-ins sit in
 * `../shared/std-offline/`; when they exist, children get the same
 * `--import-map` the parent was run with.
 *
 * @module
 */

import { assert } from "@std/assert";

const OFFLINE_MAP = new URL(
  "../../shared/std-offline/import_map.json",
  import.meta.url,
);

/** The project root, as a path. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

function offlineMap(): string | undefined {
  try {
    Deno.statSync(OFFLINE_MAP);
    return OFFLINE_MAP.pathname;
  } catch {
    return undefined;
  }
}

/**
 * Arguments for `deno <subcommand>`, with `--import-map` added when the
 * offline stand-ins exist. Permissions and the script go in `args`.
 */
export function denoArgs(subcommand: string, args: string[]): string[] {
  const map = offlineMap();
  return [subcommand, ...(map ? [`--import-map=${map}`] : []), ...args];
}

/** A `Deno.Command` running `deno <subcommand> [--import-map] ...args`. */
export function denoCommand(
  subcommand: string,
  args: string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  return new Deno.Command("deno", {
    cwd: ROOT,
    ...options,
    args: denoArgs(subcommand, args),
  });
}

/**
 * Runs `deno <subcommand> ...args` to its end and returns whether it
 * succeeded and all it printed (standard output, then standard error). A
 * child still running after `limit` ms is killed: several tests guard
 * against a hang.
 */
export async function runDeno(
  subcommand: string,
  args: string[],
  limit = 60_000,
): Promise<{ success: boolean; output: string }> {
  const child = denoCommand(subcommand, args, {
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), limit);
  try {
    const { success, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return {
      success,
      output: decoder.decode(stdout) + decoder.decode(stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the test file in `args` in a child `deno test --no-config` with both
 * sanitizers on (flags such as `--v8-flags` and permissions go in `args`),
 * asserts that it succeeded and passed at least one test, and returns all it
 * printed.
 */
export async function assertChildTestsPass(args: string[]): Promise<string> {
  const { success, output } = await runDeno("test", [
    "--no-config",
    "--sanitize-ops",
    "--sanitize-resources",
    ...args,
  ]);
  assert(success, output);
  assert(/[1-9]\d* passed/.test(output), output);
  return output;
}
