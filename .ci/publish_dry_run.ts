/**
 * `deno publish --dry-run` where JSR is unreachable: serves the offline @std
 * stand-ins (`../shared/std-offline`) as a JSR registry on a loopback port,
 * points `JSR_URL` at it, and runs the dry run, which resolves the package's
 * imports, checks for slow types and lists the files that would be
 * published. Exits with the dry run's exit code.
 *
 * Run from the project root:
 *
 * ```sh
 * deno run --allow-read --allow-write=/tmp --allow-net=127.0.0.1 \
 *   --allow-run=deno --allow-env .ci/publish_dry_run.ts
 * ```
 *
 * The registry serves, per package: `meta.json` (its one version),
 * `<version>_meta.json` (its exports, from the stand-ins' import map, and a
 * manifest of every file with its size and SHA-256, which Deno checks), and
 * the files themselves. A temporary `DENO_DIR` keeps these copies out of the
 * user's cache.
 *
 * @module
 */

const MIRROR = new URL("../../shared/std-offline/", import.meta.url);

interface Package {
  name: string;
  version: string;
  exports: Record<string, string>;
  manifest: Record<string, { size: number; checksum: string }>;
}

/** The packages of the stand-ins, with the versions `deno.json` asks for. */
async function packages(): Promise<Map<string, Package>> {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const map = JSON.parse(
    await Deno.readTextFile(new URL("import_map.json", MIRROR)),
  ).imports as Record<string, string>;
  const found = new Map<string, Package>();
  for (const specifier of Object.values(config.imports as object)) {
    const match = /^jsr:@std\/([a-z-]+)@\^?([\d.]+)$/.exec(specifier);
    if (match === null) {
      throw new Error(`Cannot mirror "${specifier}": not a jsr:@std import`);
    }
    const [, name, version] = match as unknown as [string, string, string];
    const exports: Record<string, string> = {};
    for (const [key, path] of Object.entries(map)) {
      const prefix = `@std/${name}`;
      if (key !== prefix && !key.startsWith(`${prefix}/`)) continue;
      exports[`.${key.slice(prefix.length)}`] = path.replace(
        `./${name}/`,
        "./",
      );
    }
    found.set(name, {
      name,
      version,
      exports,
      manifest: await manifest(new URL(`${name}/`, MIRROR)),
    });
  }
  return found;
}

async function manifest(
  dir: URL,
  prefix = "/",
): Promise<Package["manifest"]> {
  const files: Package["manifest"] = {};
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) {
      Object.assign(files, await manifest(url, `${prefix}${entry.name}/`));
      continue;
    }
    const bytes = await Deno.readFile(url);
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", bytes),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0"));
    files[`${prefix}${entry.name}`] = {
      size: bytes.length,
      checksum: `sha256-${hex.join("")}`,
    };
  }
  return files;
}

function registry(found: Map<string, Package>): Deno.ServeHandler {
  return async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const match = /^\/@std\/([a-z-]+)\/(.+)$/.exec(path);
    const pkg = match ? found.get(match[1]!) : undefined;
    if (match === null || pkg === undefined) {
      return new Response("Not Found\n", { status: 404 });
    }
    const rest = match[2]!;
    if (rest === "meta.json") {
      return Response.json({
        scope: "std",
        name: pkg.name,
        latest: pkg.version,
        versions: { [pkg.version]: {} },
      });
    }
    if (rest === `${pkg.version}_meta.json`) {
      return Response.json({ manifest: pkg.manifest, exports: pkg.exports });
    }
    const file = rest.slice(pkg.version.length);
    if (!rest.startsWith(`${pkg.version}/`) || !(file in pkg.manifest)) {
      return new Response("Not Found\n", { status: 404 });
    }
    const type = file.endsWith(".ts")
      ? "application/typescript"
      : file.endsWith(".json")
      ? "application/json"
      : "application/octet-stream";
    return new Response(
      await Deno.readFile(new URL(`${pkg.name}${file}`, MIRROR)),
      { headers: { "content-type": type } },
    );
  };
}

if (import.meta.main) {
  const found = await packages();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    registry(found),
  );
  const denoDir = await Deno.makeTempDir({ prefix: "aio-publish-" });
  let code = 1;
  try {
    console.log(
      `JSR mirror of ${
        [...found.keys()].join(", ")
      } on http://127.0.0.1:${server.addr.port}/`,
    );
    ({ code } = await new Deno.Command("deno", {
      args: ["publish", "--dry-run", "--allow-dirty"],
      env: {
        JSR_URL: `http://127.0.0.1:${server.addr.port}/`,
        DENO_DIR: denoDir,
        NO_COLOR: "1",
      },
      stdout: "inherit",
      stderr: "inherit",
    }).output());
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
  Deno.exitCode = code;
}
