import { createExecutionContext, env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SecretsService } from "./index";
import { masterKeysSecret, randomKey } from "./test-keys";

/** The secrets Worker's own bindings (the test runtime loads its wrangler config). */
const env = testEnv as unknown as SecretsEnv;

// The service with a known master key (not whatever a local .dev.vars holds).
const secrets = new SecretsService(createExecutionContext(), { ...env, MASTER_KEYS: masterKeysSecret({ 1: randomKey() }, "1") });

describe("SecretsService RPC", () => {
  it("stores, reveals, rotates and deletes through its RPC surface", async () => {
    const stored = await secrets.store({ provider: "openai", plaintext: "sk-rpc-0123456789abcdef" });
    if (!stored.ok) throw new Error(stored.error.message);
    const revealed = await secrets.reveal(stored.value.ref);
    expect(revealed).toMatchObject({ ok: true, value: { plaintext: "sk-rpc-0123456789abcdef" } });
    expect(await secrets.rotate({ ref: stored.value.ref, plaintext: "sk-rpc-rotated-00000000" })).toMatchObject({ ok: true });
    expect(await secrets.reveal(stored.value.ref)).toMatchObject({ ok: true, value: { plaintext: "sk-rpc-rotated-00000000" } });
    expect(await secrets.delete(stored.value.ref)).toEqual({ ok: true, value: { deleted: true } });
    expect(await secrets.reveal(stored.value.ref)).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("validates its inputs and answers with a typed error instead of throwing", async () => {
    expect(await secrets.reveal("../../etc/passwd")).toMatchObject({ ok: false, error: { code: "invalid_request" } });
    expect(await secrets.store({ provider: "openai", plaintext: "" })).toMatchObject({ ok: false, error: { code: "invalid_request", param: "plaintext" } });
    expect(await secrets.rewrapAll({ limit: 0 })).toMatchObject({ ok: false, error: { param: "limit" } });
  });

  it("reports health of KV and the master key", async () => {
    const health = await secrets.health();
    expect(health).toMatchObject({ service: "secrets", ok: true });
    expect(Object.keys(health.checks).sort()).toEqual(["kv", "master_key"]);
  });

  it("reports a missing or malformed master key as unhealthy, and refuses to store", async () => {
    const broken = new SecretsService(createExecutionContext(), { ...env, MASTER_KEYS: '{"current":"1"' });
    const health = await broken.health();
    expect(health.ok).toBe(false);
    expect(health.checks["master_key"]?.error).toContain("MASTER_KEYS is not JSON");
    expect(await broken.store({ provider: "openai", plaintext: "sk-x" })).toMatchObject({ ok: false, error: { code: "internal_error" } });
  });
});
