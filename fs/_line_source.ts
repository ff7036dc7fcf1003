// The byte end of readLines(): a ReadableStream of text that holds only
// whole lines, read from an open file.
//
// Reading into our own buffer, instead of `file.readable` piped through a
// TextDecoderStream, is what pays for the checks: the buffer is reused (no
// allocation per chunk), a partial line stays behind as bytes until its end
// arrives, so the line limit is enforced while bytes arrive and the
// TextLineStream after us never holds a partial line that an error would
// have to take back. Each chunk is decoded in one piece (a chunk boundary is
// a line boundary, so no character is ever split) and invalid UTF-8 is an
// error, not U+FFFD. The source counts the lines it hands on: that gives
// errors their line numbers, and lets the iterator on top return the stream's
// own read() for a line known to be queued (no extra promise per line).

import { LineTooLongError } from "../errors.ts";
import { fsError } from "./_errors.ts";

const INITIAL_BUFFER = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;

/** What the source found so far, read by the iterator on top of it. */
export interface LineCount {
  /** Whole lines handed to the stream so far. */
  lines: number;
  /**
   * Why the source stopped early. The stream then closes after the lines
   * before the bad one, and the reader throws this when it reaches the end.
   */
  error: Error | undefined;
}

/**
 * A stream of text chunks holding whole lines (the last one may lack its
 * line break at the end of the file), read from `file`, which it closes.
 */
