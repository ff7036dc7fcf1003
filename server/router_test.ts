import { assertEquals, assertThrows } from "@std/assert";
import { createFetchHandler } from "./http.ts";
import {
  type PatternParams,
  type Route,
  type RouteParams,
  router,
} from "./router.ts";
import { serveHttp } from "./http.ts";
import { readResponse } from "./_http_test_util.ts";
import { denoCommand } from "../tests/_deno.ts";

const NET: Deno.PermissionOptionsObject = { net: ["127.0.0.1"] };

/** A route whose response names it and echoes its params as JSON. */
function named(
  name: string,
  pattern: string | URLPattern,
  method?: string | string[],
): Route {
  return {
    method,
    pattern,
    handler: (_request, _context, params) => Response.json({ name, params }),
  };
}

/** Compiles only if `Actual` and `Expected` are the same type. */
type Same<Actual, Expected> = (<T>() => T extends Actual ? 1 : 2) extends
  (<T>() => T extends Expected ? 1 : 2) ? true : false;

/** Compiles only if every type given is `true`. */
function assertTypes<_ extends readonly true[]>(): void {}

/** `Text` twice over. */
type Twice<Text extends string> = `${Text}${Text}`;
/** 4,096 characters of path. */
type Long = Twice<
  Twice<
    Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<"a">>>>>>>>>>
  >
>;

/** The named keys of a params type (its index signature left out). */
type Sure<Params> = keyof {
  [Key in keyof Params as string extends Key ? never : Key]: Params[Key];
};

