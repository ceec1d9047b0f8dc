import { beforeAll, describe, expect, it } from "vitest";
import { ConfigCache, FRESH_MS, STALE_MS } from "./config-cache";
import { CredentialCache, CREDENTIAL_TTL_MS, type CredentialSource } from "./credentials";
import { migrated } from "./test-support";

let db: D1Database;
beforeAll(async () => {
  db = await migrated();
});

const insert = (owner: string, name: string) =>
  db
    .prepare("INSERT INTO providers (id, owner, name, type, headers, enabled, created_at, updated_at) VALUES (?, ?, ?, 'openai', '{}', 1, 0, 0)")
    .bind(`prv_${owner}_${name}`, owner, name)
    .run();

describe("ConfigCache", () => {
  it("serves fresh entries from memory, stale ones while reloading in the background, and reloads expired ones", async () => {
    let now = 0;
    const cache = new ConfigCache(() => now);
    const background: Promise<unknown>[] = [];
    const run = (p: Promise<unknown>) => void background.push(p);
    await insert("ten_c1", "one");
    expect([...(await cache.get(db, "ten_c1", run)).providers.keys()]).toEqual(["one"]);

    await insert("ten_c1", "two");
    now = FRESH_MS; // still fresh: D1 is not read
    expect([...(await cache.get(db, "ten_c1", run)).providers.keys()]).toEqual(["one"]);
    now = FRESH_MS + 1; // stale: served as is, reloaded behind the request
    expect([...(await cache.get(db, "ten_c1", run)).providers.keys()]).toEqual(["one"]);
    expect(background).toHaveLength(1);
    await Promise.all(background);
    expect([...(await cache.get(db, "ten_c1", run)).providers.keys()]).toEqual(["one", "two"]);

    await insert("ten_c1", "three");
    now += STALE_MS + 1; // too old to serve: the request waits for D1
    expect([...(await cache.get(db, "ten_c1", run)).providers.keys()].sort()).toEqual(["one", "three", "two"]);
  });

  it("forgets an owner on invalidation", async () => {
    const cache = new ConfigCache();
    await cache.get(db, "ten_c2", () => {});
    await insert("ten_c2", "new");
    cache.invalidate("ten_c2");
    expect([...(await cache.get(db, "ten_c2", () => {})).providers.keys()]).toEqual(["new"]);
  });
});

describe("CredentialCache", () => {
  function source(answer: () => Awaited<ReturnType<CredentialSource["reveal"]>>) {
    const calls: string[] = [];
    return { calls, reveal: async (ref: string) => (calls.push(ref), answer()) };
  }
  const ok = { ok: true as const, value: { plaintext: "sk-plain", info: { rotated_at: 1 } } };

  it("reveals once, then serves from memory until the TTL or a rotation", async () => {
    let now = 0;
    const cache = new CredentialCache(() => now);
    const s = source(() => ok);
    const cred = { ref: "cred_a", rotatedAt: 1 };
    expect(await cache.reveal(s, "p", cred)).toEqual({ ok: true, value: "sk-plain" });
    await cache.reveal(s, "p", cred);
    expect(s.calls).toHaveLength(1);
    await cache.reveal(s, "p", { ref: "cred_a", rotatedAt: 2 });
    expect(s.calls).toHaveLength(2);
    now = CREDENTIAL_TTL_MS + 1;
    await cache.reveal(s, "p", { ref: "cred_a", rotatedAt: 2 });
    expect(s.calls).toHaveLength(3);
  });

  it("turns a tampered ciphertext into a clear error naming the provider, and does not cache failures", async () => {
    const cache = new CredentialCache();
    const s = source(() => ({
      ok: false,
      error: { code: "internal_error", message: "Credential cred_b failed its integrity check and cannot be decrypted." },
    }));
    const result = await cache.reveal(s, "openai", { ref: "cred_b", rotatedAt: 1 });
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: "internal_error",
        message: expect.stringContaining("stored credential of provider 'openai' cannot be decrypted: Credential cred_b failed its integrity check"),
      },
    });
    await cache.reveal(s, "openai", { ref: "cred_b", rotatedAt: 1 });
    expect(s.calls).toHaveLength(2);
  });

  it("reports an unreachable secrets Worker as retryable without internals", async () => {
    const cache = new CredentialCache();
    const s = { reveal: () => Promise.reject(new Error("network down at 10.0.0.1")) };
    const result = await cache.reveal(s, "openai", { ref: "cred_c", rotatedAt: 1 });
    expect(result).toMatchObject({ ok: false, error: { code: "service_unavailable", headers: { "retry-after": "1" } } });
    expect(JSON.stringify(result)).not.toContain("10.0.0.1");
  });
});
