/**
 * Limiter micro-benchmark: what one operation of the FIFO semaphore behind
 * `Client`'s limits costs while 0, 1,000 or 20,000 callers wait in its queue,
 * either all on one `AbortSignal` (a gather's, a client's, a shared timeout
 * scope's) or each on its own.
 *
 * - `acquire + release`: a newcomer joins the queue and a release hands the
 *   slot to the oldest waiter, so the queue keeps its length;
 * - `abort, per waiter`: then every waiter gives up (one abort of the shared
 *   signal, or one abort per signal), divided by the number of waiters.
 *
 * In-process, after a warmup round; median of 5 rounds (min–max). Both costs
 * should stay flat as the queue grows; aborting a signal per waiter costs
 * what `AbortController.abort()` itself does.
 *
 * Run: `flock /tmp/aio-bench.lock deno task bench limiter`.
 *
 * @module
 */

import { Limiter } from "../client/_limiter.ts";
import { markdownTable, summary } from "./_util.ts";

const QUEUED = [0, 1_000, 20_000];
const OPERATIONS = 5_000;
const ROUNDS = 5;

function ignore(): void {}

/** Lets the queued promise jobs run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** One round: µs per acquire + release, then µs per aborted waiter. */
async function round(
  queued: number,
  shared: boolean,
): Promise<{ handOff: number; abort: number }> {
  const limiter = new Limiter(1);
  await limiter.acquire();
  const controllers: AbortController[] = [];
  const signalFor = () => {
    if (!shared || controllers.length === 0) {
      controllers.push(new AbortController());
    }
    return controllers.at(-1)!.signal;
  };
  for (let i = 0; i < queued; i++) limiter.acquire(signalFor()).catch(ignore);
  await drain();

  let start = performance.now();
  for (let i = 0; i < OPERATIONS; i++) {
    limiter.acquire(signalFor()).catch(ignore);
    limiter.release();
  }
  await drain();
  const handOff = (performance.now() - start) * 1000 / OPERATIONS;
  if (limiter.waiting !== queued) throw new Error("Cannot bench: queue moved");

  start = performance.now();
  for (const controller of controllers) controller.abort();
  await drain();
  const abort = queued === 0
    ? NaN
    : (performance.now() - start) * 1000 / queued;
  if (limiter.waiting !== 0) throw new Error("Cannot bench: waiters left");
  limiter.release();
  return { handOff, abort };
}

// Warm the code paths up, so that the first row is not charged for it.
for (const shared of [true, false]) await round(1_000, shared);
const rows: string[][] = [];
for (const shared of [true, false]) {
  for (const queued of QUEUED) {
    const runs = [];
    for (let i = 0; i < ROUNDS; i++) runs.push(await round(queued, shared));
    const abort = runs.map((r) => r.abort);
    rows.push([
      queued.toLocaleString("en-US"),
      shared ? "one for all" : "one each",
      summary(runs.map((r) => r.handOff), 2),
      queued === 0 ? "–" : summary(abort, 2),
    ]);
  }
}
console.log(
  `Limiter(1), ${OPERATIONS.toLocaleString("en-US")} hand-offs per round, ` +
    `median of ${ROUNDS} rounds:\n`,
);
console.log(markdownTable(
  ["waiters queued", "signal", "µs per acquire + release", "µs per abort"],
  rows,
));
