import { assertEquals, assertThrows } from "@std/assert";
import {
  checkSignal,
  escapeInvisible,
  excerpt,
  formatAddr,
  show,
} from "./_show.ts";

/** A revoked Proxy: inspecting it throws. */
function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

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
      ["\u202eevil\u200b", '"\\u202eevil\\u200b"'],
      [`${"x".repeat(59)}😀`, `"${"x".repeat(59)}…"`],
      [revoked(), "an object"],
    ];
    for (const [value, expected] of cases) assertEquals(show(value), expected);
  },
});

Deno.test({
  name: "excerpt() cuts text without splitting a surrogate pair",
  permissions: "none",
  fn() {
    assertEquals(excerpt("abc", 3), "abc");
    assertEquals(excerpt("abcd", 3), "abc…");
    assertEquals(excerpt("ab😀", 4), "ab😀");
    assertEquals(excerpt("ab😀c", 3), "ab…");
    assertEquals(excerpt("ab😀c", 4), "ab😀…");
  },
});

Deno.test({
  name: "escapeInvisible() escapes controls and invisible formatting, not tab",
  permissions: "none",
  fn() {
    assertEquals(
      escapeInvisible("a\tb\nc\x1b[31m\u202e\u200b\u00ad\u{e0001}é"),
      "a\tb\\u000ac\\u001b[31m\\u202e\\u200b\\u00ad\\u{e0001}é",
    );
  },
});

Deno.test({
  name: "formatAddr() puts IPv6 hosts in brackets once",
  permissions: "none",
  fn() {
    const addr = (hostname: string): Deno.NetAddr => ({
      transport: "tcp",
      hostname,
      port: 80,
    });
    assertEquals(formatAddr(addr("127.0.0.1")), "127.0.0.1:80");
    assertEquals(formatAddr(addr("::1")), "[::1]:80");
    assertEquals(formatAddr(addr("[::1]")), "[::1]:80");
  },
});

Deno.test({
  name: "checkSignal() takes an AbortSignal or nothing",
  permissions: "none",
  fn() {
    checkSignal(undefined, "Cannot wait");
    checkSignal(new AbortController().signal, "Cannot wait");
    assertThrows(
      () => checkSignal({}, "Cannot wait"),
      TypeError,
      'Cannot wait: "signal" must be an AbortSignal, received an object',
    );
  },
});
