import { assert, assertEquals } from "@std/assert";
import { PathMatcher } from "./_path_matcher.ts";

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What `URLPattern` reports: the groups in order, or `undefined`. */
function urlPatternMatch(
  pattern: string,
  names: readonly string[],
  path: string,
): string[] | undefined {
  const groups = new URLPattern({ pathname: pattern }).exec({ pathname: path })
    ?.pathname.groups;
  return groups === undefined ? undefined : names.map((name) => groups[name]!);
}

Deno.test({
  name: "PathMatcher matches what URLPattern matches",
  permissions: "none",
  fn() {
    const next = random(20261202);
    const pick = <T>(items: readonly T[]): T =>
      items[Math.floor(next() * items.length)]!;
    const text = (length: number, chars: string) =>
      Array.from({ length }, () => pick([...chars])).join("");
    let matched = 0;
    for (let run = 0; run < 3_000; run++) {
      // Text, `:name` parameters and `*` wildcards; the text after a
      // parameter starts with punctuation (a letter would lengthen the name)
      // and no `*`, `?` or `+` follows a token (that would be a modifier).
      let pattern = "/";
      let last = "text";
      let params = 0;
      for (let tokens = 1 + Math.floor(next() * 5); tokens > 0; tokens--) {
        const kind = pick(["text", "text", "param", "star"]);
        if (kind === "param") {
          pattern += `:p${params++}`;
        } else if (kind === "star" && last !== "param" && last !== "star") {
          pattern += "*";
        } else {
          pattern += pick(["-", "/", "~"]) +
            text(Math.floor(next() * 3), "ab-/");
        }
        last = kind;
      }
      const matcher = new PathMatcher(pattern);
      for (let paths = 0; paths < 5; paths++) {
        const path = "/" + text(Math.floor(next() * 12), "ab-/~");
        const expected = urlPatternMatch(pattern, matcher.names, path);
        assertEquals(matcher.match(path), expected, `${pattern} on ${path}`);
        if (expected !== undefined) matched++;
      }
    }
    // Both outcomes were exercised.
    assert(matched > 1_000 && matched < 14_000, `${matched} matched`);
  },
});

Deno.test({
  name: "PathMatcher takes linear time on paths that make URLPattern backtrack",
  permissions: "none",
  fn() {
    // URLPattern takes about 8 s for the first case at 4,000 characters, and
    // minutes at 20,000; each case here takes a few milliseconds.
    const cases: [string, string, string[] | undefined][] = [
      ["/:from-:to-:step", `/${"-".repeat(20_000)}/`, undefined],
      ["/:a-:b-:c-:d.json", `/${"-".repeat(20_000)}.jso`, undefined],
      ["/x/*/y/*/z", `/x/${"y/".repeat(32_000)}`, undefined],
      ["/:a-:b", `/${"-".repeat(20_000)}`, ["-", "-".repeat(19_998)]],
      ["/*/:id", `/${"a/".repeat(20_000)}b`, [
        "a/".repeat(20_000).slice(0, -1),
        "b",
      ]],
    ];
    for (const [pattern, path, expected] of cases) {
      const started = performance.now();
      assertEquals(new PathMatcher(pattern).match(path), expected);
      const ms = performance.now() - started;
      assert(ms < 2_000, `${pattern}: ${ms.toFixed(0)} ms`);
    }
  },
});
