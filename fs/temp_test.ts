import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { denoCommand } from "../tests/_deno.ts";
import { CHILD_IN_TMP, runUnprivileged } from "./_test_util.ts";
import { makeTempDir } from "./temp.ts";

const TMP: Deno.PermissionOptions = { read: ["/tmp"], write: ["/tmp"] };

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test({
  name: "makeTempDir() removes the directory and its contents on dispose",
  permissions: TMP,
  async fn() {
    let path: string;
    {
      await using dir = await makeTempDir({
        dir: "/tmp",
        prefix: "aio-t-",
        suffix: "-x",
      });
      path = dir.path;
      assert(path.startsWith("/tmp/aio-t-") && path.endsWith("-x"), path);
      assert((await Deno.stat(path)).isDirectory);
      await Deno.mkdir(`${path}/a/b`, { recursive: true });
      await Deno.writeTextFile(`${path}/a/b/file.txt`, "x");
    }
    assertEquals(await exists(path), false);
  },
});

Deno.test({
  name: "makeTempDir() removes the directory when the body throws",
  permissions: TMP,
  async fn() {
    let path = "";
    await assertRejects(
      async () => {
        await using dir = await makeTempDir({ dir: "/tmp" });
        path = dir.path;
        await Deno.writeTextFile(`${dir.path}/partial`, "x");
        throw new Error("body failed");
      },
      Error,
      "body failed",
    );
    assert(path !== "");
    assertEquals(await exists(path), false);
  },
});

Deno.test({
  name: "makeTempDir() tolerates a directory removed by the body",
  permissions: TMP,
  async fn() {
    await using dir = await makeTempDir({ dir: "/tmp" });
    await Deno.remove(dir.path);
  },
});

Deno.test({
  name: "makeTempDir() makes distinct directories",
  permissions: TMP,
  async fn() {
    await using a = await makeTempDir({ dir: "/tmp" });
    await using b = await makeTempDir({ dir: "/tmp" });
    assert(a.path !== b.path);
  },
});

Deno.test({
  name: "makeTempDir() names the parent in errors and checks its options",
  permissions: TMP,
  async fn() {
    const error = await assertRejects(
      () => makeTempDir({ dir: "/tmp/aio-no-such-parent/x" }),
      Deno.errors.NotFound,
      `Cannot make a temporary directory in "/tmp/aio-no-such-parent/x"`,
    );
    assert(error.cause instanceof Deno.errors.NotFound);
    const bad = await assertRejects(
      () => makeTempDir({ prefix: 1 as never }),
      TypeError,
    );
    assertStringIncludes(
      bad.message,
      `Cannot make a temporary directory: "prefix" must be a string, received 1`,
    );
    await assertRejects(
      () => makeTempDir({ prefix: "a/b" }),
      TypeError,
      `Cannot make a temporary directory: "prefix" must not contain a path separator or NUL, received "a/b"; use "dir" for the parent directory`,
    );
    await assertRejects(
      () => makeTempDir({ suffix: "x\0" }),
      TypeError,
      `"suffix" must not contain a path separator or NUL`,
    );
    await assertRejects(
      () => makeTempDir({ prefix: "a\nb" }),
      TypeError,
      `Cannot make a temporary directory: "prefix" must not contain control characters, received "a\\nb"`,
    );
    await assertRejects(
      () => makeTempDir(null as never),
      TypeError,
      `Cannot make a temporary directory: "options" must be an object, received null`,
    );
  },
});

Deno.test({
  name: "makeTempDir() removes directories made read-only inside it",
  ignore: Deno.build.os === "windows",
  // The child runs as another user when this runs as root, whom the modes
  // would not stop.
  permissions: CHILD_IN_TMP,
  async fn() {
    await using dir = await makeTempDir({ dir: "/tmp" });
    // Inside: a/ (0o500) holding b/ (0o555) holding a file, closed/
    // (0o000) holding a file, and a link to outside/ (0o555, not inside).
    assertEquals(await runUnprivileged("read-only-temp-dir", dir.path), {
      error: null,
      removed: true,
      outsideMode: 0o555,
      outsideNames: ["inner"],
    });
  },
});

Deno.test({
  name:
    "makeTempDir() says that removing a read-only directory inside needs --allow-read",
  ignore: Deno.build.os === "windows",
  permissions: CHILD_IN_TMP,
  async fn() {
    await using dir = await makeTempDir({ dir: "/tmp" });
    const { error, left } = await runUnprivileged(
      "read-only-temp-dir-without-read",
      dir.path,
    ) as { error: string; left: string };
    assertStringIncludes(
      error,
      `NotCapable: Cannot remove the temporary directory "${dir.path}${left}": requires read access`,
    );
  },
});

Deno.test({
  name: "makeTempDir() names the directory $TMPDIR points to when it fails",
  permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  async fn() {
    const temp = new URL("./temp.ts", import.meta.url).href;
    const expected = {
      granted: 'Cannot make a temporary directory in "/tmp/aio-no-such-tmpdir"',
      // Without --allow-env it cannot tell which.
      revoked: 'Cannot make a temporary directory in "$TMPDIR or /tmp"',
    };
    for (const [env, message] of Object.entries(expected)) {
      const revoke = env === "revoked"
        ? `await Deno.permissions.revoke({ name: "env" });`
        : "";
      const { stdout } = await denoCommand("eval", [
        `import { makeTempDir } from "${temp}";
        ${revoke}
        await makeTempDir().catch((error) => console.log(error.message));`,
      ], {
        env: { TMPDIR: "/tmp/aio-no-such-tmpdir" },
        stdout: "piped",
      }).output();
      assertStringIncludes(new TextDecoder().decode(stdout), message);
    }
  },
});
