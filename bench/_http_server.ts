/**
 * The hello-world servers of `bench/http_bench.ts`, one per mode, on
 * 127.0.0.1 and a free port; prints `port <n>` when ready.
 *
 * - `raw`: `Deno.serve` with a zero-argument handler (Deno's fastest path).
 * - `raw-async`: the same with an `async` handler.
 * - `raw-url`: `Deno.serve` with a handler that reads `request.url`, as any
 *   router must: the floor of routing on Deno.
 * - `serveHttp`: `serveHttp(hello)` with `requestTimeout` and `maxBodySize`
 *   set, access log off.
 * - `serveHttp-async`: the same with an `async` handler, so that every
 *   request goes through the timeout sweep.
 * - `router`: `serveHttp` + `router` with 50 routes; the benchmark requests
 *   `/hello/world`, matched by `/hello/:name`, the last one.
 * - `hono`: Hono's `app.fetch` on `Deno.serve`, one route.
 * - `hono-router`: Hono with the same 50 routes.
 *
 * On SIGUSR1 it prints `cpu <µs>`, its user + system CPU time so far (all
 * threads; the benchmark may not read `/proc` without `--allow-all`).
 *
 * @module
 */

import process from "node:process";
import { Hono } from "npm:hono@4";
import { hello } from "../server/hello.ts";
import { serveHttp } from "../server/http.ts";
import { type Route, router } from "../server/router.ts";

const mode = Deno.args[0];
const onListen = ({ port }: Deno.NetAddr) => console.log(`port ${port}`);
const options = { requestTimeout: 30_000, maxBodySize: 1 << 20, onListen };
const text = "Hello, world!";

/** 25 literal routes, 24 with a parameter, then `/hello/:name`. */
function fiftyRoutes(): { method: string; path: string; text: string }[] {
  const routes = [];
  for (let i = 0; i < 25; i++) {
    routes.push({
      method: "GET",
      path: `/static/page-${i}`,
      text: `page ${i}`,
    });
  }
  for (let i = 0; i < 24; i++) {
    routes.push({
      method: i % 2 ? "POST" : "GET",
      path: `/api/v${i}/items/:id`,
      text: `item ${i}`,
    });
  }
  routes.push({ method: "GET", path: "/hello/:name", text });
  return routes;
}

Deno.addSignalListener("SIGUSR1", () => {
  const { user, system } = process.cpuUsage();
  console.log(`cpu ${user + system}`);
});

switch (mode) {
  case "raw":
    Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen },
      () => new Response(text),
    );
    break;
  case "raw-async":
    Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen },
      // deno-lint-ignore require-await
      async () => new Response(text),
    );
    break;
  case "raw-url":
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen }, (request) => {
      if (request.url === "") throw new Error("unreachable");
      return new Response(text);
    });
    break;
  case "serveHttp":
    serveHttp(hello, options);
    break;
  case "serveHttp-async":
    // deno-lint-ignore require-await
    serveHttp(async () => new Response(text), options);
    break;
  case "router": {
    const routes: Route[] = fiftyRoutes().map((route) => ({
      method: route.method,
      pattern: route.path,
      handler: () => new Response(route.text),
    }));
    serveHttp(router(routes), options);
    break;
  }
  case "hono":
  case "hono-router": {
    const app = new Hono();
    const routes = mode === "hono"
      ? [{ method: "GET", path: "/", text }]
      : fiftyRoutes();
    for (const route of routes) {
      app.on(route.method, route.path, (c) => c.text(route.text));
    }
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen }, app.fetch);
    break;
  }
  default:
    console.error(`Cannot start: unknown mode "${mode}"`);
    Deno.exit(2);
}
