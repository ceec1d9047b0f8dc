import { describe, expect, it } from "vitest";
import { hashPassword, ITERATIONS, needsRehash, ROUNDS, verifyPassword } from "./password";

describe("password hashing (PBKDF2-HMAC-SHA-256, 6 × 100,000 iterations)", () => {
  it("verifies the right password, refuses a wrong one and an unknown user, and salts every hash", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(stored).toMatch(/^pbkdf2-sha256\$6x100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(ROUNDS * ITERATIONS).toBe(600_000);
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", stored)).toBe(false);
    expect(await verifyPassword("correct horse battery staple", null)).toBe(false);
    expect(await hashPassword("correct horse battery staple")).not.toBe(stored);
    expect(needsRehash(stored)).toBe(false);
    expect(needsRehash("pbkdf2-sha256$1x100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBe(true);
  });

  it("refuses a stored hash that asks for more than the platform's per-derivation cap or is malformed", async () => {
    expect(await verifyPassword("x", "pbkdf2-sha256$6x200000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).toBe(false);
    expect(await verifyPassword("x", "plain:x")).toBe(false);
  });
});