async function call(
  app: { fetch(request: Request): Response | Promise<Response> },
  url: string,
  method = "GET",
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await app.fetch(new Request(url, { method }));
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

Deno.test({
  name: "router() sends requests to the route their method and path match",
  permissions: {},
  async fn() {
    using app = createFetchHandler(router([
      named("home", "/", "GET"),
      named("user", "/users/:id", "GET"),
      named("create", "/users", "POST"),
      named("file", "/files/*", ["GET", "put"]),
      named("pair", "/pairs/:a-:b/x"),
    ]));
    const check = async (
      method: string,
      path: string,
      name: string,
      params: RouteParams,
    ) => {
      const { status, body } = await call(app, `http://h${path}`, method);
      assertEquals(status, 200, `${method} ${path}`);
      assertEquals(JSON.parse(body), { name, params }, `${method} ${path}`);
    };
    await check("GET", "/", "home", {});
    await check("GET", "/?q=1#frag", "home", {});
    await check("GET", "/users/42", "user", { id: "42" });
    await check("GET", "/users/caf%C3%A9", "user", { id: "café" });
    await check("GET", "/users/a%2Fb", "user", { id: "a/b" });
    await check("POST", "/users", "create", {});
    await check("GET", "/files/a/b.txt", "file", { "0": "a/b.txt" });
    await check("PUT", "/files/", "file", { "0": "" });
    await check("DELETE", "/pairs/1-2/x", "pair", { a: "1", b: "2" });
  },
});

Deno.test({
  name: "router() answers 404, or notFound, when no pattern matches",
  permissions: {},
  async fn() {
    const routes = [named("user", "/users/:id", "GET")];
    using plain = createFetchHandler(router(routes));
    for (const path of ["/users", "/users/", "/users/1/2", "/USERS/1", "/x"]) {
      const { status, body } = await call(plain, `http://h${path}`);
      assertEquals([status, body], [404, "Not Found\n"], path);
    }
    using custom = createFetchHandler(router(routes, {
      notFound: (request) =>
        new Response(`no ${new URL(request.url).pathname}`, { status: 404 }),
    }));
    assertEquals((await call(custom, "http://h/x")).body, "no /x");
  },
});

Deno.test({
  name: "router() answers 405 with Allow for a known path and another method",
  permissions: {},
  async fn() {
    using app = createFetchHandler(router([
      named("get", "/items/:id", "GET"),
      named("delete", "/items/:id", "DELETE"),
      named("post", "/items", "POST"),
    ]));
    const put = await call(app, "http://h/items/1", "PUT");
    assertEquals(put.status, 405);
    assertEquals(put.headers.get("allow"), "GET, HEAD, DELETE");
    assertEquals(put.body, "Method Not Allowed\n");
    const get = await call(app, "http://h/items", "GET");
    assertEquals(get.status, 405);
    assertEquals(get.headers.get("allow"), "POST");
  },
});

Deno.test({
  name: "router() takes readonly routes and method lists",
  permissions: {},
  async fn() {
    const methods = ["GET", "POST"] as const;
    const routes: readonly Route[] = [
      { method: methods, pattern: "/a", handler: () => new Response("a") },
    ];
    using app = createFetchHandler(router(routes));
    assertEquals((await call(app, "http://h/a", "POST")).body, "a");
    assertEquals((await call(app, "http://h/a", "PUT")).status, 405);
  },
});

Deno.test({
  name: "router() answers HEAD with the GET route, without a body",
  permissions: NET,
  async fn() {
    const seen: string[] = [];
    await using server = serveHttp(router([
      {
        method: "GET",
        pattern: "/page",
        handler: (request) => {
          seen.push(request.method);
          return new Response("page body", {
            headers: { "x-page": "1" },
          });
        },
      },
      named("explicit-head-is-later", "/page", "HEAD"),
      named("head-only", "/probe", "HEAD"),
    ]));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const head = await fetch(`${base}/page`, { method: "HEAD" });
    assertEquals(head.status, 200);
    assertEquals(head.headers.get("x-page"), "1");
    assertEquals(head.headers.get("content-length"), "9");
    assertEquals(await head.text(), "");
    assertEquals(seen, ["HEAD"]);
    const probe = await fetch(`${base}/probe`);
    assertEquals(probe.status, 405);
    assertEquals(probe.headers.get("allow"), "HEAD");
    await probe.body?.cancel();
  },
});

Deno.test({
  name: "router() answers 400 to invalid percent-encoding anywhere in the path",
  permissions: NET,
  async fn() {
    let called = 0;
    await using server = serveHttp(router([{
      method: "GET",
      pattern: "/users/:id",
      handler: () => {
        called++;
        return new Response("ok");
      },
    }]));
    const base = `http://127.0.0.1:${server.addr.port}`;
    const paths = ["%E0%A4%A", "%zz", "%", "%C3%28"].flatMap((bad) => [
      `/users/${bad}`, // a parameter
      `/${bad}`, // no route
      `/users/1/${bad}`, // past a route
      `/${bad}/users/1`,
    ]);
    for (const path of paths) {
      const response = await fetch(base + path);
      assertEquals(response.status, 400, path);
      assertEquals(
        await response.text(),
        "Bad Request: invalid percent-encoding in path\n",
      );
    }
    assertEquals(called, 0);
    assertEquals(await (await fetch(`${base}/users/%41`)).text(), "ok");
  },
});

Deno.test({
  name: "router() answers 400 to a parameter whose pattern cuts an escape",
  permissions: {},
  async fn() {
    // A valid path, but the first group takes half of "%C3%A9".
    using app = createFetchHandler(router([{
      method: "GET",
      pattern: "/:a([^/]{4}):b([^/]*)",
      handler: (_request, _context, params) => Response.json(params),
    }]));
    const response = await call(app, "http://h/caf%C3%A9");
    assertEquals(response.status, 400);
    assertEquals(
      response.body,
      "Bad Request: invalid percent-encoding in path\n",
    );
    assertEquals(
      JSON.parse((await call(app, "http://h/abcd%C3%A9")).body),
      { a: "abcd", b: "é" },
    );
  },
});

Deno.test({
  name: "router() tries routes in the order given, whatever their kind",
  permissions: {},
  async fn(t) {
    await t.step("a parameter route before a literal one", async () => {
      using app = createFetchHandler(router([
        named("param", "/users/:id", "GET"),
        named("literal", "/users/me", "GET"),
      ]));
      assertEquals(
        JSON.parse((await call(app, "http://h/users/me")).body).name,
        "param",
      );
    });
    await t.step("a literal route before a parameter one", async () => {
      using app = createFetchHandler(router([
        named("literal", "/users/me", "GET"),
        named("param", "/users/:id", "GET"),
        named("any", "/*", "GET"),
      ]));
      const name = async (path: string) =>
        JSON.parse((await call(app, `http://h${path}`)).body).name;
      assertEquals(await name("/users/me"), "literal");
      assertEquals(await name("/users/you"), "param");
      assertEquals(await name("/other"), "any");
    });
    await t.step("a wildcard route first", async () => {
      using app = createFetchHandler(router([
        named("any", "/*", "POST"),
        named("literal", "/users/me", "GET"),
      ]));
      const post = await call(app, "http://h/users/me", "POST");
      assertEquals(JSON.parse(post.body).name, "any");
      const get = await call(app, "http://h/users/me", "GET");
      assertEquals(JSON.parse(get.body).name, "literal");
      const del = await call(app, "http://h/users/me", "DELETE");
      assertEquals(del.headers.get("allow"), "POST, GET, HEAD");
    });
  },
});

Deno.test({
  name: "router() matches what URLPattern matches",
  permissions: {},
  async fn() {
    const patterns = [
      "/",
      "/a",
      "/a/",
      "/a/:x",
      "/a/:x/b",
      "/a/:x/:y",
      "/a//:x",
      "/a/*",
      "/*.txt",
      "/caf%C3%A9",
      "/café/:x",
      "/:lang/about",
      "/files/:name.:ext",
      "/n/:x(\\d+)",
      "/opt/:x?",
      "/{v1}?/items",
    ];
    const paths = [
      "/",
      "/a",
      "/a/",
      "/A",
      "/a/1",
      "/a/1/",
      "/a/1/b",
      "/a/1/2/b",
      "/a/1/2",
      "/a//2",
      "/a/1//",
      "/b/../a/1",
      "/a/./1",
      "/a/%2e%2e/a",
      "//a",
      "/notes.txt",
      "/dir/notes.txt",
      "/caf%C3%A9",
      "/café",
      "/caf%c3%a9",
      "/café/x y",
      "/en/about",
      "/files/report.final.pdf",
      "/n/12",
      "/n/x",
      "/opt",
      "/opt/1",
      "/items",
      "/v1/items",
      "/a b",
    ];
    const routes = patterns.map((pattern, index) =>
      named(String(index), pattern, "GET")
    );
    const compiled = patterns.map((pathname) => new URLPattern({ pathname }));
    using app = createFetchHandler(router(routes));
    for (const path of paths) {
      const url = `http://h${path}`;
      const expected = compiled.findIndex((pattern) => pattern.test(url));
      const { status, body } = await call(app, url);
      if (expected < 0) {
        assertEquals(status, 404, path);
        continue;
      }
      assertEquals(status, 200, path);
      const { name, params } = JSON.parse(body);
      assertEquals(name, String(expected), path);
      const groups = compiled[expected]!.exec(url)!.pathname.groups;
      const decoded = Object.fromEntries(
        Object.entries(groups).filter(([, value]) => value !== undefined)
          .map(([key, value]) => [key, decodeURIComponent(value!)]),
      );
      assertEquals(params, decoded, path);
    }
  },
});

Deno.test({
  name: "router() canonicalizes raw paths the way URLPattern does",
  permissions: NET,
  async fn() {
    // fetch() and new Request() canonicalize URLs; a raw client does not.
    await using server = serveHttp(router([
      named("user", "/users/:id", "GET"),
      named("quote", "/q/:text", "GET"),
    ]));
    using conn = await Deno.connect({ port: server.addr.port });
    const get = async (path: string) => {
      await conn.write(
        new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`),
      );
      const response = await readResponse(conn);
      return [response?.status, response?.body];
    };
    const user = (id: string) =>
      JSON.stringify({ name: "user", params: { id } });
    assertEquals(await get("/users/7"), [200, user("7")]);
    assertEquals(await get("/x/../users/8"), [200, user("8")]);
    assertEquals(await get("/users/./9"), [200, user("9")]);
    assertEquals(await get("/users/%2e%2E/users/10"), [200, user("10")]);
    assertEquals(await get("/users/a/.."), [404, "Not Found\n"]);
    assertEquals(
      await get('/q/"hi"'),
      [200, JSON.stringify({ name: "quote", params: { text: '"hi"' } })],
    );
  },
});

Deno.test({
  name:
    "router() routes by the path the request's URL has, whatever the Host header holds",
  permissions: NET,
  async fn() {
    await using server = serveHttp(router([
      named("home", "/", "GET"),
      named("admin", "/admin", "GET"),
      named("any", "/:first/admin", "GET"),
    ]));
    using conn = await Deno.connect({ port: server.addr.port });
    const get = async (host: string) => {
      await conn.write(
        new TextEncoder().encode(
          `GET /admin HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        ),
      );
      const response = await readResponse(conn);
      return [response?.status, response?.body];
    };
    const route = (name: string, params = {}) =>
      JSON.stringify({ name, params });
    assertEquals(await get("x"), [200, route("admin")]);
    assertEquals(await get("127.0.0.1:8000"), [200, route("admin")]);
    assertEquals(await get("[::1]:8000"), [200, route("admin")]);
    // Deno hands over "http://x?/admin": a URL whose path is "/", and whose
    // query is "/admin", as a guard reading `new URL(request.url)` sees it.
    assertEquals(await get("x?"), [200, route("home")]);
    assertEquals(await get("x#"), [200, route("home")]);
    assertEquals(await get("127.0.0.1?a"), [200, route("home")]);
    // "\\" ends the host of an http URL too: the path is "/a/admin".
    assertEquals(await get("x\\a"), [200, route("any", { first: "a" })]);
    // Not a URL at all, also from hosts of the usual characters.
    for (
      const host of [
        "x%3F",
        "a:b",
        "a:99999",
        "[::1",
        "::1",
        "xn--",
        "1.2.3.999",
      ]
    ) {
      assertEquals(await get(host), [400, "Bad Request\n"], host);
    }
    // Once more after a good host, which the router remembers.
    assertEquals(await get("x"), [200, route("admin")]);
    assertEquals(await get("a:b"), [400, "Bad Request\n"]);
  },
});

