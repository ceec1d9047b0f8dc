import { createExecutionContext, env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newWebhookSecret } from "../../shared/src/webhooks/signature";
import { SecretsService } from "./index";
import { masterKeysSecret, randomKey } from "./test-keys";
import { WebhookSecrets } from "./webhook-secrets";

const env = testEnv as unknown as SecretsEnv;
const v1 = randomKey();
const v2 = randomKey();
const service = (keys: string) => new WebhookSecrets(createExecutionContext(), { ...env, MASTER_KEYS: keys });
const owner = { tenant_id: "ten_a", endpoint_id: "wh_0123456789abcdefABCDEF" };

async function sealed(keys: string, secret: string): Promise<string> {
  const res = await service(keys).seal({ ...owner, secret });
  if (!res.ok) throw new Error(res.error.message);
  return res.value.envelope;
}

describe("WebhookSecrets", () => {
  it("seals a whsec_ secret into an envelope that holds no plaintext, and opens it for its own endpoint", async () => {
    const keys = masterKeysSecret({ 1: v1 }, "1");
    const secret = newWebhookSecret();
    const envelope = await sealed(keys, secret);
    expect(envelope).not.toContain(secret.slice(6));
    expect(JSON.parse(envelope)).toMatchObject({ f: 1, v: "1" });
    expect(await service(keys).open({ ...owner, envelope })).toEqual({ ok: true, value: { secret, rewrapped: null } });
  });

  it("does not open an envelope moved onto another endpoint or tenant", async () => {
    const keys = masterKeysSecret({ 1: v1 }, "1");
    const envelope = await sealed(keys, newWebhookSecret());
    for (const other of [
      { ...owner, endpoint_id: "wh_ZZZZZZZZZZZZZZZZZZZZZZ" },
      { ...owner, tenant_id: "ten_b" },
    ]) {
      expect(await service(keys).open({ ...other, envelope })).toMatchObject({
        ok: false,
        error: { code: "internal_error", message: expect.stringContaining("integrity check") },
      });
    }
  });

  it("is no general oracle: it seals only webhook secrets and cannot open a provider credential's envelope", async () => {
    const keys = masterKeysSecret({ 1: v1 }, "1");
    expect(await service(keys).seal({ ...owner, secret: "sk-live-provider-key-0123456789" })).toMatchObject({
      ok: false,
      error: { code: "invalid_request", param: "secret" },
    });
    const vault = new SecretsService(createExecutionContext(), { ...env, MASTER_KEYS: keys });
    const stored = await vault.store({ provider: "openai", plaintext: newWebhookSecret() });
    if (!stored.ok) throw new Error(stored.error.message);
    const envelope = await env.SECRETS.get(stored.value.ref);
    if (envelope === null) throw new Error("the credential was not stored");
    expect(await service(keys).open({ ...owner, envelope })).toMatchObject({ ok: false, error: { code: "internal_error" } });
  });

  it("opens secrets sealed under an older master key and hands back the envelope re-wrapped under the current one", async () => {
    const secret = newWebhookSecret();
    const old = await sealed(masterKeysSecret({ 1: v1 }, "1"), secret);
    const rotated = masterKeysSecret({ 1: v1, 2: v2 }, "2");
    const opened = await service(rotated).open({ ...owner, envelope: old });
    if (!opened.ok || opened.value.rewrapped === null) throw new Error("expected a re-wrapped envelope");
    expect(opened.value.secret).toBe(secret);
    expect(JSON.parse(opened.value.rewrapped)).toMatchObject({ v: "2" });
    // Version 1 can now be dropped: the re-wrapped envelope opens with version 2 alone.
    expect(await service(masterKeysSecret({ 2: v2 }, "2")).open({ ...owner, envelope: opened.value.rewrapped })).toEqual({
      ok: true,
      value: { secret, rewrapped: null },
    });
  });
});
