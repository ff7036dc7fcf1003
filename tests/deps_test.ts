import { assertEquals } from "@std/assert";
import { ROOT } from "./_deno.ts";

Deno.test({
  name: "the library's jsr:@std specifiers ask for deno.json's versions",
  permissions: { read: ["."] },
  async fn() {
    const { imports } = JSON.parse(
      await Deno.readTextFile(`${ROOT}deno.json`),
    ) as { imports: Record<string, string> };
    const found: string[] = [];
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
        const path = `${dir}${entry.name}`;
        if (entry.isDirectory && !/^(?:\.|bench|examples|tests)/.test(path)) {
          await walk(`${path}/`);
        } else if (entry.name.endsWith(".ts")) {
          const text = await Deno.readTextFile(`${ROOT}${path}`);
          for (
            const [, name, range] of text.matchAll(
              /"jsr:(@std\/[a-z]+)@([^/"]+)/g,
            )
          ) {
            found.push(`${path}: ${name}@${range}`);
            assertEquals(
              `jsr:${name}@${range}`,
              imports[name!],
              `${path} asks for another version of ${name} than deno.json`,
            );
          }
        }
      }
    };
    await walk("");
    // The check ran over the library's own imports.
    assertEquals(found.length >= 7, true, found.join("\n"));
  },
});
