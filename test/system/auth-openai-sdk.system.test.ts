import OpenAI, { AuthenticationError, PermissionDeniedError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import { sdkFailure } from "../support/openai-sdk";
import type { Stack } from "../support/stack";
import { createKey, revokeKey, tenantWithKey, updateKey } from "../support/tenants";
import { afterKeyChange } from "../support/propagation";
import { generateApiKey } from "../../workers/shared/src/api-key-format";
import { d1 } from "../support/stores";
import { openaiClient } from "../support/clients";

/**
 * Issue 3's "Must show" through the official `openai` SDK on the inference API: 200 with a valid
 * key; 401 `AuthenticationError` for a missing, malformed, unknown, revoked, expired or
 * wrong-checksum key; 403 `PermissionDeniedError` for a missing scope or a model outside the key's
 * globs; revocation effective on the next request.
 */
let stack: Stack;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, close } = await startCoreStack());
});
afterAll(() => close?.());

const sdk = (apiKey: string, extra?: Parameters<typeof openaiClient>[2]) => openaiClient(stack, apiKey, extra);

async function expectAuthenticationError(call: Promise<unknown>, code: string, message?: string): Promise<void> {
  const err = await sdkFailure(call);
  expect(err).toBeInstanceOf(AuthenticationError);
  expect(err.status).toBe(401);
  expect(err.error).toMatchObject({ type: "authentication_error", code, param: null });
  if (message) expect(err.message).toContain(message);
  expect(err.headers?.get("x-request-id")).toBeTruthy();
}

const chat = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });

describe("GET /v1/models", () => {
  it("200 with a valid key", async () => {
    const { apiKey } = await tenantWithKey(stack);
    const page = await sdk(apiKey).models.list();
    expect(page.data.length).toBeGreaterThan(0);
    expect(page.data[0]).toMatchObject({ object: "model" });
  });

  it("401 AuthenticationError for a missing, malformed, unknown or wrong-checksum key", async () => {
    const { apiKey } = await tenantWithKey(stack);
    await expectAuthenticationError(sdk("x", { defaultHeaders: { authorization: null } }).models.list(), "missing_api_key");
    await expectAuthenticationError(sdk("sk-proj-abc123").models.list(), "invalid_api_key");
    await expectAuthenticationError(sdk(generateApiKey("dev")).models.list(), "invalid_api_key", "Incorrect API key");
    const typo = apiKey.slice(0, 20) + (apiKey[20] === "Z" ? "Y" : "Z") + apiKey.slice(21);
    await expectAuthenticationError(sdk(typo).models.list(), "invalid_api_key", "checksum");
  });

  it("401 for a revoked key, on every gateway isolate once the principal cache's bound has passed", async () => {
    const { key, apiKey } = await tenantWithKey(stack);
    const client = sdk(apiKey);
    await client.models.list();
    await revokeKey(stack, key.id);
    await afterKeyChange(stack);
    await expectAuthenticationError(client.models.list(), "invalid_api_key", "revoked");
  });

  it("403 PermissionDeniedError for a key with no scope that uses models (keys:write, providers:*, usage:read only)", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["keys:write", "providers:read", "providers:write", "usage:read"] });
    // Thunks, not promises: a second call started before the first is awaited rejects unhandled.
    for (const call of [() => sdk(apiKey).models.list(), () => sdk(apiKey).models.retrieve("fake/any-model-1")]) {
      const err = await sdkFailure(call());
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.error).toMatchObject({ type: "permission_error", code: "permission_denied" });
      expect(err.message).toContain("no scope that uses models");
    }
    const { apiKey: batchOnly } = await tenantWithKey(stack, { scopes: ["batch"] });
    expect((await sdk(batchOnly).models.list()).data.length).toBeGreaterThan(0);
  });

  it("401 for an expired key", async () => {
    const { tenant } = await tenantWithKey(stack);
    const key = await createKey(stack, tenant.id, { expires_at: Math.floor(Date.now() / 1000) + 3600 });
    await (
      await d1(stack, "auth")
    )
      .prepare("UPDATE api_keys SET expires_at = ?1 WHERE id = ?2")
      .bind(Math.floor(Date.now() / 1000) - 1, key.id)
      .run();
    await expectAuthenticationError(sdk(key.key).models.list(), "invalid_api_key", "expired");
  });
});

describe("POST /v1/chat/completions and /v1/embeddings", () => {
  it("a key with the scope and model gets 200", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat"], models: ["fake/allowed-*"] });
    const res = await chat(sdk(apiKey), `fake/${uniqueModel("allowed")}`);
    expect(res.object).toBe("chat.completion");
  });

  it("403 PermissionDeniedError for a key lacking the scope", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["embeddings"] });
    const err = await sdkFailure(chat(sdk(apiKey), `fake/${uniqueModel("noscope")}`));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.error).toMatchObject({ type: "permission_error", code: "permission_denied" });
    expect(err.message).toContain("'chat'");

    const chatOnly = await tenantWithKey(stack, { scopes: ["chat"] });
    const embed = await sdkFailure(sdk(chatOnly.apiKey).embeddings.create({ model: `fake/${uniqueModel("e")}`, input: "x" }));
    expect(embed).toBeInstanceOf(PermissionDeniedError);
    expect(embed.message).toContain("'embeddings'");
  });

  it("403 PermissionDeniedError (model_not_allowed, param model) for a model outside the key's globs", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat"], models: ["fake/allowed-*"] });
    const err = await sdkFailure(chat(sdk(apiKey), `fake/${uniqueModel("forbidden")}`));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.error).toMatchObject({ type: "permission_error", code: "model_not_allowed", param: "model" });
  });

  it("a scope granted by PATCH works, and a model removed by PATCH is refused, once the principal cache's bound has passed", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["embeddings"] });
    const client = sdk(apiKey);
    expect(await sdkFailure(chat(client, `fake/${uniqueModel("later")}`))).toBeInstanceOf(PermissionDeniedError);
    await updateKey(stack, key.id, { scopes: ["chat"], models: ["fake/ok-*"] });
    await afterKeyChange(stack);
    expect((await chat(client, `fake/${uniqueModel("ok")}`)).object).toBe("chat.completion");
    await updateKey(stack, key.id, { models: ["fake/other-*"] });
    await afterKeyChange(stack);
    expect((await sdkFailure(chat(client, `fake/${uniqueModel("ok")}`))).error).toMatchObject({ code: "model_not_allowed" });
  });

  it("revocation: a chat that worked is refused with 401 once the principal cache's bound has passed", async () => {
    const { key, apiKey } = await tenantWithKey(stack, { scopes: ["chat"] });
    const client = sdk(apiKey);
    expect((await chat(client, `fake/${uniqueModel("rev")}`)).object).toBe("chat.completion");
    await revokeKey(stack, key.id);
    await afterKeyChange(stack);
    await expectAuthenticationError(chat(client, `fake/${uniqueModel("rev")}`), "invalid_api_key", "revoked");
  });

  it("an inference key cannot call /admin", async () => {
    const { apiKey } = await tenantWithKey(stack);
    const admin = openaiClient(stack, apiKey, { baseURL: stack.url });
    const err = await sdkFailure(admin.get("/admin/tenants"));
    expect(err).toBeInstanceOf(AuthenticationError);
  });
});
