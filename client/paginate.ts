/**
 * Chained requests, where each response names the next URL (the seed's
 * `fetch_data(next_url)` loop): {@linkcode paginate} follows `Link: <...>;
 * rel="next"` headers, a JSON field, or a function of the page, and stops at
 * the last page, at `maxPages`, or with a {@linkcode PaginationCycleError} at
 * a URL it has already fetched. {@linkcode parseLinkHeader} reads `Link`
 * headers on its own.
 *
 * @example Following a "next" field through an API
 * ```ts
 * import { paginate } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
 *     return Response.json({
 *       items: [page * 10, page * 10 + 1],
 *       next: page < 3 ? `/items?page=${page + 1}` : null,
 *     });
 *   },
 * );
 * const items: number[] = [];
 * for await (
 *   const page of paginate<{ items: number[] }>(
 *     `http://127.0.0.1:${server.addr.port}/items`,
 *     { next: "next" },
 *   )
 * ) {
 *   items.push(...page.data.items);
 * }
 * assertEquals(items, [10, 11, 20, 21, 30, 31]);
 * ```
 *
 * @module
 */

import { show } from "../_show.ts";
import { checkNext, nextUrl, pages } from "./_pages.ts";
import { DEFAULT_SENDER } from "./_send.ts";
import type { RequestOptions } from "./request.ts";

// Referenced by the docs.
// deno-lint-ignore no-unused-vars
import type { PaginationCycleError, ParseError } from "./errors.ts";

/**
 * One page of a {@linkcode paginate} run.
 *
 * @example Reading each page's number, URL, status, headers and data
 * ```ts
 * import { type Page, paginate } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
 *     const headers = new Headers({ "x-total": "2" });
 *     if (page < 2) headers.set("link", `</log?page=${page + 1}>; rel="next"`);
 *     return Response.json({ lines: [`line ${page}`] }, { headers });
 *   },
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * const pages: Page<{ lines: string[] }>[] = await Array.fromAsync(
 *   paginate<{ lines: string[] }>(`${base}/log`),
 * );
 * assertEquals(
 *   pages.map((page) => [page.number, page.url, page.status]),
 *   [[1, `${base}/log`, 200], [2, `${base}/log?page=2`, 200]],
 * );
 * assertEquals(pages[1]!.headers.get("x-total"), "2");
 * assertEquals(pages[1]!.data, { lines: ["line 2"] });
 * ```
 */
export interface Page<T> {
  /** The URL the page came from, after redirects. */
  url: string;
  /** The 1-based number of the page. */
  number: number;
  /** The response status. */
  status: number;
  /** The response headers (the `Link` header among them). */
  headers: Headers;
  /** The parsed body. */
  data: T;
}

/**
 * How {@linkcode paginate} finds the next page's URL: a dotted JSON field path
 * into `page.data` (`"next"`, `"links.next.href"`, `"pages.0"`), or a
 * function of the page. A relative URL is resolved against the page's URL;
 * `null`, `undefined` or `""` means there is no next page.
 *
 * @example Building the next URL from a cursor in the body
 * ```ts
 * import { type NextPage, paginate } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * type Body = { items: string[]; cursor: string | null };
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const cursor = new URL(req.url).searchParams.get("cursor");
 *     const body: Body = cursor === null
 *       ? { items: ["a", "b"], cursor: "x7" }
 *       : { items: [`after ${cursor}`], cursor: null };
 *     return Response.json(body);
 *   },
 * );
 * // Relative to the page's URL: "?cursor=x7" keeps the path.
 * const next: NextPage<Body> = (page) =>
 *   page.data.cursor === null ? null : `?cursor=${page.data.cursor}`;
 * const items: string[] = [];
 * const start = `http://127.0.0.1:${server.addr.port}/items`;
 * for await (const page of paginate<Body>(start, { next })) {
 *   items.push(...page.data.items);
 * }
 * assertEquals(items, ["a", "b", "after x7"]);
 * ```
 */
