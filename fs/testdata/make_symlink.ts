// `deno run --allow-read --allow-write fs/testdata/make_symlink.ts TARGET PATH
// [TARGET PATH...]` creates symbolic links for the tests. Deno.symlink needs
// unscoped read and write permissions, which the test set does not grant, so
// a child makes them.

if (Deno.args.length === 0 || Deno.args.length % 2 !== 0) {
  throw new Error("Usage: make_symlink.ts TARGET PATH [TARGET PATH...]");
}
for (let i = 0; i < Deno.args.length; i += 2) {
  await Deno.symlink(Deno.args[i]!, Deno.args[i + 1]!);
}
