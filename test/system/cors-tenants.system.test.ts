import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { openaiClient } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { afterKeyChange } from "../support/propagation";
import type { Stack } from "../support/stack";
import { adminFetch, createKey, createTenant, updateTenant } from "../support/tenants";

/**
 * Per-tenant CORS (issue 19): a tenant's `cors_origins` (admin tenant API) decide which browser
 * pages may read the answers to its keys, in per-tenant mode (`CORS_TENANT_ORIGINS = "true"`),
 * beside the platform-wide `CORS_ALLOWED_ORIGINS`. Driven with the `openai` SDK sending the
 * `Origin` a browser would send.
 */
const A_ORIGIN = "https://a.example";
const PLATFORM_ORIGIN = "https://console.platform.example";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack({ vars: { gateway: { CORS_TENANT_ORIGINS: "true", CORS_ALLOWED_ORIGINS: PLATFORM_ORIGIN } } }));
});
afterAll(() => close?.());

/** A tenant (with `cors_origins` when given) and an OpenAI client whose requests carry `origin`, as a page on that origin sends them. */
async function browserClient(origin: string, cors_origins?: string[]) {
  const tenant = await createTenant(stack, { name: `cors-${uniqueModel("t")}`, ...(cors_origins ? { cors_origins } : {}) });
  const { key } = await createKey(stack, tenant.id, { scopes: ["chat"] });
  return { tenant, apiKey: key, client: openaiClient(stack, key, { defaultHeaders: { origin } }) };
}

async function chatFrom(client: ReturnType<typeof openaiClient>, model: string) {
  const { data, response } = await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "Hi" }] }).withResponse();
  return { completion: data, headers: response.headers };
}

