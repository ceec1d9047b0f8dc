import { describe, expect, it } from "vitest";
import { testPrincipal } from "../test-support/principal";
import { resolveOwner } from "./owner";

describe("resolveOwner", () => {
  it("maps the platform to its owner key", async () => {
    expect(await resolveOwner({ kind: "platform" }, "write", "{}")).toEqual({ ok: true, value: "platform" });
  });

  it("verifies a tenant's principal token and requires providers:read to look and providers:write to change", async () => {
    const writer = await testPrincipal({ tenantId: "ten_w", keyId: "k", scopes: ["providers:write"] as never });
    const reader = await testPrincipal({ tenantId: "ten_r", keyId: "k", scopes: ["providers:read"] as never });
    const chat = await testPrincipal({ tenantId: "ten_c", keyId: "k", scopes: ["chat"] as never });
    expect(await resolveOwner({ kind: "tenant", principalToken: writer.token }, "write", writer.verifyJwk)).toEqual({ ok: true, value: "ten_w" });
    expect(await resolveOwner({ kind: "tenant", principalToken: writer.token }, "read", writer.verifyJwk)).toEqual({ ok: true, value: "ten_w" });
    expect(await resolveOwner({ kind: "tenant", principalToken: reader.token }, "read", reader.verifyJwk)).toEqual({ ok: true, value: "ten_r" });
    expect(await resolveOwner({ kind: "tenant", principalToken: reader.token }, "write", reader.verifyJwk)).toMatchObject({ ok: false, error: { code: "permission_denied" } });
    expect(await resolveOwner({ kind: "tenant", principalToken: chat.token }, "read", chat.verifyJwk)).toMatchObject({ ok: false, error: { code: "permission_denied" } });
  });

  it("refuses a token signed by another key and anything that is not an owner", async () => {
    const signer = await testPrincipal({ tenantId: "ten_x", keyId: "k", scopes: ["providers:write"] as never });
    const other = await testPrincipal();
    expect(await resolveOwner({ kind: "tenant", principalToken: signer.token }, "read", other.verifyJwk)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    expect(await resolveOwner({ kind: "tenant", tenantId: "ten_x" }, "read", other.verifyJwk)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    expect(await resolveOwner(null, "read", other.verifyJwk)).toMatchObject({ ok: false });
  });
});
