import { describe, expect, it } from "vitest";
import { importKeyRing, masterKeyRing, MasterKeyError } from "./master-keys";
import { masterKeysSecret, randomKey } from "./test-keys";

describe("master key ring", () => {
  it("imports every version and knows the current one", async () => {
    const ring = await importKeyRing(masterKeysSecret({ 1: randomKey(), 2: randomKey() }, "2"));
    expect(ring.current).toBe("2");
    expect([...ring.keys.keys()].sort()).toEqual(["1", "2"]);
  });

  it("accepts a numeric current version", async () => {
    const raw = JSON.stringify({ current: 1, keys: { 1: btoa(String.fromCharCode(...randomKey())) } });
    expect((await importKeyRing(raw)).current).toBe("1");
  });

  it.each([
    ["missing", undefined, "MASTER_KEYS is not set."],
    ["not JSON", "nope", "MASTER_KEYS is not JSON"],
    ["no key for current", JSON.stringify({ current: "3", keys: { 1: "AAAA" } }), "current version '3' but has no key"],
    ["wrong key length", JSON.stringify({ current: "1", keys: { 1: btoa("short") } }), "must be 32 bytes (AES-256), got 5"],
    ["not base64", JSON.stringify({ current: "1", keys: { 1: "%%%" } }), "is not valid base64"],
    ["extra field", JSON.stringify({ current: "1", keys: {}, other: 1 }), "MASTER_KEYS is malformed"],
  ])("rejects a %s secret with a message that names the problem", async (_name, raw, message) => {
    const error = await masterKeyRing(raw).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasterKeyError);
    expect((error as Error).message).toContain(message);
  });

  it("never puts key material in an error message", async () => {
    const key = btoa("x".repeat(31));
    const error = (await importKeyRing(JSON.stringify({ current: "1", keys: { 1: key } })).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(key);
  });
});
