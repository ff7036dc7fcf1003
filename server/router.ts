/**
 * Routing HTTP requests by method and `URLPattern` to handlers, with 404,
 * 405 and HEAD answered the way HTTP expects.
 *
 * @module
 */

import { checkObject, HTTP_TOKEN, show } from "../_show.ts";
import type { HttpContext, HttpHandler } from "./http.ts";
import type { SureNames } from "./_pattern_params.ts";
import { PathMatcher } from "./_path_matcher.ts";
import { textResponse } from "./_text_response.ts";

/**
 * The path parameters of a matched route: the pattern's named groups (`:id`)
 * and, under `"0"`, `"1"`, ..., its wildcards (`*`), percent-decoded.
 *
 * Decoded means that `%2F` becomes `/` and `%00` a NUL: `/files/..%2Fetc`
 * matches `/files/:name` with `name` = `"../etc"`. Check a parameter before
 * using it as a file name or a path (the `aio serve http --dir` file server
 * refuses such paths).
 *
 * @example A named parameter and a wildcard, percent-decoded
 * ```ts
 * import { type RouteParams, router } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * using app = createFetchHandler(router([{
 *   pattern: "/files/:owner/*",
 *   handler: (_request, _context, params: RouteParams) =>
 *     Response.json(params),
 * }]));
 *
 * const response = await app.fetch(
 *   new Request("http://localhost/files/Ada%20L/docs/notes.txt"),
 * );
 * assertEquals(await response.json(), { owner: "Ada L", 0: "docs/notes.txt" });
 * ```
 */
export type RouteParams = Record<string, string>;

/**
 * The parameters a pattern string always captures, as `string` properties:
 * the route's handler can use `params.id` of `"/users/:id"` without a check.
 * {@linkcode router} gives each route's handler this type, inferred from the
 * route's literal `pattern`. Every other key (a wildcard's `"0"`, an optional
 * `:name?` or `:name*`, a non-ASCII name, every name of a pattern with a
 * `{...}` group) keeps the type of {@linkcode RouteParams}, as do the names
 * of a pattern typed only as `string` or as a template with `${string}`
 * parts, a `URLPattern` object, and for a union of patterns every name that
 * is not sure in all of them.
 *
 * @typeParam Pattern The route's pattern.
 *
 * @example What a pattern's handler can rely on
 * ```ts
 * import { type PatternParams, router } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * // `id` and `size` are strings; `format` may be missing.
 * type ImageParams = PatternParams<"/images/:id/:size(\\d+).:format?">;
 * const describe = ({ id, size, format = "png" }: ImageParams) =>
 *   `${id.toUpperCase()} at ${Number(size)} px as ${format}`;
 *
 * using app = createFetchHandler(router([{
 *   pattern: "/images/:id/:size(\\d+).:format?",
 *   // The same type, inferred from the pattern.
 *   handler: (_request, _context, params) => new Response(describe(params)),
 * }]));
 * const response = await app.fetch(new Request("http://localhost/images/ab/64.webp"));
 * assertEquals(await response.text(), "AB at 64 px as webp");
 * ```
 */
export type PatternParams<Pattern> = [Pattern] extends [string]
  // `string`, or a template with `${string}` parts: no name is sure.
  ? Record<never, never> extends Record<Pattern, unknown> ? RouteParams
  : { readonly [Name in SureNames<Pattern>]: string } & RouteParams
  : RouteParams;

/**
 * Answers a request that matched a route.
 *
 * @typeParam Params The parameters' type: {@linkcode RouteParams}, or for a
 * route given to {@linkcode router} with a literal pattern, its
 * {@linkcode PatternParams}.
 * @param request The request.
 * @param context The request's signal, client address and start time.
 * @param params The decoded path parameters of the route's pattern.
 * @returns The response.
 *
 * @example Handlers that share a parameter
 * ```ts
 * import { type RouteHandler, router } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const notes = new Map<string, string>();
 * const putNote: RouteHandler = async (request, _context, { name = "" }) => {
 *   notes.set(name, await request.text());
 *   return new Response(null, { status: 204 });
 * };
 * const getNote: RouteHandler = (_request, _context, { name = "" }) =>
 *   new Response(notes.get(name) ?? "no such note", {
 *     status: notes.has(name) ? 200 : 404,
 *   });
 *
 * using app = createFetchHandler(router([
 *   { method: "PUT", pattern: "/notes/:name", handler: putNote },
 *   { method: "GET", pattern: "/notes/:name", handler: getNote },
 * ]));
 * const url = "http://localhost/notes/todo";
 * const put = new Request(url, { method: "PUT", body: "milk" });
 * assertEquals((await app.fetch(put)).status, 204);
 * assertEquals(await (await app.fetch(new Request(url))).text(), "milk");
 * ```
 */
