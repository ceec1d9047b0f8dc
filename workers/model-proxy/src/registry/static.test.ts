import { describe, expect, it } from "vitest";
import { StaticRegistry } from "./static";

const tenant = { tenantId: "t", keyId: "k", scopes: [] };
const config = JSON.stringify([
  { name: "openai", type: "openai", models: ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"] },
  { name: "together", type: "together", models: ["meta-llama/Llama-3-8b", "gpt-4o"] },
  { name: "local", type: "vllm", base_url: "http://127.0.0.1:8000/v1" },
  { name: "groq", type: "groq" },
]);
const keys = JSON.stringify({ openai: "sk-openai", together: "tg-key", groq: "gsk-key" });
const registry = () => StaticRegistry.fromConfig(config, keys);

describe("StaticRegistry", () => {
  it("resolves a pinned <provider>/<model> to that provider with the upstream model name", async () => {
    const r = await registry().resolve("openai/gpt-4o", "chat", tenant);
    expect(r.ok && r.value.targets.map((t) => [t.provider.name, t.model, t.provider.apiKey, t.provider.baseUrl])).toEqual([
      ["openai", "gpt-4o", "sk-openai", "https://api.openai.com/v1"],
    ]);
  });

  it("keeps slashes of the model name after the provider", async () => {
    const r = await registry().resolve("together/meta-llama/Llama-3-8b", "chat", tenant);
    expect(r.ok && r.value.targets[0]!.model).toBe("meta-llama/Llama-3-8b");
  });

  it("resolves a bare name to the first provider that lists it, also when the name has a slash", async () => {
    const bare = await registry().resolve("gpt-4o", "chat", tenant);
    expect(bare.ok && bare.value.targets[0]!.provider.name).toBe("openai");
    const slashed = await registry().resolve("meta-llama/Llama-3-8b", "chat", tenant);
    expect(slashed.ok && slashed.value.targets[0]!.provider.name).toBe("together");
  });

  it("lets a provider without a models list serve any pinned model (keyless types need no key)", async () => {
    const r = await registry().resolve("local/qwen2.5", "completions", tenant);
    expect(r.ok && [r.value.targets[0]!.model, r.value.targets[0]!.provider.apiKey]).toEqual(["qwen2.5", ""]);
  });

  it("answers 404 model_not_found naming param model for unknown names", async () => {
    for (const name of ["gpt-5-nope", "openai/not-listed", "nobody/gpt-4o", "openai/"]) {
      const r = await registry().resolve(name, "chat", tenant);
      expect(r.ok ? null : r.error).toMatchObject({ code: "model_not_found", param: "model" });
    }
  });

  it("refuses an operation the provider does not serve", async () => {
    const r = await registry().resolve("groq/llama3", "embeddings", tenant);
    expect(r.ok ? null : r.error).toMatchObject({ code: "invalid_request", param: "model" });
  });

  it("lists pinned names and the bare names that resolve to each provider", async () => {
    const ids = (await registry().list(tenant)).map((m) => `${m.id}@${m.ownedBy}`);
    expect(ids).toEqual(expect.arrayContaining(["openai/gpt-4o@openai", "gpt-4o@openai", "together/gpt-4o@together", "meta-llama/Llama-3-8b@together"]));
    expect(ids).not.toContain("gpt-4o@together");
  });

  it("rejects bad configuration without echoing keys", () => {
    expect(() => StaticRegistry.fromConfig(JSON.stringify([{ name: "openai", type: "openai" }]), "{}")).toThrow(/no key/);
    expect(() => StaticRegistry.fromConfig(JSON.stringify([{ name: "x", type: "openai-compatible" }]), "{}")).toThrow(/needs a base_url/);
    expect(() =>
      StaticRegistry.fromConfig(
        JSON.stringify([
          { name: "a", type: "vllm" },
          { name: "a", type: "vllm" },
        ]),
        "{}",
      ),
    ).toThrow(/duplicate/);
    expect(() => StaticRegistry.fromConfig("[]", "not json")).toThrow(/PLATFORM_PROVIDER_KEYS/);
    expect(StaticRegistry.fromConfig("", "").providers.size).toBe(0);
  });

  it("runs without the PLATFORM_PROVIDER_KEYS secret: as {} (no platform provider, or keyless ones only)", () => {
    expect(StaticRegistry.fromConfig("[]", undefined).providers.size).toBe(0);
    const local = StaticRegistry.fromConfig(JSON.stringify([{ name: "local", type: "ollama", base_url: "http://127.0.0.1:11434/v1" }]), undefined);
    expect(local.providers.get("local")).toMatchObject({ name: "local", apiKey: "" });
    expect(() => StaticRegistry.fromConfig(JSON.stringify([{ name: "openai", type: "openai" }]), undefined)).toThrow(
      "PLATFORM_PROVIDERS[0] ('openai'): no key in PLATFORM_PROVIDER_KEYS",
    );
  });
});
