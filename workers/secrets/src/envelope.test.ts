import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../../shared/src/bytes";
import { DecryptError, open, parseEnvelope, rewrap, seal, type Envelope } from "./envelope";
import { importKeyRing } from "./master-keys";
import { masterKeysSecret, randomKey } from "./test-keys";

const k1 = randomKey();
const k2 = randomKey();
const ringV1 = () => importKeyRing(masterKeysSecret({ 1: k1 }, "1"));
const ringV2 = () => importKeyRing(masterKeysSecret({ 1: k1, 2: k2 }, "2"));

/** Flips one bit of a base64 field. */
function flip(b64: string): string {
  const bytes = fromBase64(b64);
  bytes[0]! ^= 0x01;
  return toBase64(bytes);
}

async function expectDecryptError(p: Promise<unknown>, reason: DecryptError["reason"]): Promise<DecryptError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DecryptError);
  expect((error as DecryptError).reason).toBe(reason);
  return error as DecryptError;
}

describe("envelope encryption", () => {
  it("round-trips and never contains the plaintext", async () => {
    const ring = await ringV1();
    const env = await seal("cred_a", "sk-live-abcdefghijklmnop", ring);
    expect(JSON.stringify(env)).not.toContain("sk-live");
    expect(env.v).toBe("1");
    expect(await open("cred_a", env, ring)).toBe("sk-live-abcdefghijklmnop");
  });

  it("uses a fresh IV and data key every time", async () => {
    const ring = await ringV1();
    const a = await seal("cred_a", "same", ring);
    const b = await seal("cred_a", "same", ring);
    expect(a.iv).not.toBe(b.iv);
    expect(a.wiv).not.toBe(b.wiv);
    expect(a.ct).not.toBe(b.ct);
    expect(a.wdk).not.toBe(b.wdk);
  });

  it.each<keyof Envelope>(["ct", "iv", "wdk", "wiv"])("reports a flipped bit in %s as tampering, with a clear message", async (field) => {
    const ring = await ringV1();
    const env = await seal("cred_a", "secret-value", ring);
    const error = await expectDecryptError(open("cred_a", { ...env, [field]: flip(env[field] as string) }, ring), "tampered");
    expect(error.message).toContain("cred_a failed its integrity check");
    expect(error.message).not.toContain("secret-value");
  });

  it("binds the ciphertext to its id: a record copied to another id does not decrypt", async () => {
    const ring = await ringV1();
    const env = await seal("cred_a", "secret-value", ring);
    await expectDecryptError(open("cred_b", env, ring), "tampered");
  });

  it("binds the wrapped key to its version: relabelling the version does not decrypt", async () => {
    const ring = await importKeyRing(masterKeysSecret({ 1: k1, 2: k1 }, "1"));
    const env = await seal("cred_a", "secret-value", ring);
    // Same key bytes under both versions: only the AAD tells them apart.
    await expectDecryptError(open("cred_a", { ...env, v: "2" }, ring), "tampered");
  });

  it("keeps old versions decrypting after the master key rotates, and re-wraps to the current one", async () => {
    const env = await seal("cred_a", "written-under-v1", await ringV1());
    const ring = await ringV2();
    expect(await open("cred_a", env, ring)).toBe("written-under-v1");
    const moved = await rewrap("cred_a", env, ring);
    expect(moved.v).toBe("2");
    // Only the data key was re-wrapped: the credential ciphertext is untouched.
    expect(moved.ct).toBe(env.ct);
    expect(moved.iv).toBe(env.iv);
    expect(await open("cred_a", moved, await importKeyRing(masterKeysSecret({ 2: k2 }, "2")))).toBe("written-under-v1");
  });

  it("names a master key version that is no longer configured", async () => {
    const env = await seal("cred_a", "x", await ringV1());
    const error = await expectDecryptError(open("cred_a", env, await importKeyRing(masterKeysSecret({ 2: k2 }, "2"))), "unknown_version");
    expect(error.message).toContain("version '1'");
  });

  it.each(["", "{}", "not json", JSON.stringify({ f: 2, v: "1", wiv: "a", wdk: "a", iv: "a", ct: "a" })])("refuses a malformed record %j", (text) => {
    expect(() => parseEnvelope("cred_a", text)).toThrow(DecryptError);
  });
});
