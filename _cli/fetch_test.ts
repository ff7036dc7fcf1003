import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { httpResponse, rawServer } from "../tests/_loopback.ts";
import { Client } from "../client/client.ts";
import { InputError, UsageError } from "./args.ts";
import { checkUrls, fetchCommand, fetchRecord } from "./fetch.ts";
import type { Io, Output } from "./io.ts";

function output(terminal: boolean, onWrite?: () => void) {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const sink: Output & { text(): string } = {
    write(bytes) {
      chunks.push(decoder.decode(bytes));
      return Promise.resolve(bytes.length);
    },
    writeSync(bytes) {
      chunks.push(decoder.decode(bytes));
      onWrite?.();
      return bytes.length;
    },
    isTerminal: () => terminal,
    text: () => chunks.join(""),
  };
  return sink;
}

Deno.test({
  name: "fetchCommand() ends the progress bar's line when interrupted",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const slow = Promise.withResolvers<void>();
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        if (new URL(request.url).pathname === "/slow") await slow.promise;
        return new Response("ok");
      },
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    const controller = new AbortController();
    // Ctrl-C as soon as the bar is on the screen, mid-line.
    const stderr = output(
      true,
      () => controller.abort(new Error("Interrupted")),
    );
    const io: Io = {
      stdin: ReadableStream.from([]),
      stdinIsTerminal: true,
      stdout: output(false),
      stderr,
      signal: controller.signal,
    };
    try {
      await assertRejects(
        () => fetchCommand(["--retries", "0", `${base}/a`, `${base}/slow`], io),
        Error,
        "Interrupted",
      );
    } finally {
      slow.resolve();
    }
    const text = stderr.text();
    assertEquals(text.startsWith("\r\x1b[2Kfetch ["), true, text);
    assertEquals(text.endsWith("\n"), true, JSON.stringify(text));
  },
});

Deno.test({
  name: "fetchCommand() keeps the bar off the records on a shared terminal",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("ok"),
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    // Standard output and error on one terminal: one screen, in order.
    const screen: string[] = [];
    const terminal = output(true);
    const shared: Output = {
      write(bytes) {
        screen.push(new TextDecoder().decode(bytes));
        return Promise.resolve(bytes.length);
      },
      writeSync(bytes) {
        screen.push(new TextDecoder().decode(bytes));
        return bytes.length;
      },
      isTerminal: terminal.isTerminal,
    };
    const urls = ["a", "b", "c", "d"].map((name) => `${base}/${name}`);
    const io: Io = {
      stdin: ReadableStream.from([]),
      stdinIsTerminal: true,
      stdout: shared,
      stderr: shared,
      signal: new AbortController().signal,
    };
    assertEquals(await fetchCommand(["-c", "1", ...urls], io), 0);
    // What each line shows once carriage returns and erasures are applied.
    const shown = screen.join("").split("\n").map((line) =>
      line.split("\r").at(-1)!.replace("\x1b[2K", "")
    );
    const records = shown.filter((line) => line.includes('"url"'));
    assertEquals(records.length, 4, JSON.stringify(screen));
    for (const line of records) {
      assertEquals(line.startsWith('{"url":'), true, JSON.stringify(line));
    }
    assertEquals(shown.at(-2)?.startsWith("fetch ["), true);
  },
});

Deno.test({
  name:
    "fetchRecord() retries a body cut off or stalled, not only a failed head",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    const stalled = Promise.withResolvers<void>();
    await using server = rawServer(async ({ index, write }) => {
      const cut = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello";
      if (index === 0) return write(cut); // closed after 5 of 10 bytes
      if (index === 1) {
        await write(cut);
        await stalled.promise; // the rest never comes
        return;
      }
      await write(httpResponse("hello you!"));
    });
    await using client = new Client();
    try {
      const record = await fetchRecord(client, server.url(), undefined, {
        timeout: 300,
        retries: 2,
      });
      assertEquals(
        { ...record, ms: 0 },
        { url: server.url(), status: 200, bytes: 10, ms: 0, retries: 2 },
      );
    } finally {
      stalled.resolve();
    }
  },
});

Deno.test({
  name: "fetchRecord() counts no bytes for a failure, a body cut off included",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    await using server = rawServer(({ write }) =>
      write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
    );
    await using client = new Client();
    const record = await fetchRecord(client, server.url(), undefined, {
      retries: 0,
    });
    assertEquals([record.status, record.bytes], [200, 0]);
    assertEquals(typeof record.error, "string");
  },
});

Deno.test({
  name: "fetchRecord() counts a body of any size, past a client's maxBodySize",
  permissions: { net: ["127.0.0.1"] },
  async fn() {
    await using server = rawServer(({ write }) =>
      write(httpResponse("x".repeat(100)))
    );
    await using client = new Client({ maxBodySize: 10 });
    const record = await fetchRecord(client, server.url());
    assertEquals([record.status, record.bytes, record.error], [
      200,
      100,
      undefined,
    ]);
  },
});

Deno.test("fetchRecord() keeps only the reason of an error about its URL", async () => {
  await using client = new Client();
  // Port 1 is one `fetch` refuses: a TypeError, not a RequestError.
  const url = "http://127.0.0.1:1/x";
  const record = await fetchRecord(client, url, undefined, { retries: 0 });
  assertEquals(record.status, null);
  assertEquals(record.error?.startsWith("Cannot GET"), false, record.error);
  assertStringIncludes(record.error!, "port 1");
});

Deno.test("checkUrls() quotes a bad input escaped and cut", () => {
  const input = `\u001b[31mhttp//${"x".repeat(100_000)}`;
  const error = assertThrows(() => checkUrls(["http://a/", input]), UsageError);
  assertEquals(
    error.message,
    `Cannot fetch "\\u001b[31mhttp//${"x".repeat(189)}…": not an absolute URL`,
  );
  assertThrows(
    () => checkUrls(["ftp://x/\u202Eexe.txt"], "crawl"),
    UsageError,
    'Cannot crawl "ftp://x/\\u202eexe.txt": only http and https URLs',
  );
  assertEquals(checkUrls(["http://A/b c"]), ["http://a/b%20c"]);
  // From standard input: an InputError, which prints no usage.
  assertThrows(
    () => checkUrls(["http://a/", "x y"], "fetch", (i) => `line ${i + 3}`),
    InputError,
    'Cannot fetch "x y" (line 4): not an absolute URL',
  );
  const usage = assertThrows(() => checkUrls(["x y"]), UsageError);
  assertEquals(usage instanceof InputError, false);
});
