import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateApiKey, type Principal, type Result } from "../../../shared/src";
import { createKey, revokeKey } from "../admin/keys";
import { createTenant } from "../admin/tenants";
import { ADMIN, background, testEnv } from "../test-support";
import { authenticate } from "./authenticate";
import { resetRefusals } from "./secret-lookup";

/**
 * What an unknown but well-formed key (the checksum is a CRC: anyone can make one) costs D1. The
 * auth D1 binding is wrapped to count the key lookups it runs (and, for the concurrency case, to
 * hold the first one until every request is waiting); everything else is the real Worker code and
 * the real local D1/KV.
 */
let env: AuthEnv;
beforeAll(async () => {
  ({ env } = await testEnv());
});
beforeEach(() => resetRefusals());

const isKeyLookup = (sql: string) => sql.includes("FROM api_key_secrets s");

/** The auth env with its D1 counting key lookups; the first lookup waits for `release()` when `hold` is set. */
function countingEnv(hold = false) {
  let lookups = 0;
  let release!: () => void;
  const gate = hold ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  const db = env.AUTH_DB;
  const counted = {
    prepare(sql: string) {
      const statement = db.prepare(sql);
      if (!isKeyLookup(sql)) return statement;
      return {
        bind(...values: unknown[]) {
          const bound = statement.bind(...values);
          const n = ++lookups;
          const wait = () => (n === 1 ? gate : Promise.resolve());
          return {
            all: async <T>() => (await wait(), bound.all<T>()),
            first: async <T>() => (await wait(), bound.first<T>()),
          };
        },
      };
    },
    batch: db.batch.bind(db),
  } as unknown as D1Database;
  const kv = env.AUTH_CACHE;
  let kvReads = 0;
  let onKvReads: { n: number; then: () => void } | undefined;
  const countedKv = Object.assign(Object.create(kv) as KVNamespace, {
    get: async (...args: Parameters<KVNamespace["get"]>) => {
      const value = await (kv.get as (...a: unknown[]) => Promise<unknown>)(...args);
      if (++kvReads === onKvReads?.n) setTimeout(onKvReads.then, 0); // after the last reader's continuation
      return value;
    },
  });
  return {
    env: Object.assign(Object.create(null), env, { AUTH_DB: counted, AUTH_CACHE: countedKv }) as AuthEnv,
    lookups: () => lookups,
    release: () => release(),
    releaseAfterKvReads: (n: number) => (onKvReads = { n, then: () => release() }),
  };
}

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

async function auth(e: AuthEnv, key: string): Promise<Result<Principal>> {
  return authenticate({ env: e, waitUntil: background().waitUntil }, key);
}

describe("unknown well-formed keys and D1", () => {
  it("a key D1 does not know, sent again and again, costs one D1 query per isolate, not one per request", async () => {
    const c = countingEnv();
    const unknown = generateApiKey("dev");
    for (let i = 0; i < 20; i++) {
      expect(await auth(c.env, unknown)).toMatchObject({
        ok: false,
        error: { code: "invalid_api_key", message: expect.stringContaining("Incorrect API key") },
      });
    }
    expect(c.lookups()).toBe(1);

    // A revoked key is refused for good too: one query, then memory.
    const tenant = value(await createTenant(env, ADMIN, { name: "neg" }));
    const created = value(await createKey(env, ADMIN, tenant.id, {}));
    value(await revokeKey(env, ADMIN, created.id));
    for (let i = 0; i < 5; i++) {
      expect(await auth(c.env, created.key)).toMatchObject({ ok: false, error: { code: "invalid_api_key", message: "This API key has been revoked." } });
    }
    expect(c.lookups()).toBe(2);

    // No window for new keys: one created now works at once (its hash was never looked up before it existed).
    const fresh = value(await createKey(env, ADMIN, tenant.id, {}));
    expect(await auth(c.env, fresh.key)).toMatchObject({ ok: true, value: { keyId: fresh.id } });
  });

  it("a burst of distinct random keys shares D1 queries: those that arrive while one is in flight go together in the next", async () => {
    const c = countingEnv(true);
    const n = 30;
    const tenant = value(await createTenant(env, ADMIN, { name: "burst" }));
    const real = value(await createKey(env, ADMIN, tenant.id, {}));
    const keys = [...Array.from({ length: n - 1 }, () => generateApiKey("dev")), real.key];
    c.releaseAfterKvReads(n); // hold the first query until every request has read KV and is waiting on D1
    const results = await Promise.all(keys.map((k) => auth(c.env, k)));
    expect(results.filter((r) => !r.ok)).toHaveLength(n - 1);
    for (const r of results.slice(0, -1)) expect(r).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    expect(results.at(-1)).toMatchObject({ ok: true, value: { keyId: real.id } });
    // The first request's query, then one for the other 29 (today: 30, one per request).
    expect(c.lookups()).toBe(2);
  });
});
