// Streaming data into an open file: strings are encoded as UTF-8 straight
// into a reused buffer, small chunks are coalesced so that a source of many
// tiny chunks does not cost one write per chunk, and large byte chunks are
// written as they are. Nothing is ever held in memory beyond one buffer.

import { abortable } from "jsr:@std/async@^1.5.0/abortable";
import { checkObject, checkSignal, show } from "../_show.ts";
import { type Fail, fsCall } from "./_errors.ts";
import type { WriteFileAtomicData as Data } from "./atomic.ts";
import type { WriteLinesOptions } from "./lines.ts";

type Chunk = string | Uint8Array;

const BUFFER_SIZE = 64 * 1024;
const encoder = new TextEncoder();

async function writeAll(
  file: Deno.FsFile,
  bytes: Uint8Array,
  fail: Fail,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await fsCall(file.write(bytes.subarray(written)), fail);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Writes chunks to a file through one coalescing buffer. */
class ChunkWriter {
  #file: Deno.FsFile;
  #fail: Fail;
  #buffer = new Uint8Array(BUFFER_SIZE);
  #length = 0;
  // A string chunk may end in the first half of a surrogate pair whose second
  // half starts the next chunk; encoding them apart would give two U+FFFD.
  #highSurrogate = "";

  constructor(file: Deno.FsFile, fail: Fail) {
    this.#file = file;
    this.#fail = fail;
  }

  async write(chunk: Chunk): Promise<void> {
    if (typeof chunk === "string") return await this.#writeString(chunk);
    // The bytes come after the surrogate: it cannot wait for its other half.
    if (this.#highSurrogate) await this.#encodeLoneSurrogate();
    if (chunk.length >= BUFFER_SIZE / 4) {
      await this.#flushBuffer();
      return await writeAll(this.#file, chunk, this.#fail);
    }
    if (chunk.length > BUFFER_SIZE - this.#length) await this.#flushBuffer();
    this.#buffer.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  /** Writes whatever is still buffered. */
  async flush(): Promise<void> {
    if (this.#highSurrogate) await this.#encodeLoneSurrogate();
    await this.#flushBuffer();
  }

  // A high surrogate whose other half cannot follow any more is encoded as
  // U+FFFD, as TextEncoder encodes a lone surrogate.
  async #encodeLoneSurrogate(): Promise<void> {
    const rest = this.#highSurrogate;
    this.#highSurrogate = "";
    await this.#encode(rest);
  }

  async #writeString(chunk: string): Promise<void> {
    let text = this.#highSurrogate + chunk;
    this.#highSurrogate = "";
    if (text.length > 0 && isHighSurrogate(text.charCodeAt(text.length - 1))) {
      this.#highSurrogate = text.slice(-1);
      text = text.slice(0, -1);
    }
    await this.#encode(text);
  }

  async #encode(text: string): Promise<void> {
    let rest = text;
    while (rest.length > 0) {
      const { read, written } = encoder.encodeInto(
        rest,
        this.#buffer.subarray(this.#length),
      );
      this.#length += written;
      rest = rest.slice(read);
      if (rest.length > 0) await this.#flushBuffer();
    }
  }

  async #flushBuffer(): Promise<void> {
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    await writeAll(this.#file, this.#buffer.subarray(0, length), this.#fail);
  }
}

/** `data` as bytes when it is held in memory already, else undefined. */
export function inMemoryBytes(data: Data): Uint8Array | undefined {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  return undefined;
}

/**
 * Throws a TypeError unless `data` is something {@linkcode writeData}
 * accepts; `context` starts the message, e.g. `Cannot write "a.txt"`.
 */
export function checkData(
  data: unknown,
  context: string,
): asserts data is Data {
  if (
    typeof data === "string" || data instanceof Uint8Array ||
    data instanceof ReadableStream ||
    (data !== null && typeof data === "object" &&
      (Symbol.asyncIterator in data || Symbol.iterator in data))
  ) return;
  throw new TypeError(
    `${context}: "data" must be a string, a Uint8Array, a ReadableStream or an iterable of chunks, received ${
      show(data)
    }`,
  );
}

/**
 * Throws a TypeError or RangeError for a bad `mode`, `fsync` or `signal`
 * option of the writers; `context` starts the message.
 */
export function checkWriteOptions(
  context: string,
  mode: unknown,
  fsync: unknown,
  signal: unknown,
): void {
  if (mode !== undefined) {
    if (typeof mode !== "number") {
      throw new TypeError(
        `${context}: "mode" must be an integer, received ${show(mode)}`,
      );
    }
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new RangeError(
        `${context}: "mode" must be an integer between 0 and 0o7777, received ${
          Number.isInteger(mode) && mode > 0 ? `0o${mode.toString(8)}` : mode
        }`,
      );
    }
  }
  if (typeof fsync !== "boolean") {
    throw new TypeError(
      `${context}: "fsync" must be a boolean, received ${show(fsync)}`,
    );
  }
  checkSignal(signal, context);
}

/**
 * The options of `writeLines()` and `writeJsonLines()` with their defaults,
 * checked with `context` starting the message of a bad one.
 *
 * @throws {TypeError} For options that are not an object, or an option of
 * the wrong type.
 * @throws {RangeError} For a `mode` out of range.
 */
export function checkLinesOptions(
  options: WriteLinesOptions,
  context: string,
): {
  atomic: boolean;
  mode: number | undefined;
  fsync: boolean;
  signal: AbortSignal | undefined;
} {
  checkObject(options, context);
  const { atomic = true, mode, fsync = true, signal } = options;
  if (typeof atomic !== "boolean") {
    throw new TypeError(
      `${context}: "atomic" must be a boolean, received ${show(atomic)}`,
    );
  }
  checkWriteOptions(context, mode, fsync, signal);
  return { atomic, mode, fsync, signal };
}

/**
 * `source` passed through `sync` or `async` by its kind; `name` and `context`
 * make the message when it is neither an iterable nor an async iterable.
 *
 * @throws {TypeError} For anything else.
 */
export function byKind<T>(
  source: unknown,
  name: string,
  context: string,
  sync: (items: Iterable<unknown>) => Iterable<T>,
  async: (items: AsyncIterable<unknown>) => AsyncIterable<T>,
): Iterable<T> | AsyncIterable<T> {
  if (source !== null && typeof source === "object") {
    if (Symbol.asyncIterator in source) {
      return async(source as AsyncIterable<unknown>);
    }
    if (Symbol.iterator in source) return sync(source as Iterable<unknown>);
  }
  throw new TypeError(
    `${context}: "${name}" must be an iterable or an async iterable, received ${
      show(source)
    }`,
  );
}

/** How {@linkcode writeData} writes and what it throws. */
interface WriteDataOptions {
  /** Starts the message of a bad chunk, e.g. `Cannot write "a.txt"`. */
  context: string;
  /** Stops the write, which then throws `signal.reason` itself. */
  signal: AbortSignal | undefined;
  /** Maps an error of writing to the file (not one of the source's). */
  fail: Fail;
}

/**
 * Writes `data` (checked with {@linkcode checkData}) to `file`, chunk by
 * chunk. On abort (also while waiting for the next chunk) or on any error
 * the source is cancelled and the error rethrown: the abort reason and the
 * source's own errors as they are, the file's errors through `fail`.
 */
export async function writeData(
  file: Deno.FsFile,
  data: Data,
  { context, signal, fail }: WriteDataOptions,
): Promise<void> {
  signal?.throwIfAborted();
  const bytes = inMemoryBytes(data);
  if (bytes) return await writeAll(file, bytes, fail);
  const writer = new ChunkWriter(file, fail);
  const { next, cancel } = openSource(data as Exclude<Data, Chunk>);
  let waiting = false;
  try {
    for (let position = 1;; position++) {
      waiting = true;
      // A fresh race per chunk: racing every chunk against one long-lived
      // abort promise would leave a reaction, and the chunk, on it each time.
      const step = signal
        ? await abortable(handled(next()), signal)
        : await next();
      waiting = false;
      if (step.done) break;
      signal?.throwIfAborted();
      await writer.write(checkChunk(step.value, position, context));
    }
    await writer.flush();
  } catch (error) {
    await cancel(error, waiting);
    throw error;
  }
}

/**
 * `promise`, whose rejection counts as handled even if no one awaits it: a
 * source that fails once the signal has aborted (a response body whose fetch
 * the same signal cancels) must not crash the process after `abortable` has
 * rejected with the reason, which some versions of it do without looking at
 * `promise` at all.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Releases a source that will not be written after all (an error before the
 * write started): a stream is cancelled, an iterator closed, so that e.g. a
 * response body does not keep its connection open.
 */
export async function discardData(
  data: unknown,
  reason: unknown,
): Promise<void> {
  try {
    if (data instanceof ReadableStream) {
      if (!data.locked) await data.cancel(reason);
    } else if (data !== null && typeof data === "object") {
      if (Symbol.asyncIterator in data) {
        const iterable = data as AsyncIterable<unknown>;
        // Not awaited: a generator stuck in a pending next() (one writeData
        // gave up on) would queue this return() forever.
        Promise.resolve(iterable[Symbol.asyncIterator]().return?.()).catch(
          () => {},
        );
      } else if (Symbol.iterator in data && !(data instanceof Uint8Array)) {
        (data as Iterable<unknown>)[Symbol.iterator]().return?.();
      }
    }
  } catch {
    // The source's own clean-up failing does not change the outcome.
  }
}

interface Source {
  next: () => Promise<IteratorResult<unknown>>;
  /** Stops the source; `waiting` is true while a `next()` is still pending. */
  cancel: (reason: unknown, waiting: boolean) => Promise<void>;
}

function openSource(
  data: ReadableStream<unknown> | AsyncIterable<unknown> | Iterable<unknown>,
): Source {
  if (data instanceof ReadableStream) {
    const reader = data.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<unknown>>,
      // Cancelling a reader also settles its pending read.
      cancel: (reason) => reader.cancel(reason).catch(() => {}),
    };
  }
  if (Symbol.asyncIterator in data) {
    const iterator = data[Symbol.asyncIterator]();
    return {
      next: () => iterator.next(),
      cancel: async (_reason, waiting) => {
        // An async generator queues return() behind a pending next(); do not
        // wait for a source that may never produce again.
        const closing = Promise.resolve(iterator.return?.()).catch(() => {});
        if (!waiting) await closing;
      },
    };
  }
  const iterator = data[Symbol.iterator]();
  return {
    next: () => Promise.resolve(iterator.next()),
    cancel: () => {
      try {
        iterator.return?.();
      } catch {
        // Its clean-up failing does not change the outcome.
      }
      return Promise.resolve();
    },
  };
}

function checkChunk(chunk: unknown, position: number, context: string): Chunk {
  if (typeof chunk === "string" || chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `${context}: chunk ${position} must be a string or a Uint8Array, received ${
      show(chunk)
    }`,
  );
}
