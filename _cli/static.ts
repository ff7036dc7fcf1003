/**
 * The static file handler behind `aio serve http --dir PATH`.
 *
 * No request can reach outside the directory: `..` and `.` segments (also
 * percent-encoded), encoded slashes and backslashes, NUL bytes, and symlinks
 * that resolve outside it are all refused.
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

function text(status: number, body: string, headers?: HeadersInit): Response {
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

/**
 * A handler serving the files under `root` (resolved once, symlinks
 * followed). GET and HEAD only; directories serve `index.html` or a listing.
 */
export async function staticFiles(
  root: string,
): Promise<(request: Request) => Promise<Response>> {
  const realRoot = await Deno.realPath(root);
  if (!(await Deno.stat(realRoot)).isDirectory) {
    throw new TypeError(`Cannot serve "${root}": it is not a directory`);
  }
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text(405, "Method Not Allowed", { allow: "GET, HEAD" });
    }
    const { pathname } = new URL(request.url);
    const segments = safeSegments(pathname);
    if (!segments) return text(403, "Forbidden");
    let path: string;
    let info: Deno.FileInfo;
    try {
      path = await Deno.realPath([realRoot, ...segments].join("/"));
      if (!isInside(realRoot, path)) return text(403, "Forbidden");
      info = await Deno.stat(path);
      if (info.isDirectory) {
        if (!pathname.endsWith("/")) {
          return new Response(null, {
            status: 301,
            headers: { location: pathname + "/" },
          });
        }
        try {
          const index = `${path}/index.html`;
          info = await Deno.stat(index);
          path = index;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
          return await listing(path, pathname);
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return text(404, "Not Found");
      if (error instanceof Deno.errors.PermissionDenied) {
        return text(403, "Forbidden");
      }
      throw error;
    }
    const headers = {
      "content-type": contentType(path),
      "content-length": String(info.size),
      ...(info.mtime ? { "last-modified": info.mtime.toUTCString() } : {}),
    };
    if (request.method === "HEAD") return new Response(null, { headers });
    const file = await Deno.open(path);
    return new Response(file.readable, { headers });
  };
}
