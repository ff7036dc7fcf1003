// `deno run --allow-read --allow-write fs/testdata/make_symlink.ts TARGET PATH`
// creates a symbolic link for the tests. Deno.symlink needs unscoped read and
// write permissions, which the test set does not grant, so a child makes it.

const [target, path] = Deno.args;
if (!target || !path) throw new Error("Usage: make_symlink.ts TARGET PATH");
await Deno.symlink(target, path);