export type NextPage<T> =
  | string
  | ((
    page: Page<T>,
  ) =>
    | string
    | URL
    | null
    | undefined
    | Promise<string | URL | null | undefined>);

/**
 * Options of {@linkcode paginate}: request options apply to every page.
 *
 * @example Plain-text pages, a header on every request, at most three pages
 * ```ts
 * import { paginate, type PaginateOptions } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     if (req.headers.get("authorization") !== "Bearer t0k3n") {
 *       return new Response(null, { status: 401 });
 *     }
 *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
 *     // The server links to a next page forever.
 *     return new Response(`row ${page}a\nrow ${page}b`, {
 *       headers: { link: `<?page=${page + 1}>; rel="next"` },
 *     });
 *   },
 * );
 * const options: PaginateOptions<string[]> = {
 *   headers: { authorization: "Bearer t0k3n" },
 *   timeout: 5_000,
 *   parse: async (response) => (await response.text()).split("\n"),
 *   maxPages: 3,
 * };
 * const rows: string[] = [];
 * const start = `http://127.0.0.1:${server.addr.port}/rows`;
 * for await (const page of paginate(start, options)) rows.push(...page.data);
 * assertEquals(rows, ["row 1a", "row 1b", "row 2a", "row 2b", "row 3a", "row 3b"]);
 * ```
 */
export interface PaginateOptions<T> extends RequestOptions {
  /**
   * Where the next URL comes from. Left out, it is the `Link` header's
   * `rel="next"` target (a link whose `anchor` names another resource is
   * that resource's, and is skipped).
   *
   * @default {undefined}
   */
  next?: NextPage<T> | undefined;
  /**
   * Turns a response into the page's `data`; it runs within the request's
   * timeout and retries. A body cut off while it reads is a `NetworkError`
   * naming the URL, retried like a failed request.
   *
   * @default {(response) => response.json()}, failing with a ParseError
   */
  parse?: ((response: Response) => T | Promise<T>) | undefined;
  /**
   * The most pages to fetch; the run stops quietly after this many. It also
   * bounds memory: the run keeps every URL it fetched, to see cycles.
   *
   * @default {Infinity}
   */
  maxPages?: number | undefined;
}

/**
 * One link of a `Link` header, from {@linkcode parseLinkHeader}.
 *
 * @example Finding the last page's link on the first page
 * ```ts
 * import { type Link, paginate, parseLinkHeader } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () =>
 *     Response.json([], {
 *       headers: { link: '</items?page=2>; rel="next", </items?page=9>; REL=last; Title="End"' },
 *     }),
 * );
 * const base = `http://127.0.0.1:${server.addr.port}`;
 * let last: Link | undefined;
 * for await (const page of paginate(`${base}/items`, { maxPages: 1 })) {
 *   const links = parseLinkHeader(page.headers.get("link"), page.url);
 *   last = links.find((link) => link.rel.includes("last"));
 * }
 * assertEquals(last, {
 *   url: `${base}/items?page=9`,
 *   rel: ["last"],
 *   params: { rel: "last", title: "End" },
 * });
 * ```
 */
export interface Link {
  /** The target, resolved against the base URL when one was given. */
  url: string;
  /** The relation types of `rel`, in lower case (`rel="next last"` gives two). */
  rel: string[];
  /** Every parameter, names in lower case, quotes and escapes removed. */
  params: Record<string, string>;
}

