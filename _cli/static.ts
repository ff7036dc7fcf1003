/**
 * The static file handler behind `aio serve http --dir PATH`.
 *
 * No request can reach outside the directory: `..` and `.` segments (also
 * percent-encoded), encoded slashes and backslashes, NUL bytes, and symlinks
 * that resolve outside it (an `index.html` too) are all refused, and only
 * regular files are served.
 *
 * @module
 */

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  gif: "image/gif",
  htm: "text/html; charset=utf-8",
  html: "text/html; charset=utf-8",
  ico: "image/x-icon",
  jpeg: "image/jpeg",
  jpg: "image/jpeg",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  jsonl: "application/jsonl",
  md: "text/markdown; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  pdf: "application/pdf",
  png: "image/png",
  svg: "image/svg+xml",
  ts: "text/plain; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  wasm: "application/wasm",
  webp: "image/webp",
  xml: "application/xml",
};

function contentType(path: string): string {
  const dot = path.lastIndexOf(".");
  const ext = dot === -1 ? "" : path.slice(dot + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

function text(
  status: number,
  body: string,
  headers?: Record<string, string>,
): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Splits a URL path into decoded segments, or returns undefined when a
 * segment could step outside the root or is not a plain file name.
 */
export function safeSegments(pathname: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (
      segment === "." || segment === ".." || /[\/\\\0]/.test(segment)
    ) {
      return undefined;
    }
    segments.push(segment);
  }
  return segments;
}

function isInside(root: string, path: string): boolean {
  return path === root ||
    path.startsWith(root.endsWith("/") ? root : root + "/");
}

async function listing(dir: string, urlPath: string): Promise<Response> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    names.push(entry.isDirectory ? entry.name + "/" : entry.name);
  }
  names.sort();
  const base = urlPath.endsWith("/") ? urlPath : urlPath + "/";
  const items = names.map((name) =>
    `<li><a href="${
      escapeHtml(
        base + encodeURIComponent(name.replace(/\/$/, "")) +
          (name.endsWith("/") ? "/" : ""),
      )
    }">${escapeHtml(name)}</a></li>`
  ).join("\n");
  return new Response(
    `<!doctype html>\n<title>${escapeHtml(urlPath)}</title>\n<h1>${
      escapeHtml(urlPath)
    }</h1>\n<ul>\n${items}\n</ul>\n`,
    { headers: { "content-type": "text/html; charset=utf-8" } },
  );
}

/** The answer to a filesystem error: 403 for a denied read, else 404. */
function refusal(error: unknown): Response {
  if (
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable
  ) {
    return text(403, "Forbidden");
  }
  // NotFound, FilesystemLoop, NotADirectory and the like all mean there is
  // no file to serve at this path, as does a name too long for the file
  // system (a plain Error with its code); anything else is a bug to report.
  if (
    !Object.values(Deno.errors).some((kind) => error instanceof kind) &&
    (error as { code?: unknown } | null)?.code !== "ENAMETOOLONG"
  ) {
    throw error;
  }
  return text(404, "Not Found");
}

/**
 * A handler serving the files under `root` (resolved once, symlinks
 * followed). GET and HEAD only; directories serve `index.html` or a listing.
 *
 * Only regular files are served, an `index.html` included: a directory,
 * FIFO, socket or device at the requested path answers 404, so that no
 * request blocks on a special file. Paths resolving outside `root` answer
 * 403; a missing path or a filesystem error on the way (a symlink loop, a
 * file used as a directory) answers 404, and a denied read answers 403.
 *
 * A `root` reached through a link keeps serving the directory it named at
 * start. When the process may read only the link's path and not the real one
 * (`--allow-read=<link>`), files are read through the link: re-pointing it
 * then answers 403 until the server restarts.
 */
export async function staticFiles(
  root: string,
): Promise<(request: Request) => Promise<Response>> {
  const realRoot = await Deno.realPath(root);
  if (!(await Deno.stat(root)).isDirectory) {
    throw new TypeError(`Cannot serve "${root}": it is not a directory`);
  }
  // Files are checked and read by their real paths, so that nothing changes
  // between the check and the read when the root link is re-pointed. Deno
  // checks `--allow-read=<root>` against the path as given, though, and it
  // does not cover the real path of a root reached through a link: then the
  // files are read by paths under `root` as given. A read denied on a path
  // as given (`--deny-read=<root>/private`) is honoured either way: 403.
  const { state } = await Deno.permissions.query({
    name: "read",
    path: realRoot,
  });
  const given = root.replace(/\/+$/, "") || "/";
  const under = (base: string, real: string) =>
    real === realRoot ? base : (base === "/" ? "" : base) +
      (realRoot === "/" ? real : real.slice(realRoot.length));
  const base = state === "granted" ? realRoot : given;
  const local = (real: string) => under(base, real);
  // Reading through `given`, Deno applies its denies itself.
  const denied = base === given
    ? () => false
    : (real: string) =>
      Deno.permissions.querySync({ name: "read", path: under(given, real) })
        .state !== "granted";
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Method Not Allowed", { allow: "GET, HEAD" });
    }
    let pathname: string;
    try {
      ({ pathname } = new URL(request.url));
    } catch {
      // Deno builds the URL from the Host header, which may be malformed.
      return text(400, "Bad Request");
    }
    const segments = safeSegments(pathname);
    if (!segments) return text(403, "Forbidden");
    try {
      let path = await Deno.realPath([base, ...segments].join("/"));
      if (!isInside(realRoot, path) || denied(path)) {
        return text(403, "Forbidden");
      }
      let info = await Deno.stat(local(path));
      // "/notes.txt/" names a directory that is not there.
      if (!info.isDirectory && pathname.endsWith("/")) {
        return text(404, "Not Found");
      }
      if (info.isDirectory) {
        // Rebuilt from the checked segments: echoing the raw pathname would
        // turn "//host" into a protocol-relative redirect to another host.
        const dirPath = "/" +
          segments.map((segment) => `${encodeURIComponent(segment)}/`).join("");
        if (!pathname.endsWith("/")) {
          return new Response(null, {
            status: 301,
            headers: { location: dirPath },
          });
        }
        let index: string;
        try {
          index = await Deno.realPath(`${local(path)}/index.html`);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
          return await listing(local(path), dirPath);
        }
        if (!isInside(realRoot, index) || denied(index)) {
          return text(403, "Forbidden");
        }
        path = index;
        info = await Deno.stat(local(path));
      }
      if (!info.isFile) return text(404, "Not Found");
      const { mtime } = info;
      if (mtime !== null && notModified(request, mtime)) {
        return new Response(null, {
          status: 304,
          headers: { "last-modified": mtime.toUTCString() },
        });
      }
      const headers = {
        "content-type": contentType(path),
        "content-length": String(info.size),
        ...(mtime === null ? {} : { "last-modified": mtime.toUTCString() }),
      };
      if (request.method === "HEAD") return new Response(null, { headers });
      const file = await Deno.open(local(path));
      return new Response(file.readable, { headers });
    } catch (error) {
      return refusal(error);
    }
  };
}

/**
 * Whether the client's copy, dated by `If-Modified-Since`, is as new as a
 * file last modified at `mtime` (HTTP dates count whole seconds).
 */
function notModified(request: Request, mtime: Date): boolean {
  const since = Date.parse(request.headers.get("if-modified-since") ?? "");
  return Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}
