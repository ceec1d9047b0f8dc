import OpenAI, { AuthenticationError, PermissionDeniedError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterKeyChange } from "../support/propagation";
import { sdkFailure } from "../support/openai-sdk";
import { startStack, type Stack } from "../support/stack";
import { adminFetch, createKey, revokeKey, tenantWithKey } from "../support/tenants";
import { d1 } from "../support/stores";
import { openaiClient } from "../support/clients";
import { gatewayFetch } from "../support/fetch";

/**
 * API keys on the wire, through the official `openai` SDK: valid keys pass, every kind of bad key
 * is a 401 `AuthenticationError` in OpenAI's error shape, a missing scope is a 403
 * `PermissionDeniedError`, and revocation holds on every gateway isolate once the principal cache's
 * bound has passed (`afterKeyChange`: the tests do not depend on meeting the isolate that revoked).
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

const sdk = (apiKey: string, extra?: Parameters<typeof openaiClient>[2]) => openaiClient(stack, apiKey, extra);

async function expect401(call: Promise<unknown>, code: string): Promise<void> {
  const err = await sdkFailure(call);
  expect(err).toBeInstanceOf(AuthenticationError);
  expect(err.status).toBe(401);
  expect(err.error).toMatchObject({ type: "authentication_error", code, param: null, message: expect.any(String) });
  expect(err.requestID ?? err.headers?.get("x-request-id")).toBeTruthy();
}

const listKeys = (client: OpenAI) => client.get("/keys");

describe("a valid key", () => {
  it("is accepted as a Bearer token by the SDK", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["chat", "keys:write"] });
    const page = (await listKeys(sdk(apiKey))) as { object: string; data: { id: string }[] };
    expect(page.object).toBe("list");
    expect(page.data.map((k) => k.id)).toEqual([key.id]);
    // last_used_at is recorded (after the response, without a D1 write per request).
    expect(key.last_used_at).toBeNull();
    let used: number | null = null;
    for (let i = 0; i < 50 && used === null; i++) {
      used = ((await (await adminFetch(stack, `/admin/keys/${key.id}`)).json()) as { last_used_at: number | null }).last_used_at;
      if (used === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(used).toBeGreaterThanOrEqual(key.created_at);
  });

  it("is accepted as x-api-key (what Anthropic's SDK sends)", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    const res = await gatewayFetch(stack, "/v1/keys", { headers: { "x-api-key": apiKey } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ object: "list", data: [expect.objectContaining({ object: "api_key" })] });
  });
});

describe("401 AuthenticationError", () => {
  it("missing key", async () => {
    await expect401(listKeys(sdk("unused", { defaultHeaders: { authorization: null } })), "missing_api_key");
  });

  it("malformed key", async () => {
    await expect401(listKeys(sdk("sk-not-a-real-key")), "invalid_api_key");
    await expect401(listKeys(sdk("hello world")), "invalid_api_key");
  });

  it("unknown key of the right format", async () => {
    const { apiKey } = await tenantWithKey(stack);
    // A different, well-formed key of the same environment that was never issued.
    const { generateApiKey } = await import("../../workers/shared/src/api-key-format");
    const unknown = generateApiKey(apiKey.split("-")[1]!);
    await expect401(listKeys(sdk(unknown)), "invalid_api_key");
  });

  it("a burst of unknown well-formed keys, with valid keys among them: every unknown one 401, every valid one served", async () => {
    // Lookups that miss at the same time share D1 queries across requests (secret-lookup.ts): each
    // request still gets its own answer, and a key created just before is never refused.
    const { generateApiKey } = await import("../../workers/shared/src/api-key-format");
    const valid = await Promise.all([1, 2, 3].map(() => tenantWithKey(stack, { scopes: ["keys:write"] })));
    const unknown = Array.from({ length: 24 }, () => generateApiKey(valid[0]!.apiKey.split("-")[1]!));
    const keys = [...unknown.slice(0, 8), valid[0]!.apiKey, ...unknown.slice(8, 16), valid[1]!.apiKey, ...unknown.slice(16), valid[2]!.apiKey];
    const answers = await Promise.all(keys.map((k) => gatewayFetch(stack, "/v1/keys", { key: k })));
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<{ error?: { code: string }; data?: { id: string }[] }>));
    keys.forEach((k, i) => {
      const v = valid.find((x) => x.apiKey === k);
      if (v)
        expect(
          bodies[i]!.data?.map((d) => d.id),
          `valid key ${i}`,
        ).toEqual([v.key.id]);
      else expect([answers[i]!.status, bodies[i]!.error?.code], `unknown key ${i}`).toEqual([401, "invalid_api_key"]);
    });
  });

  it("wrong checksum (a typo), named as such", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    const i = 12;
    const typo = apiKey.slice(0, i) + (apiKey[i] === "a" ? "b" : "a") + apiKey.slice(i + 1);
    const err = await sdkFailure(listKeys(sdk(typo)));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain("checksum");
  });

  it("revoked key: refused by every gateway isolate once the principal cache's bound has passed", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    const client = sdk(apiKey);
    await listKeys(client); // now cached in the gateway isolate and in KV
    await listKeys(client);
    await revokeKey(stack, key.id);
    await afterKeyChange(stack);
    const err = await sdkFailure(listKeys(client));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain("revoked");
  });

  it("a key of a disabled (deleted) tenant: refused by every gateway isolate once the principal cache's bound has passed", async () => {
    const { tenant, apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    await listKeys(sdk(apiKey));
    const res = await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: tenant.id, status: "disabled" });
    await afterKeyChange(stack);
    await expect401(listKeys(sdk(apiKey)), "invalid_api_key");
  });

  it("expired key", async () => {
    const { tenant } = await tenantWithKey(stack);
    const key = await createKey(stack, tenant.id, { scopes: ["keys:write"], expires_at: Math.floor(Date.now() / 1000) + 3600 });
    // Time passes: the key's expiry moves into the past in the auth database (never used, so never cached).
    await (
      await d1(stack, "auth")
    )
      .prepare("UPDATE api_keys SET expires_at = ?1 WHERE id = ?2")
      .bind(Math.floor(Date.now() / 1000) - 1, key.id)
      .run();
    const err = await sdkFailure(listKeys(sdk(key.key)));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain("expired");
  });

  it("the admin token is not an API key", async () => {
    await expect401(listKeys(sdk(stack.adminToken)), "invalid_api_key");
  });
});

describe("403 PermissionDeniedError", () => {
  it("a key without the keys:write scope cannot manage keys", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat"] });
    const err = await sdkFailure(listKeys(sdk(apiKey)));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.error).toMatchObject({ type: "permission_error", code: "permission_denied" });
    expect(err.message).toContain("keys:write");
  });
});

describe("rotation", () => {
  it("the new key works at once and the old one keeps working during the grace period", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    await listKeys(sdk(apiKey));
    const res = await adminFetch(stack, `/admin/keys/${key.id}/rotate`, { body: { grace_period_seconds: 600 } });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { id: string; key: string; previous_key_expires_at: number };
    expect(rotated.id).toBe(key.id);
    expect(rotated.key).not.toBe(apiKey);
    expect(rotated.previous_key_expires_at).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 599);
    await listKeys(sdk(rotated.key));
    await listKeys(sdk(apiKey));
  });

  it("with grace_period_seconds 0 the old key is refused once the principal cache's bound has passed", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["keys:write"] });
    await listKeys(sdk(apiKey));
    const res = await adminFetch(stack, `/admin/keys/${key.id}/rotate`, { body: { grace_period_seconds: 0 } });
    const rotated = (await res.json()) as { key: string };
    await afterKeyChange(stack);
    await expect401(listKeys(sdk(apiKey)), "invalid_api_key");
    await listKeys(sdk(rotated.key));
  });
});
