/**
 * Bytes to text, one complete line at a time, with the line length bounded
 * while the bytes arrive: for `serveLines()` connections and the `aio`
 * command's standard input. Private to the package.
 *
 * @module
 */

import { LineTooLongError } from "./errors.ts";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Decodes UTF-8 and passes on only complete lines (text ending in `"\n"`),
 * holding back the line in progress, which it never lets grow past
 * `maxLineLength` characters (plus a final `"\r"`). Put a `TextLineStream`
 * after it to get the lines.
 *
 * It stops at the first line that is too long or not valid UTF-8, after
 * passing on every complete line before it: the output then ends (it does
 * not error, so no line already passed on is lost) and {@linkcode error}
 * says why. Because only complete lines pass, the `TextLineStream` after it
 * never emits the start of the bad line as a line of its own.
 */
export class LineDecoder extends TransformStream<Uint8Array, string> {
  /** Why the output ended early, if it did. */
  error: LineTooLongError | Deno.errors.InvalidData | undefined;
  /** How many lines were passed on. */
  lines = 0;
  /**
   * Whether a line has begun to arrive and not ended (part of it is held
   * back); not updated at the end of the input, nor when the output stops.
   */
  pending = false;

  /**
   * Creates a decoder.
   *
   * @param maxLineLength The longest line accepted, in characters, not
   * counting the line break.
   * @param source Where the bytes come from, for error messages
   * (e.g. `"from 127.0.0.1:5000"`).
   * @param onPending Called when {@linkcode pending} changes.
   */
  constructor(
    maxLineLength: number,
    source: string,
    onPending?: (pending: boolean) => void,
  ) {
    // Chunks are cut at character boundaries by hand (see `complete`), so
    // the decoder needs no streaming state and a failure can be retried
    // line by line to find the first bad line.
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    let carry: Uint8Array | undefined;
    let partial = "";

    const tooLong = (controller: TransformStreamDefaultController<string>) => {
      this.error = new LineTooLongError(
        `Cannot read line ${
          this.lines + 1
        } ${source}: longer than ${maxLineLength} characters`,
        { maxLineLength, lineNumber: this.lines + 1 },
      );
      controller.terminate();
    };
    const invalid = (controller: TransformStreamDefaultController<string>) => {
      this.error = new Deno.errors.InvalidData(
        `Cannot read line ${this.lines + 1} ${source}: it is not valid UTF-8`,
      );
      controller.terminate();
    };

    // Passes on the complete lines of `text`, keeps the rest in `partial`.
    const push = (
      text: string,
      controller: TransformStreamDefaultController<string>,
    ): boolean => {
      if (text === "") return true;
      let lineStart = 0;
      for (
        let newline = text.indexOf("\n");
        newline !== -1;
        newline = text.indexOf("\n", newline + 1)
      ) {
        let length = newline - lineStart;
        let last = newline > lineStart ? text.charCodeAt(newline - 1) : -1;
        if (lineStart === 0) {
          length += partial.length;
          if (newline === 0) last = partial.charCodeAt(partial.length - 1);
        }
        if (last === CARRIAGE_RETURN) length--;
        if (length > maxLineLength) {
          if (lineStart > 0) {
            controller.enqueue(partial + text.slice(0, lineStart));
          }
          tooLong(controller);
          return false;
        }
        this.lines++;
        lineStart = newline + 1;
      }
      if (lineStart > 0) {
        controller.enqueue(partial + text.slice(0, lineStart));
        partial = text.slice(lineStart);
      } else {
        partial += text;
      }
      // The last character of `text`, not `partial.endsWith()`: that would
      // flatten the growing line at every read, quadratic for a long line
      // that trickles in.
      const limit = text.charCodeAt(text.length - 1) === CARRIAGE_RETURN
        ? maxLineLength + 1
        : maxLineLength;
      if (partial.length > limit) {
        tooLong(controller);
        return false;
      }
      return true;
    };

    // Updates `pending`, telling `onPending` of a change.
    const tell = () => {
      const now = partial.length > 0 || carry !== undefined;
      if (now === this.pending) return;
      this.pending = now;
      onPending?.(now);
    };

    super({
      transform: (chunk, controller) => {
        if (this.error) return;
        let bytes = chunk;
        if (carry) {
          bytes = new Uint8Array(carry.length + chunk.length);
          bytes.set(carry);
          bytes.set(chunk, carry.length);
          carry = undefined;
        }
        const end = complete(bytes);
        if (end < bytes.length) carry = bytes.slice(end);
        const body = bytes.subarray(0, end);
        let text: string;
        try {
          text = decoder.decode(body);
        } catch {
          // Slow path, once per connection at most: decode line by line (a
          // "\n" byte never occurs inside a multi-byte character) to pass on
          // the good lines and name the bad one.
          let start = 0;
          while (start < body.length) {
            const newline = body.indexOf(NEWLINE, start);
            const stop = newline === -1 ? body.length : newline + 1;
            let piece: string;
            try {
              piece = decoder.decode(body.subarray(start, stop));
            } catch {
              invalid(controller);
              return;
            }
            if (!push(piece, controller)) return;
            start = stop;
          }
          tell();
          return;
        }
        if (push(text, controller)) tell();
      },
      flush: (controller) => {
        if (this.error) return;
        if (carry) {
          invalid(controller);
          return;
        }
        // A "\r" at the very end is no line break: it counts after all.
        if (partial.length > maxLineLength) {
          tooLong(controller);
          return;
        }
        if (partial.length > 0) controller.enqueue(partial);
      },
    });
  }
}

/** The length of the longest prefix of `bytes` that ends on a character boundary. */
function complete(bytes: Uint8Array): number {
  let lead = bytes.length - 1;
  while (
    lead >= 0 && lead > bytes.length - 4 && (bytes[lead]! & 0xc0) === 0x80
  ) {
    lead--;
  }
  if (lead < 0) return bytes.length;
  const byte = bytes[lead]!;
  const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return lead + size > bytes.length ? lead : bytes.length;
}
