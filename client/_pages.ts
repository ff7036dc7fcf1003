/**
 * The pagination loop behind `paginate()` and `Client.paginate()`. Private to
 * `client/`.
 *
 * @module
 */

import {
  badNumber,
  checkObject,
  escapeInvisible,
  excerpt,
  show,
} from "../_show.ts";

import { limitBody, readJson } from "./_body.ts";
import {
  type Attempt,
  DEFAULT_POLICY,
  discard,
  resolvePolicy,
  type Sender,
} from "./_send.ts";
import { PaginationCycleError } from "./errors.ts";
import {
  type Link,
  type NextPage,
  type Page,
  type PaginateOptions,
  parseLinkHeader,
} from "./paginate.ts";

const WHERE = "Cannot paginate";
/** The most characters of a next URL that a message quotes. */
const MAX_URL_CHARS = 200;

/**
 * Checks the options at once, then returns the generator that fetches the
 * pages through `sender`.
 *
 * @throws {TypeError} If `start` is not a valid URL or `next`/`parse` has the
 * wrong type.
 * @throws {RangeError} If `maxPages` is not a positive integer or `Infinity`.
 */
export function pages<T>(
  sender: Sender,
  start: string | URL,
  options: PaginateOptions<T> = {},
): AsyncGenerator<Page<T>, void, undefined> {
  checkObject(options, WHERE);
  const { next, parse, maxPages = Infinity, ...requestOptions } = options;
  if (
    maxPages !== Infinity && !(Number.isInteger(maxPages) && maxPages > 0)
  ) {
    throw badNumber(
      WHERE,
      "maxPages",
      "a positive integer or Infinity",
      maxPages,
    );
  }
  checkNext(next, WHERE);
  if (parse !== undefined && typeof parse !== "function") {
    throw new TypeError(
      `${WHERE}: "parse" must be a function, received ${show(parse)}`,
    );
  }
  // The request options too, now rather than at the first page.
  resolvePolicy(requestOptions, WHERE, DEFAULT_POLICY);
  return run(
    sender,
    firstUrl(sender, start),
    next,
    parse,
    maxPages,
    requestOptions,
  );
}

/**
 * Throws a `TypeError` unless `next` is left out, a JSON field path or a
 * function; `where` starts the message.
 */
export function checkNext(next: unknown, where: string): void {
  if (
    next !== undefined && typeof next !== "string" &&
    typeof next !== "function"
  ) {
    throw new TypeError(
      `${where}: "next" must be a JSON field path or a function, received ${
        show(next)
      }`,
    );
  }
}

/** `start` as an absolute URL, or a TypeError naming it. */
function firstUrl(sender: Sender, start: string | URL): string {
  let cause: unknown;
  if (typeof start === "string" || start instanceof URL) {
    try {
      return sender.url(start);
    } catch (error) {
      cause = error;
    }
  }
  throw new TypeError(
    `${WHERE}: "start" must be a valid URL (relative ones need a client's baseUrl), received ${
      show(start)
    }`,
    { cause },
  );
}

async function* run<T>(
  sender: Sender,
  first: string,
  next: NextPage<T> | undefined,
  parse: ((response: Response) => T | Promise<T>) | undefined,
  maxPages: number,
  requestOptions: PaginateOptions<T>,
): AsyncGenerator<Page<T>, void, undefined> {
  // Keyed without the fragment, which is never sent: "/a#x" is page "/a".
  const visited = new Set<string>();
  let url = first;
  for (let number = 1;; number++) {
    visited.add(withoutFragment(url));
    const requested = url;
    const page = await sender.call(
      url,
      requestOptions,
      async (response: Response, attempt: Attempt): Promise<Page<T>> => {
        let data: T;
        if (parse === undefined) {
          data = await readJson(response, attempt) as T;
        } else {
          // A body cut off while the parser reads it is a NetworkError naming
          // the URL, retried like one, as it is for the default parser.
          const mapped = limitBody(response, attempt);
          try {
            data = await parse(mapped);
          } catch (error) {
            throw attempt.signal?.aborted ? attempt.fail(error) : error;
          }
          // A parser that looked at the headers only leaves the body open.
          if (!mapped.bodyUsed) await discard(mapped);
        }
        const { status, headers } = response;
        return {
          url: response.url || requested,
          number,
          status,
          headers,
          data,
        };
      },
    );
    // A next URL that redirects to a page already fetched: a cycle, found
    // before the page is handed out a second time.
    const landed = withoutFragment(page.url);
    if (landed !== withoutFragment(requested) && visited.has(landed)) {
      throw new PaginationCycleError(
        `${WHERE}: page ${
          number - 1
        } links to "${requested}", which redirects to "${page.url}", already fetched`,
        { url: page.url, page: number - 1 },
      );
    }
    visited.add(landed);
    yield page;
    if (number >= maxPages) return;
    const following = await nextUrl(next, page);
    if (following === undefined) return;
    if (visited.has(withoutFragment(following))) {
      throw new PaginationCycleError(
        `${WHERE}: page ${number} links back to "${following}", which was already fetched`,
        { url: following, page: number },
      );
    }
    url = following;
  }
}

/**
 * The URL of the page after `page`, as `next` finds it (see
 * {@linkcode pages}), or `undefined` when it names none.
 *
 * @throws {TypeError} For a next URL that is invalid or not http(s).
 */
export async function nextUrl<T>(
  next: NextPage<T> | undefined,
  page: Page<T>,
  where = WHERE,
): Promise<string | undefined> {
  let found: unknown;
  if (next === undefined) {
    found = parseLinkHeader(page.headers.get("link"), page.url)
      .find((link) => link.rel.includes("next") && isAbout(link, page.url))
      ?.url;
  } else if (typeof next === "string") {
    found = field(page.data, next);
    if (found !== undefined && found !== null && typeof found !== "string") {
      throw new TypeError(
        `${where}: field "${next}" of page ${page.number} must hold a URL, received ${
          show(found)
        }`,
      );
    }
  } else {
    found = await next(page);
    if (
      found !== undefined && found !== null && typeof found !== "string" &&
      !(found instanceof URL)
    ) {
      throw new TypeError(
        `${where}: "next" must return a URL, a string, null or undefined for page ${page.number}, received ${
          show(found)
        }`,
      );
    }
  }
  if (found === undefined || found === null || found === "") return undefined;
  let url: URL;
  try {
    url = new URL(found as string | URL, page.url);
  } catch {
    // Quoted from the server's page: cut, and nothing that acts on a
    // terminal or hides in a log.
    throw new TypeError(
      `${where}: page ${page.number} names an invalid next URL "${
        escapeInvisible(excerpt(String(found), MAX_URL_CHARS))
      }"`,
    );
  }
  // A server must not make the client read local files (`file:`) or
  // invent pages (`data:`).
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `${where}: page ${page.number} names a next URL that is not http(s): "${
        excerpt(url.href, MAX_URL_CHARS)
      }"`,
    );
  }
  return url.href;
}

/**
 * Whether a link's context is the page: an `anchor` parameter (RFC 8288)
 * makes it a link of another resource, e.g. that resource's next page.
 */
function isAbout(link: Link, pageUrl: string): boolean {
  const anchor = link.params.anchor;
  if (anchor === undefined) return true;
  try {
    return withoutFragment(new URL(anchor, pageUrl).href) ===
      withoutFragment(pageUrl);
  } catch {
    return false;
  }
}

function withoutFragment(url: string): string {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

/** `data` at a dotted path of own properties ("links.next", "pages.0"). */
function field(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
