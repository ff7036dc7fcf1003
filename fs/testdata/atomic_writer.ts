// The crash-test child: `deno run --allow-read=DIR --allow-write=DIR
// fs/testdata/atomic_writer.ts DIR/FILE` rewrites FILE atomically in an
// endless loop, with versions of random sizes written as a string, as bytes
// and as a stream of chunks, with and without fsync, printing "started" and
// then each finished version, until it is killed.

import { writeFileAtomic } from "../atomic.ts";

/**
 * The content of `version`: a header with the version and the body size, a
 * body made from the version number, and a footer. Any mix of two versions
 * or any truncation fails {@linkcode checkContent}.
 */
export function content(version: number, size: number): string {
  const unit = `${version};`;
  const body = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  return `version ${version} size ${size}\n${body}\nend ${version}\n`;
}

/** The version `text` holds; throws unless it is one complete version. */
export function checkContent(text: string): number {
  const match = /^version (\d+) size (\d+)\n/.exec(text);
  if (!match) {
    throw new Error(
      `Cannot check: no header in ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  const version = Number(match[1]);
  if (text !== content(version, Number(match[2]))) {
    throw new Error(
      `Cannot check: version ${version} is incomplete or mixed (${text.length} characters)`,
    );
  }
  return version;
}

async function* chunks(text: string, size: number): AsyncGenerator<string> {
  for (let start = 0; start < text.length; start += size) {
    yield text.slice(start, start + size);
  }
}

if (import.meta.main) {
  const [path] = Deno.args;
  if (!path) throw new Error("Usage: atomic_writer.ts FILE");
  console.log("started");
  const encoder = new TextEncoder();
  for (let version = 1;; version++) {
    const text = content(
      version,
      1024 + Math.floor(Math.random() * 512 * 1024),
    );
    const data = version % 3 === 0
      ? text
      : version % 3 === 1
      ? encoder.encode(text)
      : chunks(text, 16 * 1024);
    await writeFileAtomic(path, data, { fsync: version % 4 !== 0 });
    console.log(version);
  }
}