export type RouteHandler<Params extends RouteParams = RouteParams> = (
  request: Request,
  context: HttpContext,
  params: Params,
) => Response | Promise<Response>;

/**
 * One route of a {@linkcode router}.
 *
 * @typeParam Pattern Its pattern's type: a literal types the handler's
 * params (see {@linkcode PatternParams}).
 *
 * @example Methods, a URLPattern, and a route for every method
 * ```ts
 * import { type Route, router } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const routes: Route[] = [{
 *   method: ["GET", "POST"],
 *   pattern: "/items",
 *   handler: (request) => new Response(`${request.method} items`),
 * }, {
 *   method: "GET",
 *   pattern: new URLPattern({ pathname: "/v:version(\\d+)/*" }),
 *   handler: (_request, _context, { version }) => new Response(`v${version}`),
 * }, {
 *   pattern: "/any", // no method: every method
 *   handler: (request) => new Response(`any ${request.method}`),
 * }];
 *
 * using app = createFetchHandler(router(routes));
 * const answer = async (method: string, path: string) => {
 *   const request = new Request(`http://localhost${path}`, { method });
 *   const response = await app.fetch(request);
 *   return [response.status, await response.text()];
 * };
 * assertEquals(await answer("POST", "/items"), [200, "POST items"]);
 * assertEquals((await answer("DELETE", "/items"))[0], 405);
 * assertEquals(await answer("GET", "/v2/health"), [200, "v2"]);
 * assertEquals(await answer("PATCH", "/any"), [200, "any PATCH"]);
 * ```
 */
export interface Route<
  Pattern extends string | URLPattern = string | URLPattern,
> {
  /**
   * The method(s) the route answers; a `"GET"` route answers `HEAD` too.
   * Omitted, it answers every method. Names are upper-cased here, and a
   * request's method must then match exactly, as HTTP methods are
   * case-sensitive: `fetch` upper-cases only `DELETE`, `GET`, `HEAD`,
   * `OPTIONS`, `POST` and `PUT`, so `{ method: "patch" }` in a client sends
   * `patch`, which a `"PATCH"` route answers with 405.
   *
   * @default {undefined}
   */
  method?: string | readonly string[] | undefined;
  /**
   * A `URLPattern` pathname such as `"/users/:id"` or `"/files/*"`, or a
   * `URLPattern`, which may also match the host, search, etc.
   */
  pattern: Pattern;
  /** Answers the requests the route matches, with its pattern's parameters. */
  handler: RouteHandler<PatternParams<Pattern>>;
}

/**
 * Options of {@linkcode router}.
 *
 * @example A JSON answer for unknown paths
 * ```ts
 * import { router, type RouterOptions } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * const options: RouterOptions = {
 *   notFound: (request) =>
 *     Response.json({ error: `no ${new URL(request.url).pathname}` }, {
 *       status: 404,
 *     }),
 * };
 * using app = createFetchHandler(router([
 *   { method: "GET", pattern: "/", handler: () => new Response("home") },
 * ], options));
 *
 * const response = await app.fetch(new Request("http://localhost/nope"));
 * assertEquals(response.status, 404);
 * assertEquals(await response.json(), { error: "no /nope" });
 * ```
 */
export interface RouterOptions {
  /**
   * Answers requests that no route's pattern matches.
   *
   * @default {a plain 404}
   */
  notFound?: HttpHandler | undefined;
}

/** A path segment that is one `:name` parameter. */
const PARAM = /^:[A-Za-z_$][\w$]*$/;

