/**
 * The `aio` command: the asyncio tutorial's programs, ready to run.
 *
 * ```sh
 * deno run -N -R -W --unstable-no-legacy-abort jsr:@aio/aio/cli <command>      # or, once:
 * deno install -g -n aio -N -R -W --unstable-no-legacy-abort jsr:@aio/aio/cli  # then: aio <command>
 * ```
 *
 * | command | what it does | permissions it needs |
 * | --- | --- | --- |
 * | `serve tcp [--port 8080] [--hostname 127.0.0.1] [--lines [--line-timeout 1m]]` | the echo server, until Ctrl-C | `-N=127.0.0.1:8080` (the address served) |
 * | `serve http [--port 8888] [--hostname 127.0.0.1] [--dir PATH] [--cert FILE --key FILE]` | "Hello, world!", or the files under PATH; HTTPS with a certificate | `-N=127.0.0.1:8888` (the address served; + `-R` on PATH and the PEM files) |
 * | `fetch <url...\|->` | many URLs at once, JSON lines out | `-N=<hosts>` (+ `-R -W` on `--out`'s directory) |
 * | `crawl <url>` | follows "next" links page by page | `-N=<hosts>` (+ `-R -W` on `--out`'s directory) |
 * | `demo` | the whole tutorial on loopback, with a summary | `-N=127.0.0.1 -R=/tmp -W=/tmp --unstable-no-legacy-abort` |
 *
 * Every command takes `--help`. A bad argument prints one line and the
 * usage and exits 2, bad standard input one line naming its line, also 2;
 * a failed run exits 1.
 *
 * @example Running a command from code
 * ```ts
 * import { main } from "@aio/aio/cli";
 * import { assertEquals } from "@std/assert";
 *
 * // Unknown commands are usage errors: exit code 2, nothing else happens.
 * assertEquals(await main(["no-such-command"]), 2);
 * ```
 *
 * @module
 */

import { InputError, UsageError } from "./_cli/args.ts";
import { CRAWL_USAGE, crawlCommand } from "./_cli/crawl.ts";
import { DEMO_USAGE, demoCommand } from "./_cli/demo.ts";
import { FETCH_USAGE, fetchCommand } from "./_cli/fetch.ts";
import { failureLine, type Io, OutputClosed, writeLine } from "./_cli/io.ts";
import { SERVE_USAGE, serveCommand, serveUsage } from "./_cli/serve.ts";

const USAGE = `usage: aio <command> [options]

commands:
  serve tcp     the echo server (--lines for a line protocol)
  serve http    the "Hello, world!" server, or static files with --dir
  fetch         fetch many URLs at once, results as JSON lines
  crawl         follow "next" links page by page
  demo          the whole asyncio tutorial on loopback, with a summary

Run "aio <command> --help" for a command's options and permissions.`;

const COMMANDS: Record<
  string,
  { run: (args: string[], io: Io) => Promise<number>; usage: string }
> = {
  serve: { run: serveCommand, usage: SERVE_USAGE },
  fetch: { run: fetchCommand, usage: FETCH_USAGE },
  crawl: { run: crawlCommand, usage: CRAWL_USAGE },
  demo: { run: demoCommand, usage: DEMO_USAGE },
};

function standardIo(signal: AbortSignal): Io {
  return {
    get stdin() {
      return Deno.stdin.readable;
    },
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stdout: {
      // Its reader leaving (`| head -1`) ends the run quietly, whichever
      // command writes.
      write: (bytes) =>
        Deno.stdout.write(bytes).catch((error) => {
          throw error instanceof Deno.errors.BrokenPipe
            ? new OutputClosed("Cannot write: standard output was closed", {
              cause: error,
            })
            : error;
        }),
      writeSync: (bytes) => Deno.stdout.writeSync(bytes),
      isTerminal: () => Deno.stdout.isTerminal(),
    },
    stderr: Deno.stderr,
    signal,
  };
}

/**
 * Runs the `aio` command with `args` (what follows `aio` on the command
 * line) and returns its exit code: 0 on success, 1 when the run failed, 2
 * for a usage error or bad standard input. Ctrl-C (SIGINT) or SIGTERM
 * stops a command gracefully (a run it cut short returns 130 or 143); a
 * second one exits the process at once. When the reader of standard output
 * leaves (`| head -1`), the run stops quietly and returns 141, as if killed
 * by SIGPIPE.
 *
 * @param args The command and its arguments, e.g. `["serve", "tcp"]`.
 * @returns The exit code.
 *
 * @example Asking for help
 * ```ts
 * import { main } from "@aio/aio/cli";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await main(["crawl", "--help"]), 0);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const controller = new AbortController();
  // The shell's convention: 128 + the signal's number.
  let interrupted = 130;
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", () => stop(130)],
    ["SIGTERM", () => stop(143)],
  ];
  const stop = (code: number) => {
    interrupted = code;
    // A second signal does not wait for a graceful end any more.
    if (controller.signal.aborted) Deno.exit(code);
    controller.abort(new Error("Interrupted"));
  };
  const std = standardIo(controller.signal);
  const [name, ...rest] = args;
  const command = name === undefined ? undefined : COMMANDS[name];
  try {
    if (name === "--help" || name === "-h" || name === "help") {
      // `aio help fetch` is `aio fetch --help`.
      const topic = name === "help" && rest.length > 0
        ? COMMANDS[rest[0]!]
        : undefined;
      await writeLine(std.stdout, topic?.usage ?? USAGE);
      return 0;
    }
    if (command === undefined) {
      throw new UsageError(
        name === undefined
          ? "Cannot run: no command given"
          : `Cannot run "${name}": unknown command`,
      );
    }
    for (const [s, listener] of signals) Deno.addSignalListener(s, listener);
    return await command.run(rest, std);
  } catch (error) {
    if (error instanceof OutputClosed) {
      // The reader of the output left (`aio fetch - | head -1`): end quietly,
      // with the code of a program killed by SIGPIPE (128 + 13), as the shell
      // tools in the same pipe do.
      return 141;
    }
    // Best effort: standard error may be closed too.
    const complain = (text: string) =>
      writeLine(std.stderr, text).catch(() => {});
    if (error instanceof InputError) {
      await complain(`aio: ${error.message}`);
      return 2;
    }
    if (error instanceof UsageError) {
      await complain(`aio: ${error.message}\n`);
      await complain(
        name === "serve" ? serveUsage(rest[0]) : command?.usage ?? USAGE,
      );
      return 2;
    }
    if (std.signal.aborted) {
      await complain("aio: interrupted");
      return interrupted;
    }
    // `serve tcp` and `serve http` each have their own help.
    const which = name === "serve" && ["tcp", "http"].includes(rest[0]!)
      ? `serve ${rest[0]}`
      : name ?? "<command>";
    await complain(`aio: ${failureLine(error, which)}`);
    return 1;
  } finally {
    if (command) {
      for (const [s, listener] of signals) {
        Deno.removeSignalListener(s, listener);
      }
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
