/**
 * `aio serve tcp` and `aio serve http`: the seed's two servers, until Ctrl-C.
 *
 * @module
 */

import { echo } from "../server/echo.ts";
import { hello } from "../server/hello.ts";
import { serveHttp } from "../server/http.ts";
import { serveLines } from "../server/lines.ts";
import { serveTcp } from "../server/tcp.ts";
import { formatAddr } from "../_show.ts";
import {
  describeFlags,
  nonEmpty,
  parseFlags,
  positiveDuration,
  UsageError,
  wholeNumber,
} from "./args.ts";
import { type Io, writeLine } from "./io.ts";
import { staticFiles } from "./static.ts";

const COMMON = {
  port: { type: "port", short: "p", description: "port to listen on" },
  hostname: {
    type: "string",
    value: "HOST",
    description: "address to listen on (0.0.0.0 for every interface)",
    default: "127.0.0.1",
  },
  "shutdown-timeout": {
    type: "duration",
    description: "on Ctrl-C, time given to work in flight",
    default: "5s",
  },
} as const;

const TCP_FLAGS = {
  ...COMMON,
  port: { ...COMMON.port, default: "8080" },
  lines: {
    type: "boolean",
    short: "l",
    description: "echo line by line (a line protocol) instead of raw bytes",
  },
  "max-connections": {
    type: "number",
    value: "N",
    description: "connections served at once; more wait to be accepted",
    default: "1024",
  },
  "idle-timeout": {
    type: "duration",
    description: "close a connection silent this long",
    default: "5m",
  },
  "line-timeout": {
    type: "duration",
    description: "with --lines: close a connection whose line takes this long",
    default: "1m",
  },
} as const;

const HTTP_FLAGS = {
  ...COMMON,
  port: { ...COMMON.port, default: "8888" },
  dir: {
    type: "string",
    short: "d",
    value: "PATH",
    description: "serve the files under PATH instead of Hello, world!",
  },
  "request-timeout": {
    type: "duration",
    description: "time a handler has to answer a request (then 503)",
    default: "30s",
  },
  cert: {
    type: "string",
    value: "FILE",
    description: "serve HTTPS (and HTTP/2) with this PEM certificate chain",
  },
  key: {
    type: "string",
    value: "FILE",
    description: "the PEM private key of --cert",
  },
  quiet: { type: "boolean", short: "q", description: "no access log" },
} as const;

const TCP_TEXT = `tcp: the echo server: whatever a client sends comes back.
${describeFlags(TCP_FLAGS)}`;

const HTTP_TEXT =
  `http: "Hello, world!" for every request, or a static file server with --dir
(nothing outside PATH is reachable: "..", encoded dots and slashes, and
symlinks pointing out are refused).
${describeFlags(HTTP_FLAGS)}`;

const TCP_USAGE = `usage: aio serve tcp [options]

${TCP_TEXT}

Runs until Ctrl-C (or SIGTERM), then shuts down gracefully.

permissions: -N=HOST:PORT (e.g. -N=127.0.0.1:8080).`;

const HTTP_USAGE = `usage: aio serve http [options]

${HTTP_TEXT}

Runs until Ctrl-C (or SIGTERM), then shuts down gracefully.

permissions: -N=HOST:PORT (e.g. -N=127.0.0.1:8888); --dir also -R=PATH;
--cert and --key also -R on their files.`;

/** The usage text of `aio serve`. */
export const SERVE_USAGE = `usage: aio serve tcp [options]
       aio serve http [options]

${TCP_TEXT}

${HTTP_TEXT}

Both run until Ctrl-C (or SIGTERM), then shut down gracefully.

permissions: -N=HOST:PORT (e.g. -N=127.0.0.1:8080); http --dir also -R=PATH,
http --cert and --key also -R on their files.`;

/** Waits for the server to close (on Ctrl-C), saying what happens. */
async function untilClosed(
  server: { finished: Promise<void>; shutdown(): Promise<void> },
  listening: Promise<void>,
  io: Io,
): Promise<number> {
  // Status lines are best effort: a closed standard output (a logger that
  // died) must not cut the graceful shutdown short.
  await listening.catch(() => {});
  const say = (text: string) => writeLine(io.stdout, text).catch(() => {});
  const shuttingDown = new Promise<void>((resolve) => {
    const onAbort = () => resolve(say("Shutting down"));
    // A Ctrl-C may come while the address line is still being written.
    if (io.signal.aborted) onAbort();
    else io.signal.addEventListener("abort", onAbort, { once: true });
  });
  // shutdown() is bounded; an HTTP server's `finished` also waits for a
  // client stalled mid-upload to go.
  await Promise.race([
    server.finished,
    shuttingDown.then(() => server.shutdown()),
  ]);
  if (io.signal.aborted) await shuttingDown;
  await say("Closed");
  return 0;
}

