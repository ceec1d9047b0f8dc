import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { D1Database, KVNamespace, KVNamespaceListResult, R2Bucket } from "@cloudflare/workers-types";
import { unstable_readConfig } from "wrangler";
import { WORKERS } from "../../scripts/workers.mjs";
import { startCoreStack } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import type { Stack } from "../support/stack";
import { adminFetch, createKey, revokeKey, tenantWithKey } from "../support/tenants";
import { afterKeyChange } from "../support/propagation";
import { gatewayFetch } from "../support/fetch";

/**
 * "No plaintext key anywhere at rest": issue keys, use them (good and bad), rotate and revoke, then
 * read every local D1 table of every Worker, every KV value (and key name), every R2 object and
 * every captured log line, and find no key — neither whole nor its secret random part.
 */
let stack: Stack;
let close: () => Promise<void>;
let upstream: Awaited<ReturnType<typeof startCoreStack>>["upstream"];
beforeAll(async () => {
  ({ stack, close, upstream } = await startCoreStack());
});
afterAll(() => close?.());

/** Everything stored by every Worker, as text, labelled by where it came from. */
async function everythingAtRest(): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  for (const w of WORKERS) {
    // Binding kinds come from the Worker's own config (the env's RPC proxies answer to any method).
    const config = unstable_readConfig({ config: w.config });
    const env = (await stack.harness.getWorker(w.name).getEnv()) as Record<string, unknown>;
    const stores: [string, "d1" | "kv" | "r2"][] = [
      ...config.d1_databases.map((d: { binding: string }): [string, "d1"] => [d.binding, "d1"]),
      ...config.kv_namespaces.map((k: { binding: string }): [string, "kv"] => [k.binding, "kv"]),
      ...config.r2_buckets.map((r: { binding: string }): [string, "r2"] => [r.binding, "r2"]),
    ];
    for (const [binding, kind] of stores) {
      const value = env[binding];
      if (kind === "d1" && value) {
        const db = value as D1Database;
        const { results: tables } = await db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
          .all<{ name: string }>();
        for (const { name } of tables) {
          const { results } = await db.prepare(`SELECT * FROM "${name}"`).all();
          out.push({ where: `${w.name}.${binding}.${name}`, text: JSON.stringify(results) });
        }
      } else if (kind === "kv" && value) {
        const kv = value as KVNamespace;
        let cursor: string | undefined;
        do {
          const page: KVNamespaceListResult<unknown> = await kv.list(cursor ? { cursor } : {});
          for (const k of page.keys) {
            const { value: v, metadata } = await kv.getWithMetadata(k.name, "text");
            out.push({ where: `${w.name}.${binding}[${k.name}]`, text: `${k.name}\n${v}\n${JSON.stringify(metadata)}` });
          }
          cursor = page.list_complete ? undefined : page.cursor;
        } while (cursor);
      } else if (kind === "r2" && value) {
        const bucket = value as R2Bucket;
        const listed = await bucket.list();
        for (const o of listed.objects) {
          const obj = await bucket.get(o.key);
          out.push({ where: `${w.name}.${binding}/${o.key}`, text: `${o.key}\n${(await obj?.text()) ?? ""}` });
        }
      }
    }
  }
  return out;
}

describe("no plaintext key at rest", () => {
  it("finds no key in any D1 table, KV value, R2 object or log line after keys were issued, used, rotated and revoked", async () => {
    const { tenant, key, apiKey } = await tenantWithKey(stack, { scopes: ["chat", "keys:write"] });
    const second = await createKey(stack, tenant.id, { scopes: ["chat"], name: "second" });
    const secrets: string[] = [apiKey, second.key];

    const use = (k: string, path = "/v1/keys", init: { method?: string; body?: string } = {}) =>
      gatewayFetch(stack, path, { key: k, method: init.method, rawBody: init.body, headers: { "content-type": "application/json" } });

    // Good requests (authenticated: cached in KV, last_used recorded), through both headers.
    expect((await use(apiKey)).status).toBe(200);
    expect((await gatewayFetch(stack, "/v1/keys", { headers: { "x-api-key": apiKey } })).status).toBe(200);
    // A 403 (scope) and requests that fail in different ways, all carrying real key material.
    expect((await use(second.key)).status).toBe(403);
    const typo = apiKey.slice(0, -1) + (apiKey.endsWith("a") ? "b" : "a");
    expect((await use(typo)).status).toBe(401);
    expect((await use(`${apiKey}extra`)).status).toBe(401);
    expect((await use(apiKey, "/admin/tenants")).status).toBe(401);
    expect((await use(apiKey, "/v1/keys", { method: "POST", body: "{broken" })).status).toBe(400);

    // Inference through the whole stack (tail, model-proxy, the upstream, billing's usage rows).
    const model = uniqueModel("at-rest");
    const chat = await use(apiKey, "/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status).toBe(200);
    await chat.text();
    const stream = await use(apiKey, "/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model: `fake/${model}`, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    await stream.text();
    expect((await use(apiKey, "/v1/models")).status).toBe(200);
    expect((await use(typo, "/v1/models")).status).toBe(401);
    await usageRow(stack, chat.headers.get("x-request-id")!);
    await usageRow(stack, stream.headers.get("x-request-id")!);

    // Self-service creation, rotation, revocation.
    const child = (await (await use(apiKey, "/v1/keys", { method: "POST", body: JSON.stringify({ scopes: ["chat"] }) })).json()) as { id: string; key: string };
    secrets.push(child.key);
    const rotated = (await (await adminFetch(stack, `/admin/keys/${key.id}/rotate`, { body: { grace_period_seconds: 60 } })).json()) as { key: string };
    secrets.push(rotated.key);
    expect((await use(rotated.key)).status).toBe(200);
    expect((await use(apiKey)).status).toBe(200); // old secret, in its grace period
    await revokeKey(stack, second.id);
    await afterKeyChange(stack);
    expect((await use(second.key)).status).toBe(401);

    const stored = await everythingAtRest();
    // The scan really reads the stores: the auth tables and the KV cache are in it.
    expect(stored.some((s) => s.where.startsWith("auth.AUTH_DB.api_keys") && s.text.includes(key.id))).toBe(true);
    expect(stored.some((s) => s.where.startsWith("auth.AUTH_CACHE[key:"))).toBe(true);
    expect(stored.some((s) => s.where.startsWith("auth.AUTH_DB.audit_log"))).toBe(true);
    expect(stored.some((s) => s.where.startsWith("billing.BILLING_DB.usage_events") && s.text.includes(key.id))).toBe(true);

    const logs = JSON.stringify(stack.harness.getLogs());
    // The log scan reads real lines: the refused typo'd key was logged (by request id, not by key).
    expect(logs).toContain("api key refused");
    // What the upstream received is not at rest here, but it must not carry a gateway key either.
    const haystacks = [...stored, { where: "logs", text: logs }, { where: "upstream requests", text: JSON.stringify(upstream.requests(model)) }];
    for (const secret of secrets) {
      const randomPart = secret.slice(secret.lastIndexOf("-") + 1, secret.length - 6);
      expect(randomPart).toHaveLength(32);
      for (const { where, text } of haystacks) {
        expect(text.includes(secret), `${where} contains a key`).toBe(false);
        expect(text.includes(randomPart), `${where} contains a key's secret part`).toBe(false);
      }
    }
    for (const { where, text } of haystacks) expect(text.includes(stack.adminToken), `${where} contains the admin token`).toBe(false);
  });
});
