import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateLocalSecrets } from "../../scripts/local-secrets.mjs";
import { signAdminContext } from "../../workers/shared/src/admin-context";
import type { Result } from "../../workers/shared/src/result";
import { adminFetch, tenantWithKey } from "../support/tenants";
import { startStack, type Stack } from "../support/stack";

/**
 * Internal Workers act on signed tokens only: the gateway's admin context (minted after it checked
 * the admin token) or a key's principal token. These tests call auth, model-proxy and billing over
 * the gateway's own service bindings — where any code bound to them could call — with unsigned,
 * forged and foreign claims.
 */
interface Bindings {
  AUTH: {
    createTenant(ctx: unknown, input: unknown): Promise<Result<{ id: string }>>;
    recordAudit(ctx: unknown, entry: unknown): Promise<Result<true>>;
    authenticate(apiKey: string): Promise<Result<{ token: string }>>;
  };
  PROVIDERS: { createProvider(owner: unknown, input: unknown): Promise<Result<{ id: string }>> };
  BILLING: {
    usage(actor: unknown, query: unknown): Promise<Result<{ tenant_id: string; requests: number }>>;
    monthSpend(actor: unknown, query: unknown): Promise<Result<{ micros: number }>>;
    putPrice(actor: unknown, input: unknown): Promise<Result<unknown>>;
  };
}

let stack: Stack;
let bindings: Bindings;
let forged: string;
beforeAll(async () => {
  stack = await startStack();
  bindings = (await stack.harness.getWorker("gateway").getEnv()) as unknown as Bindings;
  // Well-formed and signed, but with a key pair that is not the gateway's.
  forged = (await signAdminContext((await generateLocalSecrets()).GATEWAY_SIGNING_JWK)).token;
});
afterAll(() => stack?.close());

const month = new Date().toISOString().slice(0, 7);

async function principalToken(apiKey: string): Promise<string> {
  const res = await bindings.AUTH.authenticate(apiKey);
  if (!res.ok) throw new Error(res.error.message);
  return res.value.token;
}

describe("admin and platform contexts", () => {
  it("auth refuses to act as the admin on an unsigned, forged or tenant token", async () => {
    const { apiKey } = await tenantWithKey(stack);
    const tenantToken = await principalToken(apiKey);
    for (const actor of [{ type: "admin" }, { type: "admin", token: forged }, { type: "admin", token: tenantToken }]) {
      const res = await bindings.AUTH.createTenant({ requestId: "req_forged_admin", actor }, { name: "forged-admin" });
      expect(res).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^(invalid_api_key|invalid_request)$/) } });
      const audit = await bindings.AUTH.recordAudit(
        { requestId: "req_forged_admin", actor },
        { action: "forged.action", target_type: "tenant", target_id: "x" },
      );
      expect(audit).toMatchObject({ ok: false });
    }
    const tenants = (await (await adminFetch(stack, "/admin/tenants?limit=100")).json()) as { data: { name: string }[] };
    expect(tenants.data.map((t) => t.name)).not.toContain("forged-admin");
  });

  it("model-proxy refuses to manage the platform's providers on an unsigned or forged context", async () => {
    const input = { name: "forged-platform", type: "groq", api_key: "sk-forged-0000" };
    for (const owner of [{ kind: "platform" }, { kind: "platform", adminToken: forged }]) {
      expect(await bindings.PROVIDERS.createProvider(owner, input)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    }
    const listed = await adminFetch(stack, "/v1/providers");
    expect(await listed.text()).not.toContain("forged-platform");
  });

  it("the admin token still works end to end: the gateway's signed context is accepted everywhere", async () => {
    const tenant = await adminFetch(stack, "/admin/tenants", { method: "POST", body: { name: "signed-admin" } });
    expect(tenant.status).toBe(201);
    expect(await tenant.json()).toMatchObject({ object: "tenant", name: "signed-admin" });
    const price = await adminFetch(stack, "/admin/prices/signed-model", { method: "PUT", body: { input_per_mtok: 1, output_per_mtok: 2 } });
    expect(await price.json()).toMatchObject({ model: "signed-model" });
  });
});

describe("billing: a tenant's usage only on a valid signed token", () => {
  it("refuses usage and month spend without a token, with a forged one, or with another tenant's", async () => {
    const mine = await tenantWithKey(stack, { scopes: ["chat", "usage:read"] });
    const other = await tenantWithKey(stack, { scopes: ["chat", "usage:read"] });
    const myToken = await principalToken(mine.apiKey);
    const otherToken = await principalToken(other.apiKey);
    const query = { tenant_id: mine.tenant.id, month };

    for (const actor of [undefined, { type: "admin" }, { type: "admin", token: forged }, { type: "key", token: forged }]) {
      expect(await bindings.BILLING.usage(actor, query)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
      expect(await bindings.BILLING.monthSpend(actor, { subject: `tenant:${mine.tenant.id}`, month })).toMatchObject({
        ok: false,
        error: { code: "invalid_api_key" },
      });
    }
    expect(await bindings.BILLING.usage({ type: "key", token: otherToken }, query)).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await bindings.BILLING.monthSpend({ type: "key", token: otherToken }, { subject: `key:${mine.key.id}`, month })).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    expect(
      await bindings.BILLING.putPrice({ type: "admin", token: forged }, { model: "forged", input_per_mtok_micros: 0, output_per_mtok_micros: 0 }),
    ).toMatchObject({ ok: false });

    expect(await bindings.BILLING.usage({ type: "key", token: myToken }, query)).toMatchObject({ ok: true, value: { tenant_id: mine.tenant.id, requests: 0 } });
    expect(await bindings.BILLING.monthSpend({ type: "key", token: myToken }, { subject: `tenant:${mine.tenant.id}`, month })).toEqual({
      ok: true,
      value: { micros: 0 },
    });
  });
});