/**
 * Fetches `start`, then each next page in turn, yielding the pages as they
 * come. Each page is a request of its own with the given options (timeout,
 * retry, headers, ...); `signal` ends the whole run. Leaving the loop stops
 * it too; a `return()` called while a `next()` still waits for its page
 * (a read raced against a timer) takes effect once that page's request
 * ends, within its `timeout`: to stop that request at once, abort `signal`.
 *
 * Needs `--allow-net` for each host it calls (e.g.
 * `--allow-net=api.example.com:443`), the hosts of next pages included.
 *
 * @typeParam T The parsed body of each page.
 * @param start The first page's absolute URL.
 * @param options How to find the next page and parse each one, `maxPages`,
 * and {@linkcode RequestOptions} for every request.
 * @returns An async iterator of the pages.
 * @throws {PaginationCycleError} When a page's next URL was already fetched
 * (the fragment aside); the pages before it have been yielded.
 * @throws {TypeError} If `start` is not a valid URL, an option has the wrong
 * type, or the JSON field `next` names holds something other than a string.
 * @throws {RangeError} If `maxPages` is not a positive integer or `Infinity`,
 * or a request option (`timeout`, `retry`) is out of range.
 * @throws {ParseError} If a page is not JSON (with the default `parse`).
 * @throws {unknown} What `request()` throws for a page, or `signal.reason`.
 *
 * @example Following Link headers, at most two pages
 * ```ts
 * import { paginate } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
 *     return Response.json([page], {
 *       headers: { link: `</list?page=${page + 1}>; rel="next"` },
 *     });
 *   },
 * );
 * const seen: number[][] = [];
 * for await (
 *   const page of paginate<number[]>(`http://127.0.0.1:${server.addr.port}/list`, {
 *     maxPages: 2,
 *   })
 * ) {
 *   seen.push(page.data);
 * }
 * assertEquals(seen, [[1], [2]]);
 * ```
 */
export function paginate<T = unknown>(
  start: string | URL,
  options?: PaginateOptions<T>,
): AsyncGenerator<Page<T>, void, undefined> {
  return pages(DEFAULT_SENDER, start, options);
}

/**
 * The URL of the page after `page`, found as {@linkcode paginate} finds it:
 * with `next` as its option of that name, or without, the `Link` header's
 * `rel="next"` target. For code that keeps a page: to tell a run cut by
 * `maxPages` from one that reached the last page, or to resume later.
 *
 * @typeParam T The type of the page's `data`.
 * @param page A page that {@linkcode paginate} yielded.
 * @param next A JSON field path or a function, as `paginate`'s `next`.
 * @returns The next page's absolute URL, or `undefined` when `page` names
 * none.
 * @throws {TypeError} If `page` is not a page or `next` neither a string
 * nor a function; if the URL found (from a JSON field or `next`) is invalid
 * or not `http:`/`https:`, or the JSON field or `next` gives something other
 * than a URL. A malformed `Link` header counts as none.
 * @throws {unknown} What a `next` function throws.
 *
 * @example Telling `maxPages` from the last page
 * ```ts
 * import { nextPageUrl, type Page, paginate } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * await using server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req) => {
 *     const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
 *     const link = page < 3 ? `<?page=${page + 1}>; rel="next"` : "";
 *     return Response.json([page], { headers: { link } });
 *   },
 * );
 * const start = `http://127.0.0.1:${server.addr.port}/items`;
 * let last: Page<unknown> | undefined;
 * for await (const page of paginate(start, { maxPages: 2 })) last = page;
 * assertEquals(await nextPageUrl(last!), `${start}?page=3`);
 *
 * for await (const page of paginate(start)) last = page;
 * assertEquals(await nextPageUrl(last!), undefined);
 * ```
 */
export async function nextPageUrl<T>(
  page: Page<T>,
  next?: NextPage<T>,
): Promise<string | undefined> {
  if (
    typeof page !== "object" || page === null ||
    !(page.headers instanceof Headers) || typeof page.url !== "string"
  ) {
    throw new TypeError(
      `Cannot find the next page: "page" must be a page from paginate(), received ${
        show(page)
      }`,
    );
  }
  const where = "Cannot find the next page";
  checkNext(next, where);
  return await nextUrl(next, page, where);
}

