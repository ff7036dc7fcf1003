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
    using sweep = new IdleSweep(40, connections, (c) => {
      idle.push(c);
      connections.delete(c);
    });
    sweep.wake();
    blockFor(150);
    // Runs after the late sweep: a read that completed during the block.
    setTimeout(() => connection.active = true, 0);
    await sleep(20);
    assertEquals(idle, []);
    // Then idle for real: closed.
    for (let i = 0; i < 50 && idle.length === 0; i++) await sleep(10);
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
    await sleep(30); // a sweep finds the set empty and stops
    connections.add(connection);
    sweep.wake(); // started again
    await sleep(10);
    connections.delete(connection);
    await sleep(30);
  },
});