async function serveTcpCommand(args: string[], io: Io): Promise<number> {
  const { flags, given, positionals, help } = parseFlags(args, TCP_FLAGS);
  if (help) {
    await writeLine(io.stdout, TCP_USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Cannot serve tcp: unexpected "${positionals[0]}"`);
  }
  if (given.has("line-timeout") && !flags.lines) {
    throw new UsageError(
      "Cannot serve tcp: --line-timeout times lines, which only --lines reads",
    );
  }
  const options = {
    hostname: nonEmpty("hostname", flags.hostname!),
    port: flags.port,
    signal: io.signal,
    maxConnections: wholeNumber(
      "max-connections",
      flags["max-connections"]!,
      1,
    ),
    idleTimeout: positiveDuration("idle-timeout", flags["idle-timeout"]!),
    shutdownTimeout: flags["shutdown-timeout"],
    onError: (error: unknown) =>
      console.error(
        `connection error: ${error instanceof Error ? error.message : error}`,
      ),
  };
  let listening = Promise.resolve();
  const onListen = (addr: Deno.NetAddr) => {
    listening = writeLine(
      io.stdout,
      `${flags.lines ? "Line echo" : "Echo"} server on ${formatAddr(addr)}`,
    );
  };
  const server = flags.lines
    ? serveLines((line) => line, {
      ...options,
      lineTimeout: positiveDuration("line-timeout", flags["line-timeout"]!),
      onListen,
    })
    : serveTcp(echo, { ...options, onListen });
  return await untilClosed(server, listening, io);
}

async function serveHttpCommand(args: string[], io: Io): Promise<number> {
  const { flags, positionals, help } = parseFlags(args, HTTP_FLAGS);
  if (help) {
    await writeLine(io.stdout, HTTP_USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Cannot serve http: unexpected "${positionals[0]}"`);
  }
  const hostname = nonEmpty("hostname", flags.hostname!);
  const requestTimeout = positiveDuration(
    "request-timeout",
    flags["request-timeout"]!,
  );
  const tls = await readTls(flags.cert, flags.key);
  let handler: (request: Request) => Response | Promise<Response> = hello;
  if (flags.dir !== undefined) {
    try {
      handler = await staticFiles(flags.dir);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof TypeError) {
        throw new UsageError(
          `Cannot serve "${flags.dir}": it is not an existing directory`,
        );
      }
      throw error;
    }
  }
  let listening = Promise.resolve();
  const server = serveHttp(handler, {
    hostname,
    port: flags.port,
    signal: io.signal,
    requestTimeout,
    shutdownTimeout: flags["shutdown-timeout"],
    accessLog: !flags.quiet,
    ...tls,
    onListen: (addr) => {
      const what = flags.dir === undefined
        ? "Hello server"
        : `Serving ${flags.dir}`;
      listening = writeLine(
        io.stdout,
        `${what} on ${tls ? "https" : "http"}://${formatAddr(addr)}/`,
      );
    },
  });
  return await untilClosed(server, listening, io);
}

/** The PEM texts of `--cert` and `--key`, which go together. */
async function readTls(
  cert: string | undefined,
  key: string | undefined,
): Promise<{ cert: string; key: string } | undefined> {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      `Cannot serve https: --cert and --key go together, received only --${
        cert === undefined ? "key" : "cert"
      }`,
    );
  }
  const read = async (flag: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new UsageError(`Cannot read --${flag} "${path}": no such file`);
    }
  };
  return { cert: await read("cert", cert), key: await read("key", key) };
}

/** The usage text of `aio serve <kind>`: one server's, or both. */
export function serveUsage(kind: string | undefined): string {
  return kind === "tcp"
    ? TCP_USAGE
    : kind === "http"
    ? HTTP_USAGE
    : SERVE_USAGE;
}

/** Runs `aio serve tcp|http`. */
export function serveCommand(args: string[], io: Io): Promise<number> {
  const [kind, ...rest] = args;
  switch (kind) {
    case "tcp":
      return serveTcpCommand(rest, io);
    case "http":
      return serveHttpCommand(rest, io);
    case "--help":
    case "-h":
      return writeLine(io.stdout, SERVE_USAGE).then(() => 0);
    case undefined:
      throw new UsageError("Cannot serve: say what, tcp or http");
    default:
      throw new UsageError(
        `Cannot serve "${kind}": expected tcp or http`,
      );
  }
}
