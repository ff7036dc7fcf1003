/**
 * A small, strict argument parser for the `aio` command: `--name value`,
 * `--name=value`, `-x value`, boolean flags, `--` to end flags, and clear
 * {@linkcode UsageError}s for anything unknown or malformed.
 *
 * @module
 */

/** A user error on the command line: printed as one line plus the usage. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * Bad input rather than bad arguments (a line of standard input): exits 2
 * like a {@linkcode UsageError}, without the usage text.
 */
export class InputError extends UsageError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/** How one flag is read. */
export type FlagSpec =
  | { type: "boolean"; short?: string; description: string }
  | {
    type: "string" | "number" | "duration" | "port";
    short?: string;
    description: string;
    /** Placeholder shown in the usage, e.g. "PATH". */
    value?: string;
    /** The default, written as a user would type it ("10s", "8080"). */
    default?: string;
  };

/** The flags of one command. */
export type FlagSpecs = Record<string, FlagSpec>;

/** Parsed flag values, by flag name. */
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends { type: "boolean" } ? boolean
    : S[K] extends { type: "string" } ? string | undefined
    : number | undefined;
};

/** The outcome of {@linkcode parseFlags}. */
export interface Parsed<S extends FlagSpecs> {
  flags: FlagValues<S>;
  /** The flags the arguments set, by name (defaults aside). */
  given: Set<keyof S & string>;
  positionals: string[];
  help: boolean;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Reads a duration: `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds.
 * Returns milliseconds.
 */
export function parseDuration(text: string, flag = "duration"): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `Cannot read --${flag}: "${text}" is not a duration like 500ms, 10s or 2m`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2] ?? "s"]!;
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  switch (spec.type) {
    case "string":
      return raw;
    case "duration":
      return parseDuration(raw, name);
    case "port": {
      const port = Number(raw);
      if (!/^\d+$/.test(raw) || port > 65535) {
        throw new UsageError(
          `Cannot read --${name}: "${raw}" is not a port number from 0 to 65535`,
        );
      }
      return port;
    }
    case "number": {
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) {
        throw new UsageError(`Cannot read --${name}: "${raw}" is not a number`);
      }
      return value;
    }
    case "boolean":
      throw new UsageError(`Cannot read --${name}: it takes no value`);
  }
}

/**
 * Parses `args` against `specs`. `--help`/`-h` sets `help`. Unknown flags,
 * missing values and malformed numbers throw {@linkcode UsageError}.
 */
export function parseFlags<S extends FlagSpecs>(
  args: readonly string[],
  specs: S,
): Parsed<S> {
  const values: Record<string, string | number | boolean | undefined> = {};
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    values[name] = spec.type === "boolean"
      ? false
      : spec.default === undefined
      ? undefined
      : convert(name, spec, spec.default);
    if (spec.short) byShort.set(spec.short, name);
  }
  const positionals: string[] = [];
  const given = new Set<string>();
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const key = eq === -1 ? arg : arg.slice(0, eq);
    const name = key.startsWith("--")
      ? key.slice(2)
      : byShort.get(key.slice(1));
    const spec = name === undefined || !Object.hasOwn(specs, name)
      ? undefined
      : specs[name];
    if (key === "--help" || key === "-h") {
      throw new UsageError(`Cannot read ${key}: it takes no value`);
    }
    if (name === undefined || spec === undefined) {
      throw new UsageError(`Cannot read the arguments: unknown flag "${key}"`);
    }
    given.add(name);
    if (spec.type === "boolean") {
      if (eq !== -1) convert(name, spec, arg.slice(eq + 1));
      values[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (i + 1 < args.length) {
      raw = args[++i]!;
      // "-o --concurrency 4" forgot the path: do not take the flag as one.
      // A value that starts with "--" is still possible as "--out=--x".
      const short = /^-[^-]$/.test(raw) &&
        (raw === "-h" || byShort.has(raw.slice(1)));
      if (raw.startsWith("--") || short) {
        throw new UsageError(
          `Cannot read --${name}: it needs a value, received the flag "${raw}"`,
        );
      }
    }
    if (raw === undefined) {
      throw new UsageError(`Cannot read --${name}: it needs a value`);
    }
    values[name] = convert(name, spec, raw);
  }
  return {
    flags: values as FlagValues<S>,
    given: given as Set<keyof S & string>,
    positionals,
    help,
  };
}

/** Checks that a numeric flag is a whole number of at least `min`. */
export function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(
      `Cannot read --${name}: expected a whole number of at least ${min}, received ${value}`,
    );
  }
  return value;
}

/** Checks that a duration flag is longer than zero. */
export function positiveDuration(name: string, ms: number): number {
  if (!(ms > 0)) {
    throw new UsageError(
      `Cannot read --${name}: expected a duration longer than 0, received ${ms} ms`,
    );
  }
  return ms;
}

/** Checks that a string flag is not empty. */
export function nonEmpty(name: string, value: string): string {
  if (value.trim() === "") {
    throw new UsageError(`Cannot read --${name}: it is empty`);
  }
  return value;
}

/**
 * The `--out` file: `undefined` for standard output (no flag, `-`, or
 * `/dev/stdout` and its aliases).
 *
 * @throws {UsageError} For an empty path.
 */
export function outPath(value: string | undefined): string | undefined {
  // Standard output by its names, whatever it is (a file opened for
  // appending is not to be replaced).
  return value === undefined || STANDARD_OUTPUT.includes(value)
    ? undefined
    : nonEmpty("out", value);
}

const STANDARD_OUTPUT = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

/** The flag lines of a usage text, aligned. */
export function describeFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : "    ";
    const value = spec.type === "boolean"
      ? ""
      : ` ${spec.value ?? spec.type.toUpperCase()}`;
    const fallback = spec.type !== "boolean" && spec.default !== undefined
      ? ` (default ${spec.default})`
      : "";
    return [`  ${short}--${name}${value}`, spec.description + fallback];
  });
  rows.push(["  -h, --help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left!.length)) + 2;
  return rows.map(([left, right]) => left!.padEnd(width) + right).join("\n");
}
