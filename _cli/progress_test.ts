import { assertEquals } from "@std/assert";
import {
  ProgressReporter,
  type ProgressSink,
  renderProgress,
} from "./progress.ts";

Deno.test("renderProgress() draws the bar, counts, failures, rate and time", () => {
  assertEquals(
    renderProgress({ done: 50, failed: 2, total: 200, elapsedMs: 2000 }, {
      width: 8,
      label: "fetch",
    }),
    "fetch [##------]  50/200  2 failed  25/s  2.0s",
  );
  assertEquals(
    renderProgress({ done: 3, failed: 0, total: 3, elapsedMs: 1000 }, {
      width: 4,
    }),
    "[####] 3/3  0 failed  3.0/s  1.0s",
  );
  assertEquals(
    renderProgress({ done: 0, failed: 0, total: 0, elapsedMs: 0 }, {
      width: 2,
    }),
    "[##] 0/0  0 failed  0.0/s  0.0s",
  );
});

function sink(terminal: boolean): ProgressSink & { text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(bytes) {
      chunks.push(bytes.slice());
      return bytes.length;
    },
    isTerminal: () => terminal,
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

Deno.test("ProgressReporter prints a plain line per tenth when not a terminal", () => {
  const out = sink(false);
  const progress = new ProgressReporter({ sink: out, label: "get" });
  for (let done = 0; done <= 100; done++) {
    progress.update({ done, failed: 0, total: 100 });
  }
  progress.finish({ done: 100, failed: 0, total: 100 });
  const lines = out.text().trimEnd().split("\n");
  assertEquals(lines.length, 11);
  assertEquals(lines.every((line) => line.startsWith("get [")), true);
  assertEquals(out.text().includes("\r"), false);
  assertEquals(lines.at(-1)!.includes("100/100"), true);
});

Deno.test("ProgressReporter redraws one line in place on a terminal", () => {
  const out = sink(true);
  const progress = new ProgressReporter({ sink: out, intervalMs: 1e9 });
  progress.update({ done: 1, failed: 0, total: 10 });
  progress.update({ done: 2, failed: 0, total: 10 });
  progress.finish({ done: 10, failed: 1, total: 10 });
  const text = out.text();
  assertEquals(text.split("\r\x1b[2K").length, 3);
  assertEquals(text.endsWith("\n"), true);
  assertEquals(text.includes(" 1/10"), true);
  assertEquals(text.includes(" 2/10"), false);
});

Deno.test("ProgressReporter.refresh() keeps a terminal's bar drawn until it ends", async () => {
  const counts = { done: 0, failed: 0, total: 10 };
  const plain = sink(false);
  new ProgressReporter({ sink: plain, intervalMs: 0 }).refresh(counts);
  assertEquals(plain.text(), "");
  const out = sink(true);
  const progress = new ProgressReporter({ sink: out, intervalMs: 0 });
  progress.refresh(counts);
  const first = out.text();
  assertEquals(first.includes(" 0/10"), true, "drawn before any update");
  await new Promise((resolve) => setTimeout(resolve, 120));
  progress.refresh(counts);
  const redrawn = out.text().slice(first.length);
  assertEquals(redrawn.startsWith("\r\x1b[2K"), true);
  assertEquals(redrawn === first, false, "the time moved on");
  progress.clear();
  const cleared = out.text().length;
  progress.refresh(counts);
  assertEquals(out.text().slice(cleared).includes(" 0/10"), true, "redrawn");
  progress.finish(counts);
  const finished = out.text().length;
  progress.refresh(counts);
  assertEquals(out.text().length, finished);
  const stopped = sink(true);
  const ended = new ProgressReporter({ sink: stopped, intervalMs: 0 });
  ended.update(counts);
  ended.endLine();
  const left = stopped.text().length;
  ended.refresh(counts);
  ended.update(counts);
  assertEquals(stopped.text().length, left);
});

Deno.test("ProgressReporter.endLine() ends a bar left mid-line, once", () => {
  const out = sink(true);
  const progress = new ProgressReporter({ sink: out, intervalMs: 1e9 });
  progress.endLine();
  assertEquals(out.text(), "");
  progress.update({ done: 1, failed: 0, total: 10 });
  progress.endLine();
  progress.endLine();
  assertEquals(out.text().endsWith("s\n"), true);
  assertEquals(out.text().split("\n").length, 2);
  progress.finish({ done: 10, failed: 0, total: 10 });
  progress.endLine();
  assertEquals(out.text().split("\n").length, 3);

  const plain = sink(false);
  const lines = new ProgressReporter({ sink: plain });
  lines.update({ done: 1, failed: 0, total: 10 });
  lines.endLine();
  assertEquals(plain.text().endsWith("s\n"), true);
  assertEquals(plain.text().split("\n").length, 2);
});

Deno.test("ProgressReporter does not fail the run when its sink is closed", () => {
  let tries = 0;
  const closed: ProgressSink = {
    writeSync() {
      tries++;
      throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
    },
    isTerminal: () => false,
  };
  const progress = new ProgressReporter({ sink: closed });
  for (let done = 0; done <= 10; done++) {
    progress.update({ done, failed: 0, total: 10 });
  }
  progress.finish({ done: 10, failed: 0, total: 10 });
  assertEquals(tries > 0, true);
});
