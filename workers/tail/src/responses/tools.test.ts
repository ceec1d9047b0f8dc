import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { HttpFetchAllowlists } from "./fetch-allowlist";
import { MAX_TOOL_OUTPUT_BYTES } from "./request";
import { RemoteTools } from "./tools";

/**
 * The built-in `http_fetch` tool with tail's own config (ALLOW_PRIVATE_UPSTREAMS is "false", as in
 * production) against the real D1 schema. The web is a fake fetcher: every hop the tool lets out is
 * recorded, so a test sees exactly what would have left the Worker. (System tests show the tool in a
 * run end to end; there, the test harness's runtime follows redirects itself, so the per-hop checks
 * are shown here.)
 */
const env = workerEnv as unknown as TailEnv & { TEST_MIGRATIONS: D1Migration[] };
const TENANT = "tenant_fetch";

beforeAll(async () => {
  await applyD1Migrations(env.TAIL_DB, env.TEST_MIGRATIONS);
  const set = await new HttpFetchAllowlists(env.TAIL_DB).set(TENANT, "key_1", { domains: ["api.example.com", "*.example.org", "localhost"] });
  expect(set.ok).toBe(true);
});

function fakeWeb(pages: Record<string, (init: RequestInit) => Response | Promise<Response>>) {
  const hops: { url: string; redirect: string | undefined }[] = [];
  const fetcher = async (url: string, init: RequestInit) => {
    hops.push({ url, redirect: init.redirect });
    const page = pages[url];
    return page ? page(init) : new Response("not found", { status: 404 });
  };
  return { hops, tools: new RemoteTools(env, fetcher) };
}

const args = (url: string) => JSON.stringify({ url });

describe("http_fetch", () => {
  it("fetches an allow-listed https URL (exact host or *.suffix) and returns status, type and body as data", async () => {
    const { hops, tools } = fakeWeb({
      "https://api.example.com/weather": () => new Response("sunny", { headers: { "content-type": "text/plain" } }),
      "https://deep.docs.example.org/a": () => Response.json({ ok: true }),
    });
    expect(await tools.httpFetch(TENANT, args("https://api.example.com/weather"), 5_000)).toEqual({
      output: JSON.stringify({ url: "https://api.example.com/weather", status: 200, content_type: "text/plain", body: "sunny" }),
    });
    expect(JSON.parse((await tools.httpFetch(TENANT, args("https://deep.docs.example.org/a"), 5_000)).output!)).toMatchObject({
      status: 200,
      body: '{"ok":true}',
    });
    expect(hops).toEqual([
      { url: "https://api.example.com/weather", redirect: "manual" },
      { url: "https://deep.docs.example.org/a", redirect: "manual" },
    ]);
  });

  it("re-checks every redirect hop: off the allow-list, or to a private or metadata address, the hop is not made", async () => {
    const { hops, tools } = fakeWeb({
      "https://api.example.com/to-other": () => Response.redirect("https://evil.example.net/x", 302),
      "https://api.example.com/to-metadata": () => Response.redirect("https://169.254.169.254/latest/meta-data", 302),
      "https://a.example.org/to-allowed": () => Response.redirect("https://api.example.com/final", 301),
      "https://api.example.com/final": () => new Response("final"),
    });
    expect(await tools.httpFetch(TENANT, args("https://api.example.com/to-other"), 5_000)).toEqual({
      error: "The host 'evil.example.net' is not on this tenant's http_fetch allow-list.",
    });
    expect((await tools.httpFetch(TENANT, args("https://api.example.com/to-metadata"), 5_000)).error).toMatch(
      /redirected to a URL that points to .*link-local|redirected to a URL that points to .*metadata/,
    );
    expect(JSON.parse((await tools.httpFetch(TENANT, args("https://a.example.org/to-allowed"), 5_000)).output!)).toMatchObject({
      url: "https://api.example.com/final",
      body: "final",
    });
    expect(hops.map((h) => h.url)).toEqual([
      "https://api.example.com/to-other",
      "https://api.example.com/to-metadata",
      "https://a.example.org/to-allowed",
      "https://api.example.com/final",
    ]);
  });

  it("refuses private addresses with production's config even when allow-listed, and hosts off the list, without any request", async () => {
    const { hops, tools } = fakeWeb({});
    expect((await tools.httpFetch(TENANT, args("https://localhost/admin"), 5_000)).error).toMatch(/^The URL points to a local name/);
    expect((await tools.httpFetch(TENANT, args("https://10.0.0.7/"), 5_000)).error).toMatch(/^The URL points to a private/);
    expect((await tools.httpFetch(TENANT, args("http://api.example.com/"), 5_000)).error).toBe("The URL must use https.");
    expect((await tools.httpFetch(TENANT, args("https://example.org/"), 5_000)).error).toBe(
      "The host 'example.org' is not on this tenant's http_fetch allow-list.",
    );
    expect((await tools.httpFetch("another_tenant", args("https://api.example.com/"), 5_000)).error).toMatch(/not on this tenant's http_fetch allow-list/);
    expect((await tools.httpFetch(TENANT, "{}", 5_000)).error).toMatch(/'url'/);
    expect(hops).toEqual([]);
  });

  it("cuts the body at the output cap and gives up at the tool timeout", async () => {
    const { tools } = fakeWeb({
      "https://api.example.com/big": () => new Response("x".repeat(MAX_TOOL_OUTPUT_BYTES * 3)),
      "https://api.example.com/slow": (init) => new Promise<Response>((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal!.reason))),
    });
    const big = JSON.parse((await tools.httpFetch(TENANT, args("https://api.example.com/big"), 5_000)).output!) as { body: string };
    expect(big.body).toBe(`${"x".repeat(MAX_TOOL_OUTPUT_BYTES)}\n[output truncated at ${MAX_TOOL_OUTPUT_BYTES} bytes]`);
    expect(await tools.httpFetch(TENANT, args("https://api.example.com/slow"), 50)).toEqual({ error: "The fetch did not finish within 50 ms." });
  });
});
