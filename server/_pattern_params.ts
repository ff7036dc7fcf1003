/**
 * Type-level reading of `URLPattern` pathname strings, for `PatternParams`
 * in server/router.ts.
 *
 * @module
 */

/**
 * The `:name` parameters that each pattern of `Pattern` (a literal or a
 * union of literals) always captures: for a union, those all of them share.
 * A pattern with a `{...}` group has none.
 *
 * @ignore Internal to `PatternParams` (in server/router.ts).
 */
export type SureNames<Pattern extends string> = keyof (
  // A member with a `{...}` group, or a template with `${string}` parts
  // (which may hold anything), has none.
  Pattern extends `${string}{${string}` ? Record<never, 0>
    : Record<never, never> extends Record<Pattern, unknown> ? Record<never, 0>
    : Record<RequiredNames<Pattern>, 0>
);

/**
 * The `:name` parameters of a pathname pattern that always match, read from
 * `:` to `:` (escapes and regexp groups skipped) into `Found`. A
 * regexp group with a group or an escaped `)` inside ends the reading: the
 * names after it keep `RouteParams`' type.
 */
type RequiredNames<
  Pattern extends string,
  Found extends string = never,
> =
  // Straight to the next `:` when no escape or group comes before it: a
  // step per character would stop compiling near 1,000 characters.
  Pattern extends `${infer Text}:${infer Rest}`
    ? Text extends `${string}${"\\" | "("}${string}`
      ? OneCharacter<Pattern, Found>
    : ParamName<Rest> extends
      [infer Name extends string, infer After extends string] ? RequiredNames<
        After,
        Name extends "" ? Found
          : AlwaysMatches<After> extends true ? Found | Name
          : Found
      >
    : Found
    // No `:` left: no name left either.
    : Found;

/** {@linkcode RequiredNames} past the first character of `Pattern`. */
type OneCharacter<Pattern extends string, Found extends string> =
  Pattern extends `${infer Char}${infer Rest}`
    ? Char extends "\\"
      ? Rest extends `${string}${infer Escaped}` ? RequiredNames<Escaped, Found>
      : Found
    : Char extends "("
      ? Rest extends `${infer Group})${infer After}`
        ? Group extends `${string}(${string}` | `${string}\\` ? Found
        : RequiredNames<After, Found>
      : Found
    : RequiredNames<Rest, Found>
    : Found;

/** The characters of `Text`, as a union. */
type Chars<Text extends string, Found extends string = never> = Text extends
  `${infer Char}${infer Rest}` ? Chars<Rest, Found | Char>
  : Found;

/** A parameter name's ASCII characters. */
type NameChar = Chars<
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$"
>;

/** What may follow a parameter name in a pathname pattern. */
type NameEnd = Chars<"/.-~!,;=&@:%+'\\">;

/** `[name, rest]`: the name at the start of `Text`, and what follows it. */
type ParamName<Text extends string, Name extends string = ""> = Text extends
  `${infer Char}${infer Rest}`
  ? Char extends NameChar ? ParamName<Rest, `${Name}${Char}`> : [Name, Text]
  : [Name, Text];

/**
 * Whether a parameter followed by `After` always matches: no `?` or `*`
 * modifier, after its regexp group if it has one (a plain one), and the name
 * ends in ASCII punctuation or at the end.
 */
type AlwaysMatches<After extends string> = After extends "" ? true
  : After extends `${"?" | "*"}${string}` ? false
  : After extends `(${infer Group})${infer Tail}`
    ? Group extends `${string}(${string}` | `${string}\\` ? false
    : Tail extends `${"?" | "*"}${string}` ? false
    : true
  : After extends `${NameEnd}${string}` ? true
  : false;
