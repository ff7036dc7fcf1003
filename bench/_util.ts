/**
 * Shared machinery of the benchmarks: pinned processes, CPU time and peak
 * memory from `/proc`, medians, and Markdown tables.
 *
 * Linux only (it reads `/proc` and uses `taskset`).
 *
 * @module
 */

import { denoArgs, ROOT } from "../tests/_deno.ts";

export { denoArgs, ROOT };

/** The core servers are pinned to; load generators get {@linkcode LOAD_CORE}. */
export const SERVER_CORE = 0;
/** The core load generators are pinned to. */
export const LOAD_CORE = 1;

const CLOCK_TICKS_PER_SECOND = 100;

/** A process started by {@linkcode spawnPinned}, with its output captured. */
export interface PinnedProcess {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Its pid (taskset execs the command, so this is the command's pid). */
  pid: number;
  /** Resolves with the first stdout line matching `waitFor`. */
  ready: Promise<RegExpMatchArray>;
  /** Everything the process printed so far, stdout and stderr. */
  output(): string;
  /** Sends SIGTERM (then SIGKILL after 2 s) and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `command args` pinned to `core` with `taskset`, collecting its
 * output. `waitFor` matches a stdout line that says it is ready (e.g. a line
 * with the port it listens on).
 */
export function spawnPinned(
  core: number,
  command: string,
  args: string[],
  options: { waitFor?: RegExp; cwd?: string; env?: Record<string, string> } =
    {},
): PinnedProcess {
  const child = new Deno.Command("taskset", {
    args: ["-c", String(core), command, ...args],
    cwd: options.cwd ?? ROOT,
    env: options.env ?? {},
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let text = "";
  const waitFor = options.waitFor ?? /./;
  const { promise: ready, resolve, reject } = Promise.withResolvers<
    RegExpMatchArray
  >();
  let found = false;
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (!found) {
        for (const line of text.split("\n")) {
          const match = line.match(waitFor);
          if (match) {
            found = true;
            resolve(match);
            break;
          }
        }
      }
    }
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  child.status.then(() =>
    done.then(() => {
      if (!found) {
        reject(
          new Error(
            `Cannot start "${command} ${
              args.join(" ")
            }": exited early\n${text}`,
          ),
        );
      }
    })
  );
  return {
    child,
    pid: child.pid,
    ready,
    output: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }, 2000);
      await child.status;
      await done;
      clearTimeout(timer);
      ready.catch(() => {});
    },
  };
}

// Deno 2.9 lets only -A read /proc directly; `cat` keeps -P=bench narrow.
async function readProc(pid: number, file: string): Promise<string> {
  const { success, stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${file}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`Cannot read /proc/${pid}/${file}`);
  return new TextDecoder().decode(stdout);
}

/** User + system CPU time of a running process (all threads), in ms. */
export async function cpuTimeMs(pid: number): Promise<number> {
  const stat = await readProc(pid, "stat");
  // Field 2 (comm) may contain spaces; the fields after it start past ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * 1000 / CLOCK_TICKS_PER_SECOND;
}

/** The median of some numbers (the mean of the middle two for even counts). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "median (min–max)" with `digits` decimals. */
export function summary(values: number[], digits = 0): string {
  const f = (n: number) =>
    n.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  return `${f(median(values))} (${f(Math.min(...values))}–${
    f(Math.max(...values))
  })`;
}

/** A Markdown table from a header row and body rows. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
  ].join("\n");
}

/** Whether `command` is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    // Only whether it starts matters: some tools exit 1 on --version.
    await new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure `command` exists, installing Debian `pkg` with apt-get when it
 * does not. Returns false when it cannot be installed.
 */
export async function ensureDebian(
  command: string,
  pkg: string,
): Promise<boolean> {
  if (await hasCommand(command)) return true;
  console.error(`${command} is missing: apt-get install -y ${pkg}`);
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", pkg]]) {
    const { success } = await new Deno.Command("apt-get", {
      args,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!success) return false;
  }
  return await hasCommand(command);
}