/** A pathname pattern that is only text, `:name` groups and `*` wildcards. */
const SIMPLE_PATTERN =
  /^(?:[^:*(){}?+\\]|:[A-Za-z_$][\w$]*(?![\w$(?+*])|\*(?![?+*]))*$/;

/**
 * Builds an {@linkcode HttpHandler} that sends each request to the first
 * route whose method and pattern match it, with its path parameters.
 *
 * - No pattern matches: 404 (or `notFound`).
 * - A pattern matches but no route for it has the request's method: 405
 *   with an `Allow` header listing the methods that would be answered.
 * - `HEAD` is answered by a `GET` route (Deno sends no body for `HEAD`).
 * - A path with invalid percent-encoding (`/%ZZ`, `/users/%E0%A4%A`): 400,
 *   whether a route matches it or not.
 *
 * Patterns are compiled once: literal paths are found in a map, and
 * `:name` / `*` patterns are indexed by their first path segment, so a
 * request is tested against the few routes that can match it, not against
 * all of them; they match in time linear in the path's length, also with
 * several parameters in one segment (`/:from-:to`), where a backtracking
 * regular expression takes seconds for one long hostile path. Other
 * `URLPattern` syntax (regexp groups, modifiers, host or search parts,
 * Unicode parameter names), and patterns given as `URLPattern` objects
 * (which may carry options such as `ignoreCase`), are matched with
 * `URLPattern` itself (about 0.8 µs per route tried), which backtracks:
 * keep such patterns to one parameter per segment. Matching follows
 * `URLPattern` semantics throughout (case sensitive, no trailing-slash
 * folding, dot segments resolved).
 *
 * @typeParam Patterns The routes' patterns, inferred: each literal one types
 * its handler's params (see {@linkcode PatternParams}).
 * @param routes The routes, tried in order.
 * @param options A handler for unmatched requests.
 * @returns A handler for {@linkcode serveHttp} or
 * {@linkcode createFetchHandler}.
 * @throws {TypeError} If `routes` is not an array, `options` not an object
 * or `notFound` not a function; if a route has a method that is not an HTTP
 * token, no handler, an invalid pattern, or a pattern string that does not
 * start with `/`.
 *
 * @example Two routes and what the router answers
 * ```ts
 * import { router } from "@aio/aio/server/router";
 * import { createFetchHandler } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * using app = createFetchHandler(router([
 *   { method: "GET", pattern: "/", handler: () => new Response("home") },
 *   {
 *     method: "GET",
 *     pattern: "/users/:id",
 *     handler: (_request, _context, { id }) => new Response(`user ${id}`),
 *   },
 * ]));
 * const get = (path: string, method = "GET") =>
 *   app.fetch(new Request(`http://localhost${path}`, { method }));
 *
 * assertEquals(await (await get("/users/42")).text(), "user 42");
 * assertEquals((await get("/missing")).status, 404);
 * const wrongMethod = await get("/users/42", "DELETE");
 * assertEquals(wrongMethod.status, 405);
 * assertEquals(wrongMethod.headers.get("allow"), "GET, HEAD");
 * ```
 *
 * @example Serving it
 * ```ts
 * import { router } from "@aio/aio/server/router";
 * import { serveHttp } from "@aio/aio/server/http";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = serveHttp(router([{
 *   method: "POST",
 *   pattern: "/echo",
 *   handler: async (request) => new Response(await request.text()),
 * }]));
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/echo`, {
 *   method: "POST",
 *   body: "hi",
 * });
 * assertEquals(await response.text(), "hi");
 * ```
 */
export function router<
  const Patterns extends readonly (string | URLPattern)[],
>(
  routes: { readonly [Index in keyof Patterns]: Route<Patterns[Index]> },
  options: RouterOptions = {},
): HttpHandler {
  checkObject(options, "Cannot route");
  const { notFound = defaultNotFound } = options;
  if (!Array.isArray(routes)) {
    throw new TypeError(
      `Cannot route: "routes" must be an array, received ${show(routes)}`,
    );
  }
  if (typeof notFound !== "function") {
    throw new TypeError(
      `Cannot route: "notFound" must be a function, received ${show(notFound)}`,
    );
  }
  const table = new RouteTable(
    routes.map((route, index) => new CompiledRoute(route, index)),
  );
  return (request, context) => {
    const { url, method } = request;
    let path = canonicalPath(url);
    if (path === undefined) {
      try {
        path = new URL(url).pathname;
      } catch {
        return textResponse(400, "Bad Request\n");
      }
    }
    // Checked once for the whole path, so the parameters decode safely.
    if (path.includes("%") && !decodable(path)) return invalidPath();
    let allowed: Set<string> | undefined;
    const candidates = table.candidates(path);
    for (let i = 0; i < candidates.length; i++) {
      const route = candidates[i]!;
      const params = route.match(path, url);
      if (params === undefined) continue;
      const { methods } = route;
      if (
        methods === undefined || methods.includes(method) ||
        (method === "HEAD" && methods.includes("GET"))
      ) {
        if (params === INVALID) return invalidPath();
        return route.handler(request, context, params);
      }
      allowed ??= new Set();
      for (const allowedMethod of methods) {
        allowed.add(allowedMethod);
        if (allowedMethod === "GET") allowed.add("HEAD");
      }
    }
    if (allowed === undefined) return notFound(request, context);
    return textResponse(405, "Method Not Allowed\n", {
      allow: [...allowed].join(", "),
    });
  };
}

function invalidPath(): Response {
  return textResponse(400, "Bad Request: invalid percent-encoding in path\n");
}

function defaultNotFound(): Response {
  return textResponse(404, "Not Found\n");
}

/**
 * The scheme and host of the last request URL found to parse: requests to
 * one server nearly all share it, and it is checked once.
 */
let parsedOrigin = "";

/**
 * The pathname of an absolute URL string if `new URL()` would leave it as it
 * is, otherwise `undefined`. Canonical means only unreserved and
 * sub-delimiter characters, `:`, `@`, `/`, `%`, and no dot segment (`/.`,
 * `%2e`); and a host of letters, digits, `.`, `-`, `_`, `:`, `[` and `]`
 * only, since a `?`, `#` or `\` ends a URL's host, that `new URL()` takes
 * (Deno builds the URL from the `Host` header, which the client writes:
 * `Host: x?` puts the path of `/admin` in the query, `Host: a:b` makes no
 * URL at all). One loop over the characters, about twice as fast
 * as slicing and testing a regular expression on every request.
 */
function canonicalPath(url: string): string | undefined {
  const host = url.indexOf("//") + 2;
  let start = url.indexOf("/", host);
  if (start < 0) start = url.length;
  if (start !== parsedOrigin.length || !url.startsWith(parsedOrigin)) {
    for (let i = host; i < start; i++) {
      const c = url.charCodeAt(i);
      if (
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ||
        (c >= 48 && c <= 58) ||
        c === 46 || c === 45 || c === 95 || c === 91 || c === 93 // . - _ [ ]
      ) continue;
      return undefined;
    }
    // A port out of range, a broken IPv6 address or IDN label, an IPv4
    // address past 255: for `new URL()` to refuse.
    if (!URL.canParse(url)) return undefined;
    parsedOrigin = url.slice(0, start);
  }
  if (start === url.length) return "/";
  let i = start;
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)
    ) continue;
    switch (c) {
      case 63: // "?"
      case 35: // "#"
        return url.slice(start, i);
      case 47: // "/"
        if (url.charCodeAt(i + 1) === 46) return undefined; // "/."
        continue;
      case 37: // "%"
        if (
          url.charCodeAt(i + 1) === 50 &&
          (url.charCodeAt(i + 2) | 32) === 101 // "%2e" or "%2E"
        ) return undefined;
        continue;
      case 45: // "-"
      case 46: // "."
      case 95: // "_"
      case 126: // "~"
      case 33: // "!"
      case 36: // "$"
      case 38: // "&"
      case 39: // "'"
      case 40: // "("
      case 41: // ")"
      case 42: // "*"
      case 43: // "+"
      case 44: // ","
      case 59: // ";"
      case 61: // "="
      case 58: // ":"
      case 64: // "@"
        continue;
      default:
        return undefined;
    }
  }
  return url.slice(start, i);
}

