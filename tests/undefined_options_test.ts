import { assertEquals } from "@std/assert";
import { Client } from "../client/client.ts";
import { gather, mapConcurrent } from "../client/gather.ts";
import { fetchText } from "../client/request.ts";
import { TaskGroup } from "../client/task_group.ts";
import { wait } from "../client/wait.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import { readLines } from "../fs/lines.ts";
import { makeTempDir } from "../fs/temp.ts";
import { echo } from "../server/echo.ts";
import { serveHttp } from "../server/http.ts";
import { serveTcp } from "../server/tcp.ts";

// Options read from elsewhere are often `T | undefined`: under
// exactOptionalPropertyTypes (which deno.json turns on) this file compiles
// only if every option takes `undefined`, and each call must then behave as
// if the option were left out.
const maybe = <T>(value?: T): T | undefined => value;

Deno.test({
  name: "options given as undefined are the defaults",
  permissions: { net: ["127.0.0.1"], read: ["/tmp"], write: ["/tmp"] },
  async fn() {
    const signal = maybe<AbortSignal>();
    await using server = serveHttp(() => new Response("hi"), {
      signal,
      port: maybe<number>(),
      requestTimeout: maybe<number>(),
      onListen: maybe<(addr: Deno.NetAddr) => void>(),
      onError: maybe<() => void>(),
      cert: maybe<string>(),
      key: maybe<string>(),
    });
    const url = `http://127.0.0.1:${server.addr.port}/`;
    assertEquals(
      await fetchText(url, {
        signal,
        timeout: maybe<number>(),
        retry: maybe(),
        headers: maybe<HeadersInit>(),
        method: maybe<string>(),
      }),
      "hi",
    );
    await using client = new Client({
      baseUrl: maybe<string>(),
      concurrency: maybe<number>(),
    });
    assertEquals(await client.text(url, { signal }), "hi");
    // settle: undefined is fail-fast: plain values.
    const values: number[] = await gather([() => 1], {
      signal,
      concurrency: maybe<number>(),
      settle: maybe<false>(),
    });
    assertEquals(values, [1]);
    assertEquals(
      await Array.fromAsync(
        mapConcurrent([1, 2], (n) => n * 2, { signal, ordered: maybe() }),
      ),
      [2, 4],
    );
    assertEquals(
      (await wait([() => 1], { signal, timeout: maybe<number>() })).done.length,
      1,
    );
    await using group = new TaskGroup({ signal });
    assertEquals(await group.spawn(() => "task"), "task");
    await using tcp = serveTcp(echo, {
      signal,
      maxConnections: maybe<number>(),
      onError: maybe<() => void>(),
    });
    using conn = await Deno.connect({ port: tcp.addr.port });
    await conn.write(new TextEncoder().encode("x"));
    assertEquals(await conn.read(new Uint8Array(1)), 1);
    await using dir = await makeTempDir({ dir: maybe<string>() });
    await writeFileAtomic(`${dir.path}/a`, "line\n", {
      mode: maybe<number>(),
      signal,
    });
    assertEquals(
      await Array.fromAsync(
        readLines(`${dir.path}/a`, { maxLineLength: maybe<number>() }),
      ),
      ["line"],
    );
  },
});