Deno.test({
  name: "router() takes URLPattern objects, host and search parts included",
  permissions: {},
  async fn() {
    using app = createFetchHandler(router([
      named("api", new URLPattern({ hostname: "api.*", pathname: "/:v" })),
      named("search", new URLPattern({ pathname: "/s", search: "q=*" })),
      named("plain", new URLPattern({ pathname: "/:v" })),
    ]));
    const name = async (url: string) => JSON.parse((await call(app, url)).body);
    assertEquals(await name("http://api.example/v2"), {
      name: "api",
      params: { v: "v2" },
    });
    assertEquals(await name("http://www.example/v2"), {
      name: "plain",
      params: { v: "v2" },
    });
    assertEquals((await name("http://h/s?q=deno")).name, "search");
    assertEquals((await name("http://h/s?x=1")).name, "plain");
  },
});

Deno.test({
  name: "router() validates its routes",
  permissions: {},
  fn() {
    const ok = () => new Response();
    assertThrows(
      // @ts-expect-error: not an array
      () => router({}),
      TypeError,
      'Cannot route: "routes" must be an array, received an object',
    );
    assertThrows(
      // @ts-expect-error: no handler
      () => router([{ pattern: "/" }]),
      TypeError,
      'route 0 must have a "handler" function, received undefined',
    );
    assertThrows(
      () =>
        router([{ pattern: "/", handler: ok }, { pattern: "x", handler: ok }]),
      TypeError,
      'route 1 pattern must start with "/", received "x"',
    );
    assertThrows(
      () => router([{ pattern: "/:x(", handler: ok }]),
      TypeError,
      'route 0 has an invalid pattern "/:x("',
    );
    assertThrows(
      () => router([{ pattern: "/", method: "", handler: ok }]),
      TypeError,
      'route 0 has an invalid "method", received ""',
    );
    for (
      const [method, received] of [["bad method", '"bad method"'], [1n, "1n"]]
    ) {
      assertThrows(
        () => router([{ pattern: "/", method: method as string, handler: ok }]),
        TypeError,
        `route 0 has an invalid "method", received ${received}`,
      );
    }
    assertThrows(
      () => router([{ pattern: "/", method: [], handler: ok }]),
      TypeError,
      'route 0 has an empty "method" list',
    );
    assertThrows(
      // @ts-expect-error: not a function
      () => router([], { notFound: 404 }),
      TypeError,
      '"notFound" must be a function, received 404',
    );
    assertThrows(
      // @ts-expect-error: not an object
      () => router([], null),
      TypeError,
      'Cannot route: "options" must be an object, received null',
    );
  },
});