/** The first segment of a pathname: `"users"` for `"/users/42"`. */
function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end < 0 ? path.slice(1) : path.slice(1, end);
}

/** Whether every `%` escape of `path` is valid percent-encoded UTF-8. */
function decodable(path: string): boolean {
  try {
    decodeURI(path);
    return true;
  } catch {
    return false;
  }
}

/** What `match` returns for a parameter with invalid percent-encoding. */
const INVALID: RouteParams = {};

/**
 * Copies the defined groups to a fresh object, percent-decoded; `INVALID`
 * if one cannot be decoded. The path was checked to be
 * {@linkcode decodable}, yet a pattern's own regular expression may cut an
 * escape in two (`:a([^/]{4})` on `/caf%C3%A9`).
 */
function decoded(
  names: readonly string[],
  values: ArrayLike<string | undefined>,
): RouteParams {
  const params: RouteParams = {};
  for (let i = 0; i < names.length; i++) {
    let value = values[i];
    if (value === undefined) continue;
    if (value.includes("%")) {
      try {
        value = decodeURIComponent(value);
      } catch {
        return INVALID;
      }
    }
    const name = names[i]!;
    // An own property even where `__proto__` is still Object.prototype's
    // setter (`--unstable-unsafe-proto`, other runtimes).
    if (name === "__proto__") {
      Object.defineProperty(params, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      params[name] = value;
    }
  }
  return params;
}

/**
 * A route ready to match. `kind` says how the table finds it: by its exact
 * (canonical) path, by its literal first segment, or for every path.
 */
class CompiledRoute {
  /** Registration order: among routes that match, the first one wins. */
  readonly index: number;
  /** Upper-case methods, `undefined` for every method. */
  readonly methods: string[] | undefined;
  readonly handler: RouteHandler;
  readonly kind: "path" | "segment" | "any";
  /** The path or first segment the table files the route under. */
  readonly key: string;
  /** For `/a/:b` patterns: each segment's text, `undefined` for a parameter. */
  #segments: (string | undefined)[] | undefined;
  /** For other `:name` / `*` patterns. */
  #matcher: PathMatcher | undefined;
  #names: readonly string[] = [];
  #pattern: URLPattern | undefined;

  constructor(route: Route, index: number) {
    const { method, pattern, handler } = route ?? {} as Partial<Route>;
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot route: route ${index} must have a "handler" function, received ${
          show(handler)
        }`,
      );
    }
    this.index = index;
    this.handler = handler;
    if (isList(method) && method.length === 0) {
      throw new TypeError(
        `Cannot route: route ${index} has an empty "method" list (leave it out to match every method)`,
      );
    }
    if (method !== undefined) {
      this.methods = (isList(method) ? method : [method]).map(
        (name) => {
          if (typeof name !== "string" || !HTTP_TOKEN.test(name)) {
            throw new TypeError(
              `Cannot route: route ${index} has an invalid "method", received ${
                show(name)
              }`,
            );
          }
          return name.toUpperCase();
        },
      );
    }
    const urlPattern = toURLPattern(pattern, index);
    const path = urlPattern.pathname;
    const onlyPath = [
      urlPattern.protocol,
      urlPattern.username,
      urlPattern.password,
      urlPattern.hostname,
      urlPattern.port,
      urlPattern.search,
      urlPattern.hash,
    ].every((part) => part === "*");
    // Our own matching covers plain path strings with ASCII parameter names;
    // a URLPattern given as such may carry options (`ignoreCase`) that only
    // it applies, and a Unicode name is beyond the parameter syntax here.
    if (
      pattern instanceof URLPattern || !onlyPath ||
      !SIMPLE_PATTERN.test(path) || /[\u0080-\uffff]/.test(path)
    ) {
      this.kind = "any";
      this.key = "";
      this.#pattern = urlPattern;
    } else if (!/[:*]/.test(path)) {
      this.kind = "path";
      this.key = path;
    } else {
      const segments = path.slice(1).split("/");
      if (
        segments.every((segment) =>
          !/[:*]/.test(segment) || PARAM.test(segment)
        )
      ) {
        // Whole-segment parameters only: matched without a regular expression.
        this.#segments = segments.map((segment) =>
          PARAM.test(segment) ? undefined : segment
        );
        this.#names = segments.filter((segment) => PARAM.test(segment))
          .map((segment) => segment.slice(1));
      } else {
        this.#matcher = new PathMatcher(path);
        this.#names = this.#matcher.names;
      }
      const first = segments[0]!;
      this.kind = /[:*]/.test(first) ? "any" : "segment";
      this.key = first;
    }
  }

  /**
   * The decoded parameters if the route matches (`INVALID` if one cannot be
   * decoded), otherwise `undefined`. `path` is the canonical pathname.
   */
  match(path: string, url: string): RouteParams | undefined {
    if (this.#segments !== undefined) return this.#matchSegments(path);
    if (this.#matcher !== undefined) {
      const values = this.#matcher.match(path);
      return values === undefined ? undefined : decoded(this.#names, values);
    }
    if (this.#pattern !== undefined) {
      const groups = this.#pattern.exec(url)?.pathname.groups;
      if (groups === undefined) return undefined;
      const names = Object.keys(groups);
      return decoded(names, names.map((name) => groups[name]));
    }
    return {};
  }
  /** `match` for `#segments`: `[^/]+` per parameter, the text as is. */
  #matchSegments(path: string): RouteParams | undefined {
    const segments = this.#segments!;
    let values: string[] | undefined;
    let at = 0;
    for (let i = 0; i < segments.length; i++) {
      if (path.charCodeAt(at) !== 47) return undefined; // "/"
      at++;
      const text = segments[i];
      if (text === undefined) {
        let end = path.indexOf("/", at);
        if (end < 0) end = path.length;
        if (end === at) return undefined;
        (values ??= []).push(path.slice(at, end));
        at = end;
      } else {
        if (!path.startsWith(text, at)) return undefined;
        at += text.length;
      }
    }
    return at === path.length ? decoded(this.#names, values ?? []) : undefined;
  }
}

function toURLPattern(pattern: unknown, index: number): URLPattern {
  if (pattern instanceof URLPattern) return pattern;
  if (typeof pattern !== "string") {
    throw new TypeError(
      `Cannot route: route ${index} "pattern" must be a string or a URLPattern, received ${
        show(pattern)
      }`,
    );
  }
  if (!pattern.startsWith("/")) {
    throw new TypeError(
      `Cannot route: route ${index} pattern must start with "/", received ${
        JSON.stringify(pattern)
      }`,
    );
  }
  try {
    return new URLPattern({ pathname: pattern });
  } catch (error) {
    throw new TypeError(
      `Cannot route: route ${index} has an invalid pattern ${
        JSON.stringify(pattern)
      }`,
      { cause: error },
    );
  }
}

/** The routes filed under one first path segment. */
interface Bucket {
  /** Candidates for each literal path starting with the segment. */
  exact: Map<string, CompiledRoute[]> | undefined;
  /** Candidates for any other path starting with the segment. */
  routes: CompiledRoute[];
}

/**
 * Which routes can match a path, in registration order: one map lookup by
 * first segment, and one more by path when literal routes share it.
 */
class RouteTable {
  #buckets = new Map<string, Bucket>();
  #any: CompiledRoute[];

  constructor(routes: CompiledRoute[]) {
    const any = routes.filter((route) => route.kind === "any");
    const ordered = (...lists: CompiledRoute[][]) =>
      lists.flat().sort((a, b) => a.index - b.index);
    const segmentOf = (route: CompiledRoute) =>
      route.kind === "path" ? firstSegment(route.key) : route.key;
    const filed = routes.filter((route) => route.kind !== "any");
    for (const segment of new Set(filed.map(segmentOf))) {
      const dynamic = filed.filter((route) =>
        route.kind === "segment" && route.key === segment
      );
      let exact: Map<string, CompiledRoute[]> | undefined;
      for (const route of filed) {
        if (route.kind !== "path" || segmentOf(route) !== segment) continue;
        exact ??= new Map();
        if (exact.has(route.key)) continue;
        const same = filed.filter((other) =>
          other.kind === "path" && other.key === route.key
        );
        exact.set(route.key, ordered(same, dynamic, any));
      }
      this.#buckets.set(segment, { exact, routes: ordered(dynamic, any) });
    }
    this.#any = any;
  }

  candidates(path: string): CompiledRoute[] {
    const bucket = this.#buckets.get(firstSegment(path));
    if (bucket === undefined) return this.#any;
    return bucket.exact?.get(path) ?? bucket.routes;
  }
}

/** `Array.isArray`, which does not narrow a `readonly` array type. */
function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}