describe("per-tenant CORS origins", () => {
  it("tenant A's key from its own origin gets Access-Control-Allow-Origin; tenant B's key from the same origin does not", async () => {
    const a = await browserClient(A_ORIGIN, [A_ORIGIN]);
    const b = await browserClient(A_ORIGIN);
    expect(a.tenant.cors_origins).toEqual([A_ORIGIN]);
    expect(b.tenant.cors_origins).toEqual([]);
    const model = uniqueModel("cors-tenant");

    const fromA = await chatFrom(a.client, model);
    expect(fromA.completion.object).toBe("chat.completion");
    expect(fromA.headers.get("access-control-allow-origin")).toBe(A_ORIGIN);
    expect(fromA.headers.get("vary")).toContain("Origin");
    expect(fromA.headers.get("access-control-allow-credentials")).toBeNull();
    expect((fromA.headers.get("access-control-expose-headers") ?? "").split(", ")).toEqual(expect.arrayContaining(["x-request-id", "x-gateway-provider"]));

    // The same request, answered the same, but the page on a.example may not read it: no CORS header.
    const fromB = await chatFrom(b.client, model);
    expect(fromB.completion.object).toBe("chat.completion");
    expect(fromB.headers.get("access-control-allow-origin")).toBeNull();
    expect(fromB.headers.get("access-control-expose-headers")).toBeNull();
    expect(fromB.headers.get("vary")).toContain("Origin");

    // A's key from an origin A does not list: nothing either.
    const elsewhere = openaiClient(stack, a.apiKey, { defaultHeaders: { origin: "https://b.example" } });
    expect((await chatFrom(elsewhere, model)).headers.get("access-control-allow-origin")).toBeNull();
    // The origin is never sent upstream.
    expect(upstream.requests(model).map((r) => r.headers["origin"])).toEqual([undefined, undefined, undefined]);
  });

  it("A's errors and streams carry it too; the platform-wide origin works for every tenant", async () => {
    const a = await browserClient(A_ORIGIN, [A_ORIGIN]);
    const model = uniqueModel("cors-stream");
    const stream = await a.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "Hi" }], stream: true }).withResponse();
    expect(stream.response.headers.get("access-control-allow-origin")).toBe(A_ORIGIN);
    let chunks = 0;
    for await (const _ of stream.data) chunks++;
    expect(chunks).toBeGreaterThan(0);

    const refused = await gatewayFetch(stack, "/v1/embeddings", { key: a.apiKey, body: { model: `fake/${model}`, input: "x" }, headers: { origin: A_ORIGIN } });
    await expectError(refused, 403, "permission_denied"); // the key has only `chat`
    expect(refused.headers.get("access-control-allow-origin")).toBe(A_ORIGIN);

    const b = await browserClient(PLATFORM_ORIGIN);
    expect((await chatFrom(b.client, model)).headers.get("access-control-allow-origin")).toBe(PLATFORM_ORIGIN);
  });

  it("answers a preflight from any origin before authentication, naming that origin, never with credentials", async () => {
    for (const origin of [A_ORIGIN, "https://not-listed-anywhere.example"]) {
      const pre = await gatewayFetch(stack, "/v1/chat/completions", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, x-stainless-os" },
      });
      expect(pre.status).toBe(204);
      expect(await pre.text()).toBe("");
      expect(pre.headers.get("access-control-allow-origin")).toBe(origin);
      expect(pre.headers.get("access-control-allow-headers")).toBe("authorization, content-type, x-stainless-os");
      expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
      expect(pre.headers.get("vary")).toContain("Origin");
    }
  });

  it("a change of a tenant's origins reaches the gateway within the principal cache's bound (test clock, no waiting)", async () => {
    const a = await browserClient(A_ORIGIN, [A_ORIGIN]);
    const model = uniqueModel("cors-change");
    expect((await chatFrom(a.client, model)).headers.get("access-control-allow-origin")).toBe(A_ORIGIN);

    expect(await updateTenant(stack, a.tenant.id, { cors_origins: ["https://other.example"] })).toMatchObject({ cors_origins: ["https://other.example"] });
    await afterKeyChange(stack);
    expect((await chatFrom(a.client, model)).headers.get("access-control-allow-origin")).toBeNull();

    expect(await updateTenant(stack, a.tenant.id, { cors_origins: ["https://other.example", A_ORIGIN] })).toMatchObject({
      cors_origins: ["https://other.example", A_ORIGIN],
    });
    await afterKeyChange(stack);
    expect((await chatFrom(a.client, model)).headers.get("access-control-allow-origin")).toBe(A_ORIGIN);

    // A rename leaves the origins alone; `[]` clears them.
    expect(await updateTenant(stack, a.tenant.id, { name: "renamed" })).toMatchObject({ cors_origins: ["https://other.example", A_ORIGIN] });
    expect(await updateTenant(stack, a.tenant.id, { cors_origins: [] })).toMatchObject({ cors_origins: [] });
    await afterKeyChange(stack);
    expect((await chatFrom(a.client, model)).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("stores origins lowercase, and refuses anything but bounded exact https origins with 400 naming cors_origins", async () => {
    const tenant = await createTenant(stack, { name: "cors-normalised", cors_origins: ["https://App.Example.com:8443"] });
    expect(tenant.cors_origins).toEqual(["https://app.example.com:8443"]);
    expect(await (await adminFetch(stack, `/admin/tenants/${tenant.id}`)).json()).toMatchObject({ cors_origins: ["https://app.example.com:8443"] });

    const bad: unknown[] = [
      "https://a.example",
      ["http://a.example"],
      ["https://a.example/"],
      ["https://a.example/app"],
      ["https://*.example"],
      ["*"],
      ["null"],
      ["https://a.example:99999"],
      ["https://user@a.example"],
      [A_ORIGIN, A_ORIGIN],
      [`https://${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(60)}.${"d".repeat(60)}.example`],
      Array.from({ length: 21 }, (_, i) => `https://o${i}.example`),
      [42],
    ];
    for (const cors_origins of bad) {
      const created = await adminFetch(stack, "/admin/tenants", { body: { name: "cors-bad", cors_origins } });
      const error = await expectError(created, 400, "invalid_request");
      expect(error.param, JSON.stringify(cors_origins)).toMatch(/^cors_origins/);
      const patched = await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "PATCH", body: { cors_origins } });
      expect((await expectError(patched, 400, "invalid_request")).param, JSON.stringify(cors_origins)).toMatch(/^cors_origins/);
    }
    // Nothing was changed by the refused PATCHes.
    expect(await (await adminFetch(stack, `/admin/tenants/${tenant.id}`)).json()).toMatchObject({ cors_origins: ["https://app.example.com:8443"] });
    // Twenty is the bound, not a refusal.
    const twenty = Array.from({ length: 20 }, (_, i) => `https://o${i}.example`);
    expect(await updateTenant(stack, tenant.id, { cors_origins: twenty })).toMatchObject({ cors_origins: twenty });
  });
});
