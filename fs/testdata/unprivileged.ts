// `deno run --allow-read --allow-write fs/testdata/unprivileged.ts SCENARIO
// DIR` runs a scenario in DIR whose outcome depends on file permissions,
// which do not hold for root: the tests start it as `nobody` when they run
// as root. It prints what it found as JSON. (Deno.symlink needs unscoped
// permissions.)

import { writeFileAtomic } from "../atomic.ts";
import { makeTempDir } from "../temp.ts";

async function names(dir: string): Promise<string[]> {
  const found = await Array.fromAsync(Deno.readDir(dir));
  return found.map((entry) => entry.name).sort();
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "?";
}

/** writeFileAtomic() into a directory it may write but not read. */
async function unreadableDirectory(dir: string): Promise<unknown> {
  const locked = `${dir}/locked`;
  await Deno.mkdir(locked);
  await Deno.writeTextFile(`${locked}/file`, "old");
  const outcomes = [];
  for (const fsync of [true, false]) {
    await Deno.chmod(locked, 0o333);
    const error = await writeFileAtomic(`${locked}/file`, `fsync ${fsync}`, {
      fsync,
    }).then(() => null, describeError);
    await Deno.chmod(locked, 0o755);
    outcomes.push({
      fsync,
      error,
      content: await Deno.readTextFile(`${locked}/file`),
      names: await names(locked),
    });
  }
  return outcomes;
}

/**
 * Disposes of a makeTempDir() holding read-only directories and a link to a
 * read-only directory outside it.
 */
async function readOnlyTempDir(dir: string): Promise<unknown> {
  const outside = `${dir}/outside`;
  await Deno.mkdir(`${outside}/inner`, { recursive: true });
  await Deno.chmod(outside, 0o555);
  const temp = await makeTempDir({ dir });
  await Deno.mkdir(`${temp.path}/a/b`, { recursive: true });
  await Deno.writeTextFile(`${temp.path}/a/b/file`, "x");
  await Deno.mkdir(`${temp.path}/closed`);
  await Deno.writeTextFile(`${temp.path}/closed/file`, "x");
  await Deno.symlink(outside, `${temp.path}/link`);
  await Deno.chmod(`${temp.path}/a/b`, 0o555);
  await Deno.chmod(`${temp.path}/a`, 0o500);
  await Deno.chmod(`${temp.path}/closed`, 0o000);
  const error = await temp[Symbol.asyncDispose]().then(
    () => null,
    describeError,
  );
  const removed = await Deno.lstat(temp.path).then(() => false, () => true);
  const outsideMode = (await Deno.stat(outside)).mode! & 0o777;
  const outsideNames = await names(outside);
  await Deno.chmod(outside, 0o755);
  return { error, removed, outsideMode, outsideNames };
}

/**
 * Disposes of a makeTempDir() holding a read-only directory after giving up
 * --allow-read, which making it writable needs: the error, and what is left.
 */
async function readOnlyTempDirWithoutRead(dir: string): Promise<unknown> {
  const temp = await makeTempDir({ dir });
  await Deno.mkdir(`${temp.path}/a/b`, { recursive: true });
  await Deno.chmod(`${temp.path}/a`, 0o500);
  await Deno.permissions.revoke({ name: "read" });
  const error = await temp[Symbol.asyncDispose]().then(
    () => null,
    describeError,
  );
  return { error, left: temp.path.slice(dir.length) };
}

/**
 * writeFileAtomic() over its own setuid file, and with setuid and setgid
 * bits given: the modes of the results (writing clears the bits for a user
 * other than root, so they must be set after the data).
 */
async function setidModes(dir: string): Promise<unknown> {
  const path = `${dir}/tool`;
  const mode = async () => (await Deno.stat(path)).mode! & 0o7777;
  await Deno.writeTextFile(path, "old");
  await Deno.chmod(path, 0o4755);
  const modes = [];
  for (const fsync of [true, false]) {
    for (const data of ["new", ["new"]]) {
      await writeFileAtomic(path, data, { fsync });
      modes.push(await mode());
    }
    await writeFileAtomic(path, "new", { fsync, mode: 0o6750 });
    modes.push(await mode());
    await Deno.chmod(path, 0o4755);
  }
  return modes;
}

const scenarios: Record<string, (dir: string) => Promise<unknown>> = {
  "unreadable-directory": unreadableDirectory,
  "read-only-temp-dir": readOnlyTempDir,
  "read-only-temp-dir-without-read": readOnlyTempDirWithoutRead,
  "setid-modes": setidModes,
};

const [scenario, dir] = Deno.args;
const run = scenario === undefined ? undefined : scenarios[scenario];
if (!run || !dir) {
  throw new Error(
    `Usage: unprivileged.ts (${Object.keys(scenarios).join("|")}) DIR`,
  );
}
console.log(JSON.stringify(await run(dir)));
