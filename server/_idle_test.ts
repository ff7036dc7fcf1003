import { assertEquals } from "@std/assert";
import { IdleSweep, type IdleTracked } from "./_idle.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // A long synchronous task: no read completes meanwhile.
  }
}

Deno.test({
  name:
    "IdleSweep does not close a connection on the sweep that comes after a blocked event loop",
  permissions: {},
  async fn() {
    const connection: IdleTracked = {
      active: false,
      activeAt: performance.now(),
    };
    const connections = new Set([connection]);
    const idle: IdleTracked[] = [];
    // Closed: out of the set, as the server does.
    // 200 ms (a sweep every 25 ms): wide margins for a loaded machine.
    using sweep = new IdleSweep(200, connections, (c) => {
      idle.push(c);
      connections.delete(c);
    });
    sweep.wake();
    blockFor(400);
    // Runs after the late sweep: a read that completed during the block.
    setTimeout(() => connection.active = true, 0);
    await sleep(60); // a close now would be 140 ms early at least
    assertEquals(idle, []);
    // Then idle for real: closed.
    for (let i = 0; i < 200 && idle.length === 0; i++) await sleep(10);
    assertEquals(idle, [connection]);
  },
});

Deno.test({
  name: "IdleSweep stops its timer while there is no connection",
  permissions: {},
  async fn() {
    const connection: IdleTracked = { active: true, activeAt: 0 };
    const connections = new Set([connection]);
    // Not disposed: the op sanitizer fails the test if the timer still runs.
    const sweep = new IdleSweep(40, connections, () => {});
    sweep.wake();
    await sleep(10);
    connections.delete(connection);
    await sleep(100); // a sweep finds the set empty and stops
    connections.add(connection);
    sweep.wake(); // started again
    await sleep(10);
    connections.delete(connection);
    await sleep(100);
  },
});
