import { beforeAll, describe, expect, it } from "vitest";
import type { Result } from "../../../shared/src";
import { authenticate } from "../authenticate/authenticate";
import { ADMIN, background, signedAdminContext, testEnv } from "../test-support";
import { listAudit, recordAudit } from "./audit";
import { createKey } from "./keys";
import { createTenant } from "./tenants";

let env: AuthEnv;
beforeAll(async () => {
  ({ env } = await testEnv());
});

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

/** A tenant's key with providers:write, and the principal token the gateway would pass for it. */
async function tenantKey() {
  const tenant = value(await createTenant(env, ADMIN, { name: "audit" }));
  const key = value(await createKey(env, ADMIN, tenant.id, { scopes: ["providers:write"] }));
  const principal = value(await authenticate({ env, waitUntil: background().waitUntil }, key.key));
  return { tenant, key, token: principal.token };
}

describe("recordAudit (changes made by other Workers)", () => {
  it("takes the actor and tenant from the verified call context, never from the input", async () => {
    const { tenant, key, token } = await tenantKey();
    const entry = { action: "provider.create", target_type: "provider", target_id: "prv_audit_1", details: { name: "mine" } };
    value(await recordAudit(env, { requestId: "req_audit_unit_1", actor: { type: "key", token } }, entry));
    const page = await listAudit(env.AUTH_DB, { tenant_id: tenant.id, limit: 100 });
    expect(page.data[0]).toMatchObject({
      actor: `key:${key.id}`,
      tenant_id: tenant.id,
      request_id: "req_audit_unit_1",
      action: "provider.create",
      target_id: "prv_audit_1",
      details: { name: "mine" },
    });

    // A tenant or actor in the input is refused (strict schema), not believed.
    for (const forged of [
      { ...entry, tenant_id: "ten_other" },
      { ...entry, actor: "admin" },
    ]) {
      expect(await recordAudit(env, { requestId: "req_audit_unit_2", actor: { type: "key", token } }, forged)).toMatchObject({
        ok: false,
        error: { code: "invalid_request" },
      });
    }
  });

  it("refuses unsigned key and admin actors, and an unknown target type", async () => {
    const entry = { action: "provider.create", target_type: "provider", target_id: "prv_audit_2" };
    expect(await recordAudit(env, { requestId: "req_audit_unit_3", actor: { type: "key", token: "not-a-token" } }, entry)).toMatchObject({
      ok: false,
      error: { code: "invalid_api_key" },
    });
    expect(await recordAudit(env, { requestId: "req_audit_unit_4", actor: { type: "admin" } }, entry)).toMatchObject({
      ok: false,
      error: { code: "invalid_request", param: "actor.token" },
    });
    expect(await recordAudit(env, await signedAdminContext("req_audit_unit_4"), { ...entry, target_type: "api_key" })).toMatchObject({
      ok: false,
      error: { param: "target_type" },
    });
    value(await recordAudit(env, await signedAdminContext("req_audit_unit_5"), entry));
    const page = await listAudit(env.AUTH_DB, { limit: 1 });
    expect(page.data[0]).toMatchObject({ actor: "admin", tenant_id: null, request_id: "req_audit_unit_5" });
  });
});
