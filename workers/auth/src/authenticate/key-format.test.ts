import { describe, expect, it } from "vitest";
import { apiKeyChecksum, generateApiKey, hashApiKey, parseApiKey, timingSafeEqualStrings } from "../../../shared/src";

describe("API key format", () => {
  it("is sk-<env>- + 32 random base62 + 6 base62 checksum, and parses back with a display prefix", () => {
    const key = generateApiKey("dev");
    expect(key).toMatch(/^sk-dev-[A-Za-z0-9]{38}$/);
    const parsed = parseApiKey(key);
    expect(parsed).toEqual({ ok: true, env: "dev", prefix: key.slice(0, "sk-dev-".length + 8) });
  });

  it("never repeats (the random part carries the secret)", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey("live")));
    expect(keys.size).toBe(200);
  });

  it("rejects every single-character typo in the random part by checksum, before any lookup", () => {
    const key = generateApiKey("dev");
    const start = "sk-dev-".length;
    for (let i = start; i < start + 32; i++) {
      const c = key[i] === "a" ? "b" : "a";
      const typo = key.slice(0, i) + c + key.slice(i + 1);
      expect(parseApiKey(typo)).toEqual({ ok: false, reason: "checksum" });
    }
  });

  it("rejects swapped adjacent characters", () => {
    let key = generateApiKey("dev");
    while (key[10] === key[11]) key = generateApiKey("dev");
    const swapped = key.slice(0, 10) + key[11] + key[10] + key.slice(12);
    expect(parseApiKey(swapped)).toEqual({ ok: false, reason: "checksum" });
  });

  it("rejects a key from another environment's checksum (the env is covered by the checksum)", () => {
    const key = generateApiKey("dev");
    expect(parseApiKey(key.replace("sk-dev-", "sk-prd-"))).toEqual({ ok: false, reason: "checksum" });
  });

  it("calls anything else malformed", () => {
    for (const bad of ["", "sk-", "sk-dev-short", "Bearer sk-dev-x", "sk-DEV-" + "a".repeat(38), generateApiKey("dev") + "x", "pk-dev-" + "a".repeat(38)]) {
      expect(parseApiKey(bad)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("checksum is 6 base62 characters for any input", () => {
    expect(apiKeyChecksum("")).toMatch(/^[0-9A-Za-z]{6}$/);
    expect(apiKeyChecksum("sk-dev-abc")).toMatch(/^[0-9A-Za-z]{6}$/);
  });

  it("refuses an environment name that would break the format", () => {
    expect(() => generateApiKey("Dev-1")).toThrow();
  });
});

describe("hashing and comparison", () => {
  it("hashes with SHA-256 to lowercase hex", async () => {
    expect(await hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares in constant time and gets equality right for equal, different and different-length strings", async () => {
    expect(await timingSafeEqualStrings("same", "same")).toBe(true);
    expect(await timingSafeEqualStrings("same", "sane")).toBe(false);
    expect(await timingSafeEqualStrings("short", "a much longer string")).toBe(false);
  });
});
