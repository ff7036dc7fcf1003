/**
 * Matching a pathname against a pattern of text, `:name` parameters and `*`
 * wildcards, as `URLPattern` does, in time linear in the path's length.
 *
 * `URLPattern` (and a regular expression built the same way) backtracks:
 * `/:from-:to-:step` against a 4 KB path that does not match takes seconds,
 * during which the server answers nothing. Here each token's possible end
 * positions are worked out once, from the last token back to the first;
 * then the match `URLPattern` would report (each parameter as short as it
 * can be, each wildcard as long) is read off from the first token on.
 *
 * @module
 */

/** A pattern's pieces, in order. */
type Token =
  | { kind: "text"; text: string }
  /** `:name`: one or more characters other than `/`, as few as possible. */
  | { kind: "param" }
  /** `*`: any characters, as many as possible. */
  | { kind: "star" };

const SLASH = 47;

/**
 * The table of {@linkcode PathMatcher.match}, shared: a match runs start to
 * end without awaiting, so no two use it at once. A larger table (a long
 * path, many tokens) is made for its match alone, so that one hostile path
 * does not keep its memory.
 */
const scratch = new Uint8Array(64 * 1024);

/** A compiled pathname pattern of text, `:name` and `*`. */
export class PathMatcher {
  /** The parameters' names, in order; wildcards are named `"0"`, `"1"`... */
  readonly names: readonly string[];
  #tokens: Token[];

  /**
   * @param pattern A pathname pattern of text, `:name` parameters (ASCII
   * names) and `*` wildcards only.
   */
  constructor(pattern: string) {
    const names: string[] = [];
    const tokens: Token[] = [];
    let wildcards = 0;
    for (const [token] of pattern.matchAll(/:[A-Za-z_$][\w$]*|\*|[^:*]+/g)) {
      if (token === "*") {
        names.push(String(wildcards++));
        tokens.push({ kind: "star" });
      } else if (token.startsWith(":")) {
        names.push(token.slice(1));
        tokens.push({ kind: "param" });
      } else {
        tokens.push({ kind: "text", text: token });
      }
    }
    this.names = names;
    this.#tokens = tokens;
  }

  /**
   * The values of the parameters and wildcards, in the order of
   * {@linkcode names}, if `path` matches the whole pattern; otherwise
   * `undefined`.
   */
  match(path: string): string[] | undefined {
    const tokens = this.#tokens;
    const first = tokens[0];
    // Most patterns start with text: most paths are refused here, for free.
    if (first?.kind === "text" && !path.startsWith(first.text)) {
      return undefined;
    }
    // A pattern that ends with text matches only paths that end with it.
    const last = tokens[tokens.length - 1];
    if (last?.kind === "text" && !path.endsWith(last.text)) return undefined;
    // The usual `/static/*` and `/files/*/raw`: a prefix, anything, and an
    // optional suffix.
    if (first?.kind === "text" && tokens[1]?.kind === "star") {
      const start = first.text.length;
      if (tokens.length === 2) return [path.slice(start)];
      if (tokens.length === 3 && last?.kind === "text") {
        const end = path.length - last.text.length;
        return end < start ? undefined : [path.slice(start, end)];
      }
    }
    const width = path.length + 1;
    const size = (tokens.length + 1) * width;
    // ends[i * width + p] = 1 when tokens i.. match path.slice(p) exactly.
    const ends = size <= scratch.length
      ? scratch.fill(0, 0, size)
      : new Uint8Array(size);
    ends[tokens.length * width + path.length] = 1;
    for (let i = tokens.length - 1; i >= 0; i--) {
      const token = tokens[i]!;
      const row = i * width;
      const next = row + width;
      if (token.kind === "text") {
        const { text } = token;
        for (
          let p = path.indexOf(text);
          p !== -1;
          p = path.indexOf(text, p + 1)
        ) {
          ends[row + p] = ends[next + p + text.length]!;
        }
      } else if (token.kind === "star") {
        let any = 0;
        for (let p = path.length; p >= 0; p--) {
          any |= ends[next + p]!;
          ends[row + p] = any;
        }
      } else {
        // A parameter from p ends at some q in (p, the next "/" or the end].
        let nearest = Infinity; // The least q > p where the rest matches.
        let slash = path.length; // The first "/" at or after p.
        for (let p = path.length - 1; p >= 0; p--) {
          if (ends[next + p + 1]) nearest = p + 1;
          if (path.charCodeAt(p) === SLASH) {
            slash = p;
            continue;
          }
          if (nearest <= slash) ends[row + p] = 1;
        }
      }
    }
    if (!ends[0]) return undefined;
    const values: string[] = [];
    let p = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const next = (i + 1) * width;
      if (token.kind === "text") {
        p += token.text.length;
        continue;
      }
      let q: number;
      if (token.kind === "param") {
        q = p + 1;
        while (!ends[next + q]) q++;
      } else {
        q = path.length;
        while (!ends[next + q]) q--;
      }
      values.push(path.slice(p, q));
      p = q;
    }
    return values;
  }
}