/**
 * Parses a `Link` header (RFC 8288): several comma-separated links, each a
 * `<target>` with `;`-separated parameters whose values may be quoted (and
 * contain commas and semicolons; an unquoted one runs to the next `;` or
 * `,`). A `rel` value is a list split on spaces and tabs. Malformed links
 * (no `<target>`, or text other than a parameter after it) are skipped.
 *
 * @param value The header's value, or `null`.
 * @param base Resolves relative targets (usually the response's URL); without
 * it targets are returned as written.
 * @returns The links, in header order.
 * @throws {TypeError} If `value` is neither a string nor `null`.
 *
 * @example Finding the next page among several links
 * ```ts
 * import { parseLinkHeader } from "@aio/aio/client/paginate";
 * import { assertEquals } from "@std/assert";
 *
 * const links = parseLinkHeader(
 *   '</items?page=1>; rel="prev first"; title="a, b", </items?page=3>; rel=next',
 *   "https://api.example/items?page=2",
 * );
 * assertEquals(links.map((link) => [link.url, link.rel]), [
 *   ["https://api.example/items?page=1", ["prev", "first"]],
 *   ["https://api.example/items?page=3", ["next"]],
 * ]);
 * assertEquals(links[0]!.params.title, "a, b");
 * ```
 */
export function parseLinkHeader(
  value: string | null,
  base?: string | URL,
): Link[] {
  const links: Link[] = [];
  if (value === null) return links;
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot parse Link header: the value must be a string or null, received ${
        show(value)
      }`,
    );
  }
  const length = value.length;
  let i = 0;
  const skipSpace = () => {
    while (i < length && /[ \t]/.test(value[i]!)) i++;
  };
  /** Moves past the next comma outside quotes and angle brackets. */
  const skipLink = () => {
    let quoted = false;
    let bracketed = false;
    for (; i < length; i++) {
      const char = value[i];
      if (quoted) {
        if (char === "\\") i++;
        else if (char === '"') quoted = false;
      } else if (bracketed) {
        if (char === ">") bracketed = false;
      } else if (char === '"') quoted = true;
      else if (char === "<") bracketed = true;
      else if (char === ",") {
        i++;
        return;
      }
    }
  };
  while (i < length) {
    skipSpace();
    if (value[i] === ",") {
      i++;
      continue;
    }
    if (value[i] !== "<") {
      skipLink();
      continue;
    }
    const close = value.indexOf(">", i);
    if (close === -1) break;
    const target = value.slice(i + 1, close).trim();
    i = close + 1;
    const params: Record<string, string> = {};
    let malformed = false;
    while (true) {
      skipSpace();
      if (i >= length || value[i] === ",") break;
      if (value[i] !== ";") {
        malformed = true;
        break;
      }
      i++;
      skipSpace();
      const nameStart = i;
      while (i < length && !/[=;, \t]/.test(value[i]!)) i++;
      const name = value.slice(nameStart, i).toLowerCase();
      skipSpace();
      let paramValue = "";
      if (value[i] === "=") {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          while (i < length && value[i] !== '"') {
            if (value[i] === "\\") i++;
            paramValue += value[i] ?? "";
            i++;
          }
          i++;
        } else {
          // Up to the next ";" or "," (RFC 8288 B.3): `type=text html`.
          const valueStart = i;
          while (i < length && value[i] !== ";" && value[i] !== ",") i++;
          paramValue = value.slice(valueStart, i).replace(/[ \t]+$/, "");
        }
      }
      // RFC 8288 §3: only the first occurrence of a parameter counts.
      if (name && !Object.hasOwn(params, name)) params[name] = paramValue;
    }
    if (malformed) {
      skipLink();
      continue;
    }
    let url = target;
    if (base !== undefined) {
      try {
        url = new URL(target, base).href;
      } catch {
        continue;
      }
    }
    // Split on spaces and tabs only (RFC 8288's RWS), not U+00A0.
    const rel = (params.rel ?? "").toLowerCase().split(/[ \t]+/)
      .filter(Boolean);
    links.push({ url, rel, params });
  }
  return links;
}
