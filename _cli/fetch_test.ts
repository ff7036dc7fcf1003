import { assertEquals, assertRejects } from "@std/assert";
import { fetchCommand } from "./fetch.ts";
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
