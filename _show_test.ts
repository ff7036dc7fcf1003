import { assertEquals } from "@std/assert";
import { show } from "./_show.ts";

Deno.test({
  name: "show() names a value without its contents",
  permissions: "none",
  fn() {
    const cases: [unknown, string][] = [
      ["5", '"5"'],
      ["", '""'],
      ["x".repeat(100), `"${"x".repeat(60)}…"`],
      ['say "hi"\n', '"say \\"hi\\"\\n"'],
      [5, "5"],
      [NaN, "NaN"],
      [-Infinity, "-Infinity"],
      [true, "true"],
      [null, "null"],
      [undefined, "undefined"],
      [5n, "5n"],
      [Symbol("s"), "Symbol(s)"],
      [() => {}, "a function"],
      [class {}, "a function"],
      [[1, 2], "an array"],
      [{ secret: 1 }, "an object"],
      [Object.create(null), "an object"],
      [new Map(), "an instance of Map"],
      [new URL("http://h/"), "an instance of URL"],
      [Promise.resolve(), "an instance of Promise"],
      [{ toString: () => "lies" }, "an object"],
    ];
    for (const [value, expected] of cases) assertEquals(show(value), expected);
  },
});
