import { assertEquals, assertThrows } from "@std/assert";
import {
  describeFlags,
  nonEmpty,
  parseDuration,
  parseFlags,
  positiveDuration,
  UsageError,
} from "./args.ts";

const SPECS = {
  port: { type: "port", short: "p", description: "port", default: "8080" },
  timeout: { type: "duration", description: "timeout", default: "10s" },
  out: { type: "string", description: "file", value: "PATH" },
  lines: { type: "boolean", description: "lines" },
} as const;

Deno.test("parseFlags() reads values, defaults and positionals", () => {
  const parsed = parseFlags(
    ["a", "--port", "9000", "--timeout=500ms", "--lines", "b", "--", "--x"],
    SPECS,
  );
  assertEquals(parsed.flags, {
    port: 9000,
    timeout: 500,
    out: undefined,
    lines: true,
  });
  assertEquals(parsed.positionals, ["a", "b", "--x"]);
  assertEquals([...parsed.given].sort(), ["lines", "port", "timeout"]);
  assertEquals(parsed.help, false);
  assertEquals(parseFlags(["-p", "1"], SPECS).flags.port, 1);
  assertEquals(parseFlags([], SPECS).flags.timeout, 10_000);
  assertEquals(parseFlags(["-h"], SPECS).help, true);
  assertEquals(parseFlags(["-"], SPECS).positionals, ["-"]);
});

Deno.test("parseFlags() rejects bad input with a UsageError", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--nope"], /unknown flag "--nope"/],
    // Names of Object.prototype's members are no flags either.
    [["--toString", "1"], /unknown flag "--toString"/],
    [["--constructor"], /unknown flag "--constructor"/],
    [["--hasOwnProperty=1"], /unknown flag "--hasOwnProperty"/],
    [["--port"], /--port: it needs a value/],
    [["--port", "70000"], /not a port number/],
    [["--port", "80x"], /not a port number/],
    [["--timeout", "soon"], /not a duration/],
    [["--lines=yes"], /takes no value/],
    [["--help=1"], /Cannot read --help: it takes no value/],
    [
      ["--out", "--port", "1"],
      /--out: it needs a value, received the flag "--port"/,
    ],
    [["--out", "-p", "1"], /--out: it needs a value, received the flag "-p"/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      const error = assertThrows(() => parseFlags(args, SPECS), UsageError);
      assertEquals(message.test(error.message), true, error.message);
    });
  }
});

Deno.test("parseDuration() reads units and bare seconds", () => {
  assertEquals(parseDuration("250ms"), 250);
  assertEquals(parseDuration("1.5s"), 1500);
  assertEquals(parseDuration("2m"), 120_000);
  assertEquals(parseDuration("1h"), 3_600_000);
  assertEquals(parseDuration("3"), 3000);
  assertThrows(() => parseDuration("-1s"), UsageError);
});

Deno.test("describeFlags() aligns flags and shows defaults", () => {
  const text = describeFlags(SPECS);
  assertEquals(
    text.split("\n")[0],
    "  -p, --port PORT         port (default 8080)",
  );
  assertEquals(text.includes("--out PATH"), true);
  assertEquals(text.endsWith("show this help"), true);
});

Deno.test("parseFlags() still takes values that only look like flags", () => {
  assertEquals(parseFlags(["--out=--x"], SPECS).flags.out, "--x");
  assertEquals(parseFlags(["--out", "-"], SPECS).flags.out, "-");
  assertEquals(parseFlags(["--out", "-x"], SPECS).flags.out, "-x");
});

Deno.test("positiveDuration() and nonEmpty() refuse zero and empty values", () => {
  assertEquals(positiveDuration("timeout", 1), 1);
  assertThrows(() => positiveDuration("timeout", 0), UsageError, "--timeout");
  assertEquals(nonEmpty("hostname", "::1"), "::1");
  assertThrows(() => nonEmpty("hostname", ""), UsageError, "--hostname");
});
