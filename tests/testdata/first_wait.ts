/**
 * Run by `tests/first_timer_test.ts` in a fresh process (`deno run`): in a
 * `Deno.serve` handler, `wait()`'s timeout is the process's first timer
 * call, which runs pending jobs before it returns; one of them aborts the
 * signal. `wait()` must reject at once, not wait out its timeout. Prints
 * what the handler saw.
 *
 * @module
 */

import { TaskHandle } from "../../client/task_group.ts";
import { wait } from "../../client/wait.ts";

const never = new TaskHandle(() => new Promise<void>(() => {}));
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  async () => {
    const controller = new AbortController();
    queueMicrotask(() => controller.abort(new Error("stop")));
    try {
      await wait([never], { timeout: 60_000, signal: controller.signal });
      return new Response("waited");
    } catch (error) {
      return new Response(`aborted: ${(error as Error).message}`);
    }
  },
);
const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
console.log(await response.text());
never.abort();
await server.shutdown();
