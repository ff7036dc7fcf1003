// deno run -R=/tmp -W=/tmp examples/write_file.ts
// deno run -R=. -W=. examples/write_file.ts notes.txt "some text"
//
// The tutorial's write_to_file: `async with aiofiles.open(...)` closes the
// file whatever happens, and its `except` reports an error instead of
// crashing. `writeFileAtomic` goes further: it writes a temporary file next
// to the target and renames it over the target, so the file holds the old
// content or the new one, never a part, even if the process dies halfway.
// Without a path, the file goes into a temporary directory (in $TMPDIR, or
// /tmp) that `await using` removes with its content when the block ends,
// also on an error. The exit code is 1 when the write failed.

import { makeTempDir, writeFileAtomic } from "../fs/mod.ts";

async function writeToFile(filename: string, data: string): Promise<void> {
  try {
    await writeFileAtomic(filename, data);
    console.log(`Wrote ${filename}`);
  } catch (error) {
    // NotFound, PermissionDenied, NotCapable (no -W for it), ...: reported.
    console.error(
      `Error writing to file ${filename}: ${(error as Error).message}`,
    );
    Deno.exitCode = 1;
  }
}

const [path, data = "Hello from asyncio, in Deno!\n"] = Deno.args;
if (path !== undefined) {
  await writeToFile(path, data);
} else {
  try {
    await using dir = await makeTempDir({ prefix: "write-file-" });
    await writeToFile(`${dir.path}/hello.txt`, data);
    console.log(`Removing ${dir.path} and its content`);
  } catch (error) {
    // Creating or removing the directory failed.
    console.error(
      `Error with the temporary directory: ${(error as Error).message}`,
    );
    Deno.exitCode = 1;
  }
}
