import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { api, createProvider, providerTenant, type Caller, type ProviderView } from "../support/providers";
import { startStack, type Stack } from "../support/stack";
import { d1, kv } from "../support/stores";

let stack: Stack;
let upstream: FakeUpstream;
let admin: Caller;
let tenant: { caller: Caller; client: OpenAI };
beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startStack();
  admin = { token: stack.adminToken };
  tenant = await providerTenant(stack);
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

interface SecretsEnv {
  MASTER_KEYS: string;
}
/** The secrets Worker's master-key var (a var, not a store: read from its env). */
const secretsEnv = async () => (await stack.harness.getWorker("secrets").getEnv()) as unknown as SecretsEnv;
const SECRETS = () => kv(stack, "secrets", "SECRETS");
const PROXY_DB = () => d1(stack, "model-proxy");

/** The credential reference model-proxy keeps for a provider (never the credential itself). */
async function credentialRef(provider: ProviderView): Promise<string> {
  const row = await (await PROXY_DB()).prepare("SELECT credential_ref FROM providers WHERE id = ?").bind(provider.id).first<{ credential_ref: string }>();
  return row!.credential_ref;
}

async function metadataVersion(ref: string): Promise<string | undefined> {
  const { metadata } = await (await SECRETS()).getWithMetadata<{ version: string }>(ref);
  return metadata?.version;
}

/** Deploys a new MASTER_KEYS secret to the secrets Worker (the running stack reloads; storage stays). */
async function deployMasterKeys(masterKeys: string): Promise<void> {
  await stack.harness.update((current) => ({
    ...current,
    workers: current.workers!.map((w) =>
      "configPath" in w && String(w.configPath).includes("workers/secrets/") ? { ...w, secrets: { ...w.secrets, MASTER_KEYS: masterKeys } } : w,
    ),
  }));
}

const ask = (model: string) => tenant.client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();

/** Calls the re-wrap until every page is done. */
async function rewrapAll(): Promise<{ rewrapped: number; failed: unknown[] }> {
  let cursor: string | null = null;
  let rewrapped = 0;
  const failed: unknown[] = [];
  do {
    const res = await api(stack, admin, "POST", "/admin/credentials/rewrap", cursor ? { cursor, limit: 2 } : { limit: 2 });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { rewrapped: number; failed: unknown[]; cursor: string | null };
    rewrapped += page.rewrapped;
    failed.push(...page.failed);
    cursor = page.cursor;
  } while (cursor);
  return { rewrapped, failed };
}

describe("master-key rotation", () => {
  it("keeps credentials written before the rotation working, re-wraps them, and then the old key can go", async () => {
    const before = await createProvider(stack, tenant.caller, { name: "before-rotation", type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    // Written under version 1 and first used only after version 1 is gone: no cache can hide anything.
    const untouched = await createProvider(stack, tenant.caller, { name: "untouched", type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    const ref = await credentialRef(before);
    expect(await metadataVersion(ref)).toBe("1");
    expect(await metadataVersion(await credentialRef(untouched))).toBe("1");
    expect((await ask(`before-rotation/${uniqueModel("mk")}`)).response.status).toBe(200);

    // 1. A new master key version becomes current; version 1 stays listed.
    const original = JSON.parse((await secretsEnv()).MASTER_KEYS) as { current: string; keys: Record<string, string> };
    const v2 = randomBytes(32).toString("base64");
    await deployMasterKeys(JSON.stringify({ current: "2", keys: { ...original.keys, 2: v2 } }));
    expect((await ask(`before-rotation/${uniqueModel("mk")}`)).response.status).toBe(200);
    const after = await createProvider(stack, tenant.caller, { name: "after-rotation", type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    expect(await metadataVersion(await credentialRef(after))).toBe("2");

    // 2. Re-wrap everything under version 2.
    const report = await rewrapAll();
    expect(report.failed).toEqual([]);
    expect(report.rewrapped).toBeGreaterThanOrEqual(1);
    expect(await metadataVersion(ref)).toBe("2");
    expect(await metadataVersion(await credentialRef(untouched))).toBe("2");
    expect((await rewrapAll()).rewrapped).toBe(0);

    // 3. Version 1 is removed: everything still decrypts.
    await deployMasterKeys(JSON.stringify({ current: "2", keys: { 2: v2 } }));
    const model = uniqueModel("mk-final");
    expect((await ask(`before-rotation/${model}`)).response.status).toBe(200);
    expect((await ask(`after-rotation/${uniqueModel("mk-final")}`)).response.status).toBe(200);
    expect((await ask(`untouched/${uniqueModel("mk-final")}`)).response.status).toBe(200);
    expect(upstream.requests(model)[0]!.headers["authorization"]).toBe(`Bearer ${upstream.apiKey}`);
  });
});

describe("tampered ciphertext", () => {
  it("fails to decrypt with a clear error, and the upstream is never called", async () => {
    const provider = await createProvider(stack, tenant.caller, {
      name: "tampered",
      type: "openai",
      base_url: upstream.url,
      api_key: upstream.apiKey,
      models: ["tamper-model"],
    });
    const ref = await credentialRef(provider);
    const secrets = await SECRETS();
    const stored = await secrets.getWithMetadata(ref);
    const record = JSON.parse(stored.value!) as { ct: string };
    const bytes = Buffer.from(record.ct, "base64");
    bytes[0]! ^= 0x01;
    await secrets.put(ref, JSON.stringify({ ...record, ct: bytes.toString("base64") }), { metadata: stored.metadata });

    const err = (await ask("tampered/tamper-model").catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(500);
    expect(err.message).toContain("stored credential of provider 'tampered' cannot be decrypted");
    expect(err.message).toContain("integrity check");
    expect(err.message).toContain("Rotate the provider's API key");
    expect(upstream.requests("tamper-model")).toHaveLength(0);

    const report = await (await api(stack, tenant.caller, "POST", `/v1/providers/${provider.id}/test`)).json();
    expect(report).toMatchObject({ ok: false, error: { code: "internal_error", message: expect.stringContaining("integrity check") } });

    // Rotating stores a fresh ciphertext: the provider works again.
    await api(stack, tenant.caller, "POST", `/v1/providers/${provider.id}/rotate`, { api_key: upstream.apiKey });
    expect((await ask("tampered/tamper-model")).response.status).toBe(200);
  });
});
