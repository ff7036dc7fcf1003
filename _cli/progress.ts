/**
 * The progress display of `aio fetch` and `aio demo`: a bar redrawn in place
 * on a terminal, plain lines otherwise (logs, pipes, CI).
 *
 * @module
 */

/** What the display shows. */
export interface ProgressState {
  /** Tasks finished, failed ones included. */
  done: number;
  /** Tasks that failed. */
  failed: number;
  /** Tasks in all. */
  total: number;
  /** Time since the start, in milliseconds. */
  elapsedMs: number;
}

/** Options of {@linkcode renderProgress}. */
export interface RenderOptions {
  /** Width of the bar itself, in characters. */
  width?: number;
  /** A word or two before the bar. */
  label?: string;
}

function rate(state: ProgressState): string {
  const perSecond = state.elapsedMs > 0
    ? state.done * 1000 / state.elapsedMs
    : 0;
  return `${perSecond.toFixed(perSecond < 10 ? 1 : 0)}/s`;
}

/**
 * One line of progress, e.g.
 * `fetch [##########----------] 100/200  3 failed  45/s  2.2s`.
 */
export function renderProgress(
  state: ProgressState,
  { width = 24, label = "" }: RenderOptions = {},
): string {
  const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 1;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const count = `${state.done}/${state.total}`.padStart(
    String(state.total).length * 2 + 1,
  );
  const parts = [
    `${label ? label + " " : ""}[${bar}] ${count}`,
    `${state.failed} failed`,
    rate(state),
    `${(state.elapsedMs / 1000).toFixed(1)}s`,
  ];
  return parts.join("  ");
}

/** A sink the reporter writes to (Deno.stderr by default). */
export interface ProgressSink {
  writeSync(bytes: Uint8Array): number;
  isTerminal(): boolean;
}

/**
 * Shows progress: on a terminal, one line redrawn at most every
 * `intervalMs`; elsewhere, a plain line at every tenth of the way.
 */
export class ProgressReporter {
  #sink: ProgressSink;
  #terminal: boolean;
  #label: string;
  #intervalMs: number;
  #start = performance.now();
  #lastDraw = -Infinity;
  #lastTenth = -1;
  #open = false;
  #ended = false;
  #encoder = new TextEncoder();

  constructor(
    options: { sink?: ProgressSink; label?: string; intervalMs?: number } = {},
  ) {
    this.#sink = options.sink ?? Deno.stderr;
    this.#terminal = this.#sink.isTerminal();
    this.#label = options.label ?? "";
    this.#intervalMs = options.intervalMs ?? 100;
  }

  /** Best effort: a closed standard error does not fail the run. */
  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    let written = 0;
    try {
      while (written < bytes.length) {
        written += this.#sink.writeSync(bytes.subarray(written));
      }
    } catch {
      // The reader left (EPIPE) or the stream is gone: nothing to show on.
    }
  }

  #state(counts: Omit<ProgressState, "elapsedMs">): ProgressState {
    return { ...counts, elapsedMs: performance.now() - this.#start };
  }

  /**
   * Reports the counts now; draws only when it is time to, and never once
   * the bar has ended (`finish()`, `endLine()`).
   */
  update(counts: Omit<ProgressState, "elapsedMs">): void {
    if (this.#ended) return;
    const state = this.#state(counts);
    const line = () => renderProgress(state, { label: this.#label });
    if (this.#terminal) {
      if (state.elapsedMs - this.#lastDraw < this.#intervalMs) return;
      this.#lastDraw = state.elapsedMs;
      this.#write(`\r\x1b[2K${line()}`);
      this.#open = true;
      return;
    }
    const tenth = state.total > 0
      ? Math.floor(state.done * 10 / state.total)
      : 10;
    if (tenth === this.#lastTenth || tenth === 10) return;
    this.#lastTenth = tenth;
    this.#write(line() + "\n");
  }

  /**
   * Draws the bar on a terminal again with the same counts, when it is time
   * to, so that its time and rate move on while nothing finishes: before the
   * first update too, and after `clear()` (below the output that erased it).
   * Does nothing elsewhere, or once the bar has ended.
   */
  refresh(counts: Omit<ProgressState, "elapsedMs">): void {
    if (this.#terminal && !this.#ended) this.update(counts);
  }

  /** Draws the final state and ends the line. */
  finish(counts: Omit<ProgressState, "elapsedMs">): void {
    const line = renderProgress(this.#state(counts), { label: this.#label });
    this.#write(this.#terminal ? `\r\x1b[2K${line}\n` : line + "\n");
    this.#open = false;
    this.#ended = true;
  }

  /**
   * Ends a bar left mid-line (on a terminal), so that what is written next,
   * such as "interrupted", starts on a line of its own. Does nothing when no
   * bar is open.
   */
  endLine(): void {
    if (!this.#open) return;
    this.#write("\n");
    this.#open = false;
    this.#ended = true;
  }

  /**
   * Erases a bar drawn on a terminal, so that other output sharing the
   * terminal starts on a clean line. The next update draws it again at once,
   * whatever the interval: output that erased it comes with an update.
   */
  clear(): void {
    if (!this.#open) return;
    this.#write("\r\x1b[2K");
    this.#open = false;
    this.#lastDraw = -Infinity;
  }
}