export function lineSource(
  file: Deno.FsFile,
  path: string,
  maxLineLength: number,
  count: LineCount,
): ReadableStream<string> {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let buffer = new Uint8Array(INITIAL_BUFFER);
  let length = 0;
  let first = true;
  let closed = false;
  let cancelled = false;
  let reading: Promise<number | null> | undefined;

  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };

  // Chars (UTF-16 code units) of the UTF-8 bytes in `bytes`.
  const charCount = (bytes: Uint8Array) => {
    let chars = 0;
    for (const byte of bytes) {
      if ((byte & 0xc0) !== 0x80) chars += byte >= 0xf0 ? 2 : 1;
    }
    return chars;
  };

  const tooLong = (lineNumber: number) =>
    new LineTooLongError(
      `Cannot read line ${lineNumber} of "${path}": longer than ${maxLineLength} characters`,
      { maxLineLength, lineNumber, path },
    );

  // The error of the line `good` lines after those counted.
  const notUtf8 = (good: number, cause: unknown) =>
    new Deno.errors.InvalidData(
      `Cannot read line ${
        count.lines + good + 1
      } of "${path}": it is not valid UTF-8`,
      { cause },
    );

  // Decodes whole lines; on invalid UTF-8 it returns the good lines before
  // the bad one and records the error.
  const decode = (bytes: Uint8Array): string => {
    try {
      // The lenient decoder is faster than the fatal one, and only replaced
      // bytes produce U+FFFD (which a one-byte string cannot even hold, so
      // the search is free for Latin-1 text): a U+FFFD found is checked with
      // the fatal decoder, which throws unless it was in the file.
      let text = decoder.decode(bytes);
      if (text.includes("\uFFFD")) text = strict.decode(bytes);
      if (!first) return text;
      first = false;
      // A byte order mark is not part of the first line.
      return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    } catch (error) {
      let start = 0;
      let good = 0;
      const lines: string[] = [];
      while (start < bytes.length) {
        const end = bytes.indexOf(LF, start);
        const stop = end === -1 ? bytes.length : end + 1;
        try {
          lines.push(strict.decode(bytes.subarray(start, stop)));
        } catch {
          break;
        }
        good++;
        start = stop;
      }
      if (first && lines[0]?.charCodeAt(0) === 0xfeff) {
        lines[0] = lines[0].slice(1);
      }
      first = false;
      count.error = notUtf8(good, error);
      return lines.join("");
    }
  };

  // Counts the lines of `text` (whole lines) and checks their length when
  // the buffer is larger than the limit; returns the part to hand on.
  const countLines = (text: string): string => {
    if (maxLineLength >= buffer.length) {
      let lines = 0;
      for (
        let i = text.indexOf("\n");
        i !== -1;
        i = text.indexOf("\n", i + 1)
      ) {
        lines++;
      }
      count.lines += lines;
      return text;
    }
    let start = 0;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", start)) {
      const chars = i > start && text.charCodeAt(i - 1) === CR
        ? i - start - 1
        : i - start;
      if (chars > maxLineLength) {
        count.error = tooLong(count.lines + 1);
        return text.slice(0, start);
      }
      count.lines++;
      start = i + 1;
    }
    return text;
  };

  // Whether the buffer holds the start of the file, and it is a BOM.
  const startsWithBom = () =>
    first && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf;

  // Whether the partial line in buffer[0, end) is already over the limit
  // (a \r at its end may still turn out to be half of its line break, and a
  // byte order mark at its start is not part of it).
  const partialTooLong = (end: number): boolean => {
    // A byte is at most one character: short lines need no counting.
    if (end <= maxLineLength) return false;
    const chars = charCount(buffer.subarray(0, end)) -
      (startsWithBom() ? 1 : 0);
    return chars > maxLineLength + (buffer[end - 1] === CR ? 1 : 0);
  };

  // The error of a partial line in buffer[0, end) that cannot end well:
  // over the limit, or, past the most bytes a line within it can take (3
  // per character, a BOM and a \r), not UTF-8 (the continuation bytes that
  // charCount skips would otherwise pile up unchecked until a line break).
  const partialError = (end: number): Error | undefined => {
    if (partialTooLong(end)) return tooLong(count.lines + 1);
    if (end <= 3 * maxLineLength + 4) return undefined;
    try {
      new TextDecoder("utf-8", { fatal: true })
        .decode(buffer.subarray(0, end), { stream: true });
    } catch (error) {
      return notUtf8(0, error);
    }
    return tooLong(count.lines + 1);
  };

  // The buffer holds one partial line and is full: make room.
  const grow = (): void => {
    const larger = new Uint8Array(buffer.length * 2);
    larger.set(buffer);
    buffer = larger;
  };

  const emit = (
    controller: ReadableStreamDefaultController<string>,
    text: string,
  ) => {
    const checked = countLines(text);
    if (checked.length > 0) controller.enqueue(checked);
  };

  const finish = (controller: ReadableStreamDefaultController<string>) => {
    close();
    controller.close();
  };

  return new ReadableStream<string>({
    async pull(controller) {
      try {
        while (true) {
          if (length === buffer.length) grow();
          reading = file.read(buffer.subarray(length));
          const read = await reading;
          reading = undefined;
          if (cancelled) return;
          if (read === null) {
            if (length > 0) {
              // The last line, without a line break (a \r stays in it).
              const text = decode(buffer.subarray(0, length));
              if (!count.error && text.length > maxLineLength) {
                count.error = tooLong(count.lines + 1);
              } else if (text.length > 0) {
                controller.enqueue(text);
              }
            }
            return finish(controller);
          }
          const end = length + read;
          const last = buffer.lastIndexOf(LF, end - 1);
          if (last === -1) {
            length = end;
            count.error = partialError(end);
            if (count.error) return finish(controller);
            continue;
          }
          emit(controller, decode(buffer.subarray(0, last + 1)));
          if (count.error) return finish(controller);
          buffer.copyWithin(0, last + 1, end);
          length = end - last - 1;
          return;
        }
      } catch (error) {
        reading = undefined;
        close();
        controller.error(fsError(error, "read lines from", path));
      }
    },
    async cancel() {
      cancelled = true;
      // Closing the file under a pending read would leave that read to fail
      // on its own later; let it finish first.
      await reading?.catch(() => {});
      close();
    },
  });
}
