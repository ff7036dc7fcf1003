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
