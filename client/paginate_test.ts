import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  httpResponse,
  rawServer,
  serveLoopback as serve,
} from "../tests/_loopback.ts";
import {
  HttpError,
  NetworkError,
  PaginationCycleError,
  ParseError,
} from "./errors.ts";
import {
  nextPageUrl,
  type Page,
  paginate,
  parseLinkHeader,
} from "./paginate.ts";

const NET = { net: ["127.0.0.1"] };

async function collect<T>(pages: AsyncIterable<Page<T>>): Promise<Page<T>[]> {
  const all: Page<T>[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

function pageOf(req: Request): number {
  return Number(new URL(req.url).searchParams.get("page") ?? 1);
}

Deno.test("paginate() follows Link headers to the last page", {
  permissions: NET,
}, async () => {
  const seen: string[] = [];
  await using server = serve((req) => {
    seen.push(req.headers.get("authorization") ?? "");
    const page = pageOf(req);
    const links = [`</items?page=1>; rel="first"`];
    if (page < 4) links.push(`<?page=${page + 1}>; rel="next"`);
    return Response.json({ page }, { headers: { link: links.join(", ") } });
  });
  const pages = await collect(
    paginate<{ page: number }>(server.url("/items"), {
      headers: { authorization: "Bearer t" },
    }),
  );
  assertEquals(pages.map((page) => page.data.page), [1, 2, 3, 4]);
  assertEquals(pages.map((page) => page.number), [1, 2, 3, 4]);
  assertEquals(pages[1]!.url, server.url("/items?page=2"));
  assertEquals(pages[1]!.status, 200);
  assertEquals(seen, Array(4).fill("Bearer t"), "options apply to every page");
});

Deno.test(
  "paginate() resolves relative links against the URL after redirects",
  {
    permissions: NET,
  },
  async () => {
    await using server = serve((req) => {
      const { pathname } = new URL(req.url);
      if (pathname === "/old/list") {
        return Response.redirect(server.url("/v2/list"), 301);
      }
      if (pathname === "/v2/list") {
        return Response.json("first", {
          headers: { link: '<more>; rel="next"' },
        });
      }
      return Response.json(pathname);
    });
    const pages = await collect(paginate(server.url("/old/list")));
    assertEquals(pages.map((page) => page.data), ["first", "/v2/more"]);
    assertEquals(pages[0]!.url, server.url("/v2/list"));
  },
);

Deno.test(
  "paginate() picks rel=next among several links with quoted parameters",
  {
    permissions: NET,
  },
  async () => {
    await using server = serve((req) => {
      const page = pageOf(req);
      const link = page === 1
        ? '</p?page=9>; rel="last"; title="Last, final; page", ' +
          '</p?page=2>; title="a \\"quoted\\" title"; REL="Next Related"'
        : "";
      return Response.json(page, { headers: link ? { link } : {} });
    });
    const pages = await collect(paginate<number>(server.url("/p")));
    assertEquals(pages.map((page) => page.data), [1, 2]);
  },
);

Deno.test("paginate() follows a JSON field path", {
  permissions: NET,
}, async (t) => {
  await using server = serve((req) => {
    const page = pageOf(req);
    return Response.json({
      items: [page],
      links: {
        next: page === 1
          ? `${server.origin}/api?page=2` // absolute
          : page === 2
          ? "/api?page=3" // relative
          : null,
      },
      broken: 42,
    });
  });
  await t.step(
    "nested field, absolute and relative URLs, null ends",
    async () => {
      const pages = await collect(
        paginate<{ items: number[] }>(server.url("/api"), {
          next: "links.next",
        }),
      );
      assertEquals(pages.map((page) => page.data.items[0]), [1, 2, 3]);
    },
  );
  await t.step("a missing field ends", async () => {
    const pages = await collect(
      paginate(server.url("/api"), { next: "nope.next" }),
    );
    assertEquals(pages.length, 1);
  });
  await t.step("a field that is not a string is a TypeError", async () => {
    await assertRejects(
      () => collect(paginate(server.url("/api"), { next: "broken" })),
      TypeError,
      'field "broken" of page 1 must hold a URL, received 42',
    );
  });
});

Deno.test("paginate() takes a function that finds the next URL", {
  permissions: NET,
}, async () => {
  await using server = serve((req) => Response.json({ page: pageOf(req) }));
  const pages = await collect(
    paginate<{ page: number }>(server.url("/f"), {
      next: async (page) => {
        await Promise.resolve();
        return page.data.page < 3
          ? new URL(`/f?page=${page.data.page + 1}`, page.url)
          : undefined;
      },
    }),
  );
  assertEquals(pages.map((page) => page.data.page), [1, 2, 3]);
});

Deno.test("paginate() stops after maxPages", {
  permissions: NET,
}, async () => {
  let requests = 0;
  await using server = serve((req) => {
    requests++;
    return Response.json(pageOf(req), {
      headers: { link: `</?page=${pageOf(req) + 1}>; rel=next` },
    });
  });
  const pages = await collect(paginate(server.url(), { maxPages: 3 }));
  assertEquals(pages.map((page) => page.data), [1, 2, 3]);
  assertEquals(requests, 3);
});

Deno.test(
  "paginate() fails with a PaginationCycleError naming the repeated URL",
  {
    permissions: NET,
  },
  async (t) => {
    await t.step("a link back to an earlier page", async () => {
      await using server = serve((req) => {
        const page = pageOf(req);
        return Response.json(page, {
          headers: { link: `</c?page=${page === 3 ? 1 : page + 1}>; rel=next` },
        });
      });
      const seen: unknown[] = [];
      const error = await assertRejects(async () => {
        for await (const page of paginate(server.url("/c?page=1"))) {
          seen.push(page.data);
        }
      }, PaginationCycleError);
      assertEquals(seen, [1, 2, 3]);
      assertEquals(error.url, server.url("/c?page=1"));
      assertEquals(error.page, 3);
      assertStringIncludes(
        error.message,
        `page 3 links back to "${
          server.url("/c?page=1")
        }", which was already fetched`,
      );
    });
    await t.step("a page that links to itself", async () => {
      await using server = serve(() =>
        Response.json("same", { headers: { link: "<>; rel=next" } })
      );
      await assertRejects(
        () => collect(paginate(server.url("/self"))),
        PaginationCycleError,
      );
    });
    await t.step("a link to a URL reached through a redirect", async () => {
      await using server = serve((req) => {
        const { pathname } = new URL(req.url);
        if (pathname === "/a") return Response.redirect(server.url("/b"), 302);
        return Response.json(pathname, { headers: { link: "</b>; rel=next" } });
      });
      const error = await assertRejects(
        () => collect(paginate(server.url("/a"))),
        PaginationCycleError,
      );
      assertEquals(error.url, server.url("/b"));
    });
    await t.step("a link that redirects to an earlier page", async () => {
      await using server = serve((req) => {
        const { pathname } = new URL(req.url);
        if (pathname === "/b") return Response.redirect(server.url("/a"), 302);
        return Response.json(pathname, { headers: { link: "</b>; rel=next" } });
      });
      const seen: unknown[] = [];
      const error = await assertRejects(async () => {
        for await (const page of paginate(server.url("/a"))) {
          seen.push(page.data);
        }
      }, PaginationCycleError);
      // Page 1 is not handed out a second time.
      assertEquals(seen, ["/a"]);
      assertEquals([error.url, error.page], [server.url("/a"), 1]);
      assertStringIncludes(
        error.message,
        `page 1 links to "${server.url("/b")}", which redirects to "${
          server.url("/a")
        }", already fetched`,
      );
    });
  },
);

Deno.test("paginate() parses pages with a custom parser inside the request", {
  permissions: NET,
}, async () => {
  await using server = serve((req) =>
    new Response(`page ${pageOf(req)}`, {
      headers: pageOf(req) < 2 ? { link: "</?page=2>; rel=next" } : {},
    })
  );
  const pages = await collect(
    paginate(server.url(), { parse: (response) => response.text() }),
  );
  assertEquals(pages.map((page) => page.data), ["page 1", "page 2"]);
  const headersOnly = await collect(
    paginate(server.url(), { parse: (response) => response.status }),
  );
  assertEquals(headersOnly.map((page) => page.data), [200, 200]);
});

Deno.test(
  "paginate() retries a body cut off while a custom parser reads it, as a NetworkError",
  { permissions: NET },
  async () => {
    await using server = rawServer(async ({ index, write }) => {
      // Every other answer promises 10 bytes and closes after 5.
      await write(
        index % 2 === 0
          ? "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nhello"
          : httpResponse("hello you!"),
      );
    });
    const pages = await collect(
      paginate(server.url("/cut"), {
        retry: { attempts: 2, backoff: () => 0 },
        parse: (response) => response.text(),
      }),
    );
    assertEquals(pages.map((page) => page.data), ["hello you!"]);
    assertEquals(server.connections(), 2);

    const error = await assertRejects(
      () =>
        collect(
          paginate(server.url("/cut"), {
            parse: (response) => response.text(),
          }),
        ),
      NetworkError,
    );
    assertStringIncludes(error.message, `Cannot GET "${server.url("/cut")}"`);
  },
);

Deno.test("paginate() skips a next link that is another resource's (anchor)", {
  permissions: NET,
}, async () => {
  await using server = serve((req) => {
    const page = pageOf(req);
    const links = page === 1
      ? ['</other?page=7>; rel="next"; anchor="/other"', "<?page=2>; rel=next"]
      : ['</x?page=9>; rel="next"; anchor="#top"'];
    return Response.json(page, { headers: { link: links.join(", ") } });
  });
  await assertRejects(
    () => collect(paginate(server.url("/list"))),
    PaginationCycleError,
    "already fetched",
    'an anchor naming the page itself ("#top") keeps the link',
  );
  const pages = await collect(paginate(server.url("/list"), { maxPages: 2 }));
  assertEquals(pages.map((page) => page.url), [
    server.url("/list"),
    server.url("/list?page=2"),
  ]);
});

Deno.test(
  "paginate() sees a link that differs by its fragment only as a cycle",
  {
    permissions: NET,
  },
  async () => {
    let requests = 0;
    await using server = serve(() => {
      requests++;
      return Response.json(requests, {
        headers: { link: "</a#section-2>; rel=next" },
      });
    });
    const error = await assertRejects(
      () => collect(paginate(server.url("/a"))),
      PaginationCycleError,
    );
    assertEquals(error.url, server.url("/a#section-2"));
    assertEquals(requests, 1);
  },
);

Deno.test("paginate() surfaces request errors and the signal's reason", {
  permissions: NET,
}, async (t) => {
  await using server = serve((req) => {
    const page = pageOf(req);
    if (page === 2 && new URL(req.url).pathname === "/bad") {
      return new Response("<html>", {
        headers: { link: "</?page=3>; rel=next" },
      });
    }
    if (page === 3) return new Response("gone", { status: 410 });
    return Response.json(page, {
      headers: { link: `<?page=${page + 1}>; rel=next` },
    });
  });
  await t.step("an HTTP error on a later page", async () => {
    const error = await assertRejects(
      () => collect(paginate(server.url())),
      HttpError,
    );
    assertEquals(error.status, 410);
  });
  await t.step("a page that is not JSON", async () => {
    await assertRejects(
      () => collect(paginate(server.url("/bad"))),
      ParseError,
    );
  });
  await t.step("abort between pages", async () => {
    const controller = new AbortController();
    const reason = new Error("enough");
    const seen: unknown[] = [];
    const error = await assertRejects(async () => {
      for await (
        const page of paginate(server.url(), { signal: controller.signal })
      ) {
        seen.push(page.data);
        controller.abort(reason);
      }
    });
    assertEquals(error, reason);
    assertEquals(seen, [1]);
  });
});

Deno.test("paginate() rejects bad options at once", { permissions: {} }, () => {
  assertThrows(
    () => paginate("http://127.0.0.1:9/", { maxPages: 0 }),
    RangeError,
    '"maxPages" must be a positive integer or Infinity, received 0',
  );
  assertThrows(
    () =>
      paginate("http://127.0.0.1:9/", { maxPages: "5" as unknown as number }),
    TypeError,
    '"maxPages" must be a positive integer or Infinity, received "5"',
  );
  assertThrows(
    () => paginate("http://127.0.0.1:9/", { next: 3 as unknown as string }),
    TypeError,
    '"next" must be a JSON field path or a function',
  );
  assertThrows(() => paginate("/relative"), TypeError);
  for (
    const [start, received] of [[null, "null"], [
      "http://[bad",
      '"http://[bad"',
    ]]
  ) {
    assertThrows(
      () => paginate(start as never),
      TypeError,
      `Cannot paginate: "start" must be a valid URL (relative ones need a client's baseUrl), received ${received}`,
    );
  }
  // Request options are checked at the call too, not at the first page.
  assertThrows(
    () => paginate("http://127.0.0.1:9/", { timeout: -1 }),
    RangeError,
    '"timeout"',
  );
  assertThrows(
    () => paginate("http://127.0.0.1:9/", "5" as never),
    TypeError,
    'Cannot paginate: "options" must be an object, received "5"',
  );
});

Deno.test(
  "parseLinkHeader() parses RFC 8288 links",
  { permissions: {} },
  async (t) => {
    await t.step("targets, rel lists and parameters", () => {
      const links = parseLinkHeader(
        '<https://x.test/a?b=1,2>; rel="next"; title="semi; comma, quote \\" end", ' +
          "<https://x.test/p>;rel=prev;type=text/html , </rel>; Rel=Last",
      );
      assertEquals(links, [
        {
          url: "https://x.test/a?b=1,2",
          rel: ["next"],
          params: { rel: "next", title: 'semi; comma, quote " end' },
        },
        {
          url: "https://x.test/p",
          rel: ["prev"],
          params: { rel: "prev", type: "text/html" },
        },
        { url: "/rel", rel: ["last"], params: { rel: "Last" } },
      ]);
    });
    await t.step("relative targets against a base", () => {
      assertEquals(
        parseLinkHeader(
          '<../b?page=2>; rel="next"',
          "https://x.test/a/list?page=1",
        )
          .map((link) => link.url),
        ["https://x.test/b?page=2"],
      );
    });
    await t.step("the first rel wins; flags without values", () => {
      const [link] = parseLinkHeader("</x>; rel=next; rel=prev; crossorigin");
      assertEquals(link!.rel, ["next"]);
      assertEquals(link!.params.crossorigin, "");
    });
    await t.step("unquoted values run to ';' or ','; rel splits on RWS", () => {
      assertEquals(
        parseLinkHeader(
          '</a>; type=text html ; rel=next, </b>; rel="nope\u00a0next"',
        ),
        [
          {
            url: "/a",
            rel: ["next"],
            params: { type: "text html", rel: "next" },
          },
          {
            url: "/b",
            rel: ["nope\u00a0next"],
            params: { rel: "nope\u00a0next" },
          },
        ],
      );
    });
    await t.step("malformed links are skipped", () => {
      const links = parseLinkHeader(
        'garbage, </ok>; rel=next, </bad> junk; rel="x, y", </also-ok>; rel=last, <unclosed',
      );
      assertEquals(links.map((link) => link.url), ["/ok", "/also-ok"]);
    });
    await t.step("empty and missing", () => {
      assertEquals(parseLinkHeader(null), []);
      assertEquals(parseLinkHeader(""), []);
    });
  },
);

Deno.test("paginate() refuses a next URL that is not http(s)", {
  permissions: NET,
}, async (t) => {
  const cases: [string, Record<string, string>, unknown][] = [
    [
      "a Link to a local file",
      { link: '<file:///etc/hostname>; rel="next"' },
      {},
    ],
    ["a Link to made-up data", {
      link: '<data:application/json,[1]>; rel="next"',
    }, {}],
    ["a JSON field", {}, { next: "file:///etc/passwd" }],
  ];
  for (const [name, headers, body] of cases) {
    await t.step(name, async () => {
      await using server = serve(() => Response.json(body, { headers }));
      const pages = paginate(server.url("/"), {
        next: "link" in headers ? undefined : "next",
      });
      const first = await pages.next();
      assertEquals(first.value?.number, 1);
      await assertRejects(
        () => pages.next(),
        TypeError,
        "page 1 names a next URL that is not http(s)",
      );
    });
  }
});

Deno.test("paginate() quotes a bad next URL escaped and cut", {
  permissions: NET,
}, async () => {
  const next = `http://\u001b[2J\u202e${"x".repeat(300)} x/`;
  await using server = serve(() => Response.json({ next }));
  const pages = paginate(server.url("/"), { next: "next" });
  assertEquals((await pages.next()).value?.number, 1);
  const error = await assertRejects(() => pages.next(), TypeError);
  assertEquals(
    error.message,
    `Cannot paginate: page 1 names an invalid next URL "http://\\u001b[2J\\u202e${
      "x".repeat(188)
    }…"`,
  );
});

Deno.test(
  "paginate() refuses a next() that returns neither a URL nor nothing",
  {
    permissions: NET,
  },
  async () => {
    await using server = serve(() => Response.json([1]));
    const pages = paginate(server.url("/"), { next: () => 5 as never });
    assertEquals((await pages.next()).value?.number, 1);
    await assertRejects(
      () => pages.next(),
      TypeError,
      'Cannot paginate: "next" must return a URL, a string, null or undefined for page 1, received 5',
    );
  },
);

Deno.test(
  "nextPageUrl() finds what paginate() would follow, and checks its arguments",
  {
    permissions: NET,
  },
  async () => {
    await using server = serve((req) => {
      const page = Number(new URL(req.url).searchParams.get("page") ?? 1);
      return Response.json({ next: page < 2 ? `?page=${page + 1}` : null }, {
        headers: page < 2 ? { link: `<?page=${page + 1}>; rel="next"` } : {},
      });
    });
    const pages: Page<unknown>[] = [];
    for await (const page of paginate(server.url("/items"))) pages.push(page);
    assertEquals(pages.length, 2);
    const second = server.url("/items?page=2");
    assertEquals(await nextPageUrl(pages[0]!), second);
    assertEquals(await nextPageUrl(pages[0]!, "next"), second);
    assertEquals(
      await nextPageUrl(pages[0]!, () => "?page=9"),
      server.url("/items?page=9"),
    );
    assertEquals(await nextPageUrl(pages[1]!), undefined);
    assertEquals(await nextPageUrl(pages[1]!, "next"), undefined);
    await assertRejects(
      () => nextPageUrl(null as never),
      TypeError,
      'Cannot find the next page: "page" must be a page from paginate(), received null',
    );
    await assertRejects(
      () => nextPageUrl(pages[0]!, 5 as never),
      TypeError,
      'Cannot find the next page: "next" must be a JSON field path or a function, received 5',
    );
    await assertRejects(
      () => nextPageUrl(pages[0]!, () => "ftp://example.com/"),
      TypeError,
      'Cannot find the next page: page 1 names a next URL that is not http(s): "ftp://example.com/"',
    );
  },
);

Deno.test("parseLinkHeader() refuses a value that is not a string", {
  permissions: {},
}, () => {
  for (const [value, received] of [[undefined, "undefined"], [5, "5"]]) {
    assertThrows(
      () => parseLinkHeader(value as never),
      TypeError,
      `Cannot parse Link header: the value must be a string or null, received ${received}`,
    );
  }
});
