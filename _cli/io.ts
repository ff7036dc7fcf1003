/**
 * What a command talks to: the standard streams and the Ctrl-C signal,
 * bundled so that the commands never reach for globals.
 *
 * @module
 */

import { abortable } from "jsr:@std/async@^1.5.0/abortable";
import { TextLineStream } from "jsr:@std/streams@^1.1.2/text-line-stream";
import { writeJsonLines } from "../fs/json_lines.ts";
import { LineDecoder } from "../_line_decoder.ts";
import type { ProgressReporter, ProgressSink } from "./progress.ts";

/** A byte sink written with backpressure (`Deno.stdout` fits). */
export interface Output extends ProgressSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** The environment of one command run. */
export interface Io {
  stdin: ReadableStream<Uint8Array>;
  stdinIsTerminal: boolean;
  stdout: Output;
  stderr: Output;
  /** Aborts on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * `error` as one line for standard error; a missing permission points to
 * `aio <command> --help`, which lists the permissions (`command`:
 * `"serve tcp"`, `"crawl"`).
 */
export function failureLine(error: unknown, command: string): string {
  if (error instanceof Deno.errors.NotCapable) {
    return `${
      error.message.split("\n")[0]
    } (see "aio ${command} --help" for the permissions)`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The reader of standard output left (EPIPE), as `head -1` does after one
 * line: the command ends quietly. Thrown by the standard output of
 * `cli.ts`.
 */
export class OutputClosed extends Error {}

/** Writes `text` and a newline, all of it, waiting for the sink. */
export async function writeLine(out: Output, text: string): Promise<void> {
  const bytes = encoder.encode(text + "\n");
  let written = 0;
  while (written < bytes.length) {
    written += await out.write(bytes.subarray(written));
  }
}

/**
 * The longest line `readStdinLines` takes: far past any URL a server
 * accepts (8 KiB is common), and a bound on what one line may hold.
 */
export const MAX_STDIN_LINE = 65_536;

/** A line of standard input, trimmed, and its number (from 1). */
export interface StdinLine {
  text: string;
  number: number;
}

/**
 * The non-blank lines of standard input that are not `#` comments; rejects
 * with the reason as soon as `signal` aborts (Ctrl-C while a terminal or a
 * pipe has not ended the input). A line longer than
 * {@linkcode MAX_STDIN_LINE} characters is a `LineTooLongError`, input that
 * is not UTF-8 a `Deno.errors.InvalidData`, both naming the line.
 */
export async function readStdinLines(
  stdin: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): Promise<StdinLine[]> {
  const lines: StdinLine[] = [];
  let number = 0;
  // Whole lines only reach the TextLineStream: a long line that arrives in
  // many reads is never joined again at each one.
  const decoder = new LineDecoder(MAX_STDIN_LINE, "from standard input");
  const reader = stdin
    .pipeThrough(decoder)
    .pipeThrough(new TextLineStream())
    .getReader();
  try {
    while (true) {
      const { value, done } = await abortable(reader.read(), signal);
      if (done) break;
      number++;
      const text = value.trim();
      if (text !== "" && !text.startsWith("#")) lines.push({ text, number });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  if (decoder.error) throw decoder.error;
  return lines;
}

/**
 * Writes records as JSON lines, as they come: atomically to `out` when
 * given (readers see the old file until the last line is written; into it
 * when it is a FIFO or a device such as `/dev/stderr`, which a rename would
 * remove), else to standard output, erasing `progress`'s bar first when both
 * are on a terminal.
 */
export async function writeRecords(
  io: Io,
  out: string | undefined,
  records: AsyncIterable<unknown>,
  progress?: ProgressReporter,
): Promise<void> {
  if (out !== undefined) {
    const info = await Deno.stat(out).catch(() => undefined);
    const atomic = !(info?.isFifo || info?.isCharDevice || info?.isBlockDevice);
    await writeJsonLines(out, records, { signal: io.signal, atomic });
    return;
  }
  // A bar on the terminal the records go to would run into them.
  const shared = progress !== undefined && io.stdout.isTerminal();
  for await (const record of records) {
    if (shared) progress.clear();
    await writeLine(io.stdout, JSON.stringify(record));
  }
}