Deno.test({
  name: "router() applies a URLPattern's options and Unicode parameter names",
  permissions: {},
  async fn() {
    using app = createFetchHandler(router([
      named(
        "users",
        new URLPattern({ pathname: "/Users/:id" }, { ignoreCase: true }),
      ),
      named("café", "/p/:café"),
    ]));
    const users = await call(app, "http://localhost/users/7");
    assertEquals(users.status, 200);
    assertEquals(JSON.parse(users.body), {
      name: "users",
      params: { id: "7" },
    });
    const cafe = await call(app, "http://localhost/p/xyz");
    assertEquals(JSON.parse(cafe.body), {
      name: "café",
      params: { café: "xyz" },
    });
  },
});

Deno.test({
  name: "router() types each handler's params from its literal pattern",
  permissions: {},
  async fn() {
    // Names that always match are strings; the rest keep RouteParams' type.
    assertTypes<[
      Same<Sure<PatternParams<"/users/:id">>, "id">,
      Same<Sure<PatternParams<"/a/:from-:to/:rest+">>, "from" | "to" | "rest">,
      Same<
        Sure<PatternParams<"/v:version(\\d+)/:file.:ext">>,
        "version" | "file" | "ext"
      >,
      Same<Sure<PatternParams<"/a/:b?/:c*/:d(\\d+)?/:e">>, "e">,
      Same<Sure<PatternParams<"/a/(x:y)/\\:z/:w">>, "w">,
      Same<Sure<PatternParams<"/a/:b((a)|c)/:d">>, never>,
      Same<Sure<PatternParams<"/a{/:b}?/:c">>, never>,
      Same<Sure<PatternParams<"/:café/:ok">>, "ok">,
      Same<Sure<PatternParams<"/files/*">>, never>,
      Same<PatternParams<string>, RouteParams>,
      // A union: only what every member always captures.
      Same<Sure<PatternParams<"/api/:id/x" | "/api/:id?">>, never>,
      Same<Sure<PatternParams<"/a/:id" | "/b/:other">>, never>,
      Same<Sure<PatternParams<"/a/:id/:x" | "/b/:id">>, "id">,
      // Long patterns compile (a step per character stopped near 1,000).
      Same<Sure<PatternParams<`/${Long}/:z/${Long}:y`>>, "z" | "y">,
      // Template holes may hold anything, a "{" or a "?" included.
      Same<PatternParams<`/a/:id/${string}`>, RouteParams>,
      Same<PatternParams<`${string}/:id`>, RouteParams>,
      Same<Sure<PatternParams<"/z/:id" | `/a/${string}:id/${string}`>>, never>,
      Same<Sure<PatternParams<"/a/:id" | `/x/${number}/:id`>>, never>,
      Same<PatternParams<URLPattern>, RouteParams>,
    ]>();

    const seen: unknown[] = [];
    using app = createFetchHandler(router([
      {
        pattern: "/users/:id/:tab?",
        handler: (_request, _context, params) => {
          // Compiles without a check: `id` is a string.
          seen.push(params.id.toUpperCase());
          // @ts-expect-error `tab` may be missing.
          const tab: string = params.tab;
          seen.push(tab);
          return new Response(null, { status: 204 });
        },
      },
      {
        // A pattern known only as one of two: `id` may be missing.
        pattern: seen.length < 0 ? "/unions/:id/x" : "/unions/:id?",
        handler: (_request, _context, params) => {
          // @ts-expect-error Not sure in both patterns.
          const id: string = params.id;
          seen.push(id);
          return new Response(null, { status: 204 });
        },
      },
      {
        pattern: new URLPattern({ pathname: "/objects/:id" }),
        handler: (_request, _context, params) => {
          // @ts-expect-error A URLPattern object's params are not inferred.
          const id: string = params.id;
          seen.push(id);
          return new Response(null, { status: 204 });
        },
      },
    ]));
    assertEquals((await call(app, "http://h/users/ada/posts")).status, 204);
    // What the types allow for is what happens: `tab` may be missing.
    assertEquals((await call(app, "http://h/users/ada")).status, 204);
    assertEquals((await call(app, "http://h/objects/x")).status, 204);
    assertEquals((await call(app, "http://h/unions")).status, 204);
    assertEquals(seen, ["ADA", "posts", "ADA", undefined, "x", undefined]);

    // Routes typed as Route[] (no literal patterns) are taken as before.
    const routes: Route[] = [named("user", "/users/:id")];
    using plain = createFetchHandler(router(routes));
    assertEquals(JSON.parse((await call(plain, "http://h/users/7")).body), {
      name: "user",
      params: { id: "7" },
    });
  },
});

Deno.test({
  name: "router() gives a :__proto__ parameter as an own property",
  permissions: { run: ["deno"], read: ["../shared/std-offline"] },
  async fn() {
    // Where Object.prototype still has its `__proto__` setter, assigning
    // would set the prototype instead; Deno removes the setter by default.
    const script = `
      import { router } from "./server/router.ts";
      const app = router([{
        pattern: "/p/:__proto__",
        handler: (_r, _c, params) =>
          Response.json({ keys: Object.keys(params), value: params.__proto__ }),
      }]);
      console.log(await (await app(new Request("http://h/p/abc"), {})).text());
    `;
    const { code, stdout, stderr } = await denoCommand("eval", [
      "--unstable-unsafe-proto",
      script,
    ], { stdout: "piped", stderr: "piped" }).output();
    const decoder = new TextDecoder();
    assertEquals(decoder.decode(stderr), "");
    assertEquals(code, 0);
    assertEquals(JSON.parse(decoder.decode(stdout)), {
      keys: ["__proto__"],
      value: "abc",
    });
  },
});
