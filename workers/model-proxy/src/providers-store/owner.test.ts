import { describe, expect, it } from "vitest";
import { testAdminContext, testPrincipal } from "../test-support/principal";
import { resolveOwner } from "./owner";

describe("resolveOwner", () => {
  it("maps the platform to its owner key only with the gateway's signed admin context", async () => {
    const admin = await testAdminContext();
    const forger = await testAdminContext();
    const keys = { principal: "{}", gateway: admin.verifyJwk };
    expect(await resolveOwner({ kind: "platform", adminToken: admin.token }, "write", keys)).toEqual({ ok: true, value: "platform" });
    // Unsigned, signed by another key, or a tenant's principal token in its place: refused.
    const tenant = await testPrincipal({ tenantId: "ten_p", keyId: "k", scopes: ["providers:write"] as never });
    for (const ref of [{ kind: "platform" }, { kind: "platform", adminToken: forger.token }, { kind: "platform", adminToken: tenant.token }]) {
      expect(await resolveOwner(ref, "write", { principal: tenant.verifyJwk, gateway: admin.verifyJwk })).toMatchObject({
        ok: false,
        error: { code: "invalid_api_key" },
      });
    }
  });

  it("verifies a tenant's principal token and requires providers:read to look and providers:write to change", async () => {
    const writer = await testPrincipal({ tenantId: "ten_w", keyId: "k", scopes: ["providers:write"] as never });
    const reader = await testPrincipal({ tenantId: "ten_r", keyId: "k", scopes: ["providers:read"] as never });
    const chat = await testPrincipal({ tenantId: "ten_c", keyId: "k", scopes: ["chat"] as never });
    expect(await resolveOwner({ kind: "tenant", principalToken: writer.token }, "write", { principal: writer.verifyJwk, gateway: "{}" })).toEqual({
      ok: true,
      value: "ten_w",
    });
    expect(await resolveOwner({ kind: "tenant", principalToken: writer.token }, "read", { principal: writer.verifyJwk, gateway: "{}" })).toEqual({
      ok: true,
      value: "ten_w",
    });
    expect(await resolveOwner({ kind: "tenant", principalToken: reader.token }, "read", { principal: reader.verifyJwk, gateway: "{}" })).toEqual({
      ok: true,
      value: "ten_r",
    });
    expect(await resolveOwner({ kind: "tenant", principalToken: reader.token }, "write", { principal: reader.verifyJwk, gateway: "{}" })).toMatchObject({
      ok: false,
      error: { code: "permission_denied" },
    });
    expect(await resolveOwner({ kind: "tenant", principalToken: chat.token }, "read", { principal: chat.verifyJwk, gateway: "{}" })).toMatchObject({
      ok: false,
      error: { code: "permission_denied" },
    });
  });

  it("refuses a token signed by another key and anything that is not an owner", async () => {
    const signer = await testPrincipal({ tenantId: "ten_x", keyId: "k", scopes: ["providers:write"] as never });
    const other = await testPrincipal();
    expect(await resolveOwner({ kind: "tenant", principalToken: signer.token }, "read", { principal: other.verifyJwk, gateway: "{}" })).toMatchObject({
      ok: false,
      error: { code: "invalid_api_key" },
    });
    expect(await resolveOwner({ kind: "tenant", tenantId: "ten_x" }, "read", { principal: other.verifyJwk, gateway: "{}" })).toMatchObject({
      ok: false,
      error: { code: "invalid_api_key" },
    });
    expect(await resolveOwner(null, "read", { principal: other.verifyJwk, gateway: "{}" })).toMatchObject({ ok: false });
  });
});
