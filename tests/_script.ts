/**
 * A `deno` child started by a test, its output read as it comes.
 *
 * @module
 */

import { denoCommand } from "./_deno.ts";

/** A running `deno` child; see {@linkcode startScript}. */
export interface Script {
  /** The child process. */
  child: Deno.ChildProcess;
  /**
   * Waits until `pattern` matches the output so far (stdout, or stderr
   * where `deno serve` logs), and returns the match.
   */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Waits for the exit; returns the code and all the output. */
  exited(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `deno <subcommand> ...args` from the project root. */
export function startScript(
  subcommand: string,
  args: string[],
  env?: Record<string, string>,
): Script {
  const child = denoCommand(subcommand, args, {
    env: env ?? {},
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const output = { stdout: "", stderr: "" };
  let changed = Promise.withResolvers<void>();
  const pump = async (name: "stdout" | "stderr") => {
    for await (const text of child[name].pipeThrough(new TextDecoderStream())) {
      output[name] += text;
      changed.resolve();
      changed = Promise.withResolvers();
    }
  };
  const pumped = Promise.all([pump("stdout"), pump("stderr")]);
  let done = false;
  pumped.finally(() => {
    done = true;
    changed.resolve();
  });
  return {
    child,
    async waitFor(pattern) {
      while (true) {
        const match = output.stdout.match(pattern) ??
          output.stderr.match(pattern);
        if (match) return match;
        if (done) {
          throw new Error(
            `No ${pattern} in the output:\n${output.stdout}\n${output.stderr}`,
          );
        }
        await changed.promise;
      }
    },
    async exited() {
      await pumped;
      const { code } = await child.status;
      return { code, ...output };
    },
  };
}
