import { env as testEnv } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { importKeyRing } from "./master-keys";
import { masterKeysSecret, randomKey } from "./test-keys";
import { DecryptError } from "./envelope";
import { last4Of, Vault, type CredentialMetadata } from "./vault";

/** The secrets Worker's own bindings (the test runtime loads its wrangler config). */
const env = testEnv as unknown as SecretsEnv;

const k1 = randomKey();
const k2 = randomKey();
const KEY = "fake-provider-key-0123456789abcdefWXYZ";

const vaultV1 = async () => new Vault(env.SECRETS, await importKeyRing(masterKeysSecret({ 1: k1 }, "1")));
const vaultV2 = async () => new Vault(env.SECRETS, await importKeyRing(masterKeysSecret({ 1: k1, 2: k2 }, "2")));

describe("Vault", () => {
  it("stores ciphertext with metadata in KV, never the plaintext", async () => {
    const vault = await vaultV1();
    const info = await vault.store("openai", KEY);
    expect(info).toMatchObject({ ref: expect.stringMatching(/^cred_/), version: "1", provider: "openai", last4: "WXYZ" });
    const stored = await env.SECRETS.getWithMetadata<CredentialMetadata>(info.ref);
    expect(stored.value).not.toContain(KEY);
    expect(stored.value).not.toContain("0123456789");
    expect(stored.metadata).toEqual({ version: "1", provider: "openai", last4: "WXYZ", rotated_at: info.rotated_at });
    expect((await vault.reveal(info.ref))?.plaintext).toBe(KEY);
  });

  it("rotates the credential behind the same ref", async () => {
    const vault = await vaultV1();
    const info = await vault.store("openai", KEY);
    const rotated = await vault.rotate(info.ref, "sk-proj-new-credential-0000NEW1");
    expect(rotated).toMatchObject({ ref: info.ref, last4: "NEW1" });
    expect((await vault.reveal(info.ref))?.plaintext).toBe("sk-proj-new-credential-0000NEW1");
    expect(await vault.rotate("cred_0000000000000000000000", "x")).toBeNull();
  });

  it("deletes", async () => {
    const vault = await vaultV1();
    const info = await vault.store("openai", KEY);
    expect(await vault.delete(info.ref)).toBe(true);
    expect(await vault.reveal(info.ref)).toBeNull();
    expect(await vault.delete(info.ref)).toBe(false);
  });

  it("master-key rotation: old credentials decrypt before and after re-wrapping, new ones use the new version", async () => {
    const before = await (await vaultV1()).store("groq", "gsk_written_before_rotation_1");
    const vault = await vaultV2();
    expect((await vault.reveal(before.ref))?.plaintext).toBe("gsk_written_before_rotation_1");
    const after = await vault.store("groq", "gsk_written_after_rotation_22");
    expect(after.version).toBe("2");

    let cursor: string | null = null;
    let rewrapped = 0;
    do {
      const report = await vault.rewrapPage(cursor, 2);
      expect(report.failed).toEqual([]);
      rewrapped += report.rewrapped;
      cursor = report.cursor;
    } while (cursor);
    expect(rewrapped).toBeGreaterThanOrEqual(1);

    const meta = await env.SECRETS.getWithMetadata<CredentialMetadata>(before.ref);
    expect(meta.metadata?.version).toBe("2");
    expect(meta.metadata?.rotated_at).toBe(before.rotated_at);
    // Once everything is re-wrapped, version 1 can be dropped from MASTER_KEYS.
    const v2Only = new Vault(env.SECRETS, await importKeyRing(masterKeysSecret({ 2: k2 }, "2")));
    expect((await v2Only.reveal(before.ref))?.plaintext).toBe("gsk_written_before_rotation_1");
    expect((await v2Only.reveal(after.ref))?.plaintext).toBe("gsk_written_after_rotation_22");
  });

  it("reports a tampered record as a clear error when revealing, and in the re-wrap report", async () => {
    const vault = await vaultV1();
    const info = await vault.store("openai", KEY);
    const stored = await env.SECRETS.getWithMetadata<CredentialMetadata>(info.ref);
    expect(stored.value).not.toBeNull();
    const record = JSON.parse(stored.value ?? "") as { ct: string };
    record.ct = record.ct.slice(0, -6) + (record.ct.slice(-6, -5) === "A" ? "B" : "A") + record.ct.slice(-5);
    await env.SECRETS.put(info.ref, JSON.stringify(record), { metadata: stored.metadata });
    const error = await vault.reveal(info.ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as Error).message).toContain(`${info.ref} failed its integrity check`);
  });
});

describe("last4Of", () => {
  it("shows four characters only of credentials long enough to spare them", () => {
    expect(last4Of("sk-0123456789abcdef")).toBe("cdef");
    expect(last4Of("short-key")).toBeNull();
  });
});
