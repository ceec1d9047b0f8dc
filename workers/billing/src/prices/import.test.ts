import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Price } from "../../../shared/src/pricing";
import { PriceStore } from "./store";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});

const price = (model: string, input: number, extra: Partial<Price> = {}): Price => ({
  model,
  provider: "openai",
  input_per_mtok_micros: input,
  output_per_mtok_micros: input * 4,
  cached_input_per_mtok_micros: null,
  cache_write_per_mtok_micros: null,
  ...extra,
});

const importOf = async (model: string) =>
  (await env.BILLING_DB.prepare("SELECT import_id FROM prices WHERE model = ?").bind(model).first<{ import_id: number | null }>())?.import_id;
const versionsOf = async (model: string) =>
  (await env.BILLING_DB.prepare("SELECT COUNT(*) AS n FROM price_versions WHERE model = ?").bind(model).first<{ n: number }>())?.n;

describe("PriceStore.importVersion", () => {
  it("writes changed rows as one import (each a new price version), leaves equal ones alone, keeps the batch discount, and a re-import records nothing", async () => {
    const store = new PriceStore(env.BILLING_DB);
    await store.put({ ...price("imp-kept", 100), batch_discount_pct: 50 });
    await store.put(price("imp-same", 200));
    const file = [price("imp-kept", 150), price("imp-same", 200), price("imp-new", 300, { cached_input_per_mtok_micros: 30 })];

    const dry = await store.importVersion(file, { dryRun: true, source: "litellm" });
    expect(dry).toEqual({
      import_id: null,
      changed: true,
      prices: [
        { model: "imp-kept", action: "update", changes: ["input_per_mtok_micros", "output_per_mtok_micros"] },
        { model: "imp-same", action: "unchanged", changes: [] },
        { model: "imp-new", action: "create", changes: expect.arrayContaining(["input_per_mtok_micros"]) },
      ],
    });
    expect(await store.get("imp-new")).toBeNull();

    const applied = await store.importVersion(file, { dryRun: false, source: "litellm" });
    expect(applied.import_id).toEqual(expect.any(Number));
    expect(await store.get("imp-kept")).toMatchObject({ input_per_mtok_micros: 150, batch_discount_pct: 50 });
    expect(await store.get("imp-new")).toMatchObject({ input_per_mtok_micros: 300, cached_input_per_mtok_micros: 30 });
    expect(await importOf("imp-kept")).toBe(applied.import_id);
    expect(await importOf("imp-same")).toBeNull();
    expect([await versionsOf("imp-kept"), await versionsOf("imp-same"), await versionsOf("imp-new")]).toEqual([2, 1, 1]);
    const row = await env.BILLING_DB.prepare("SELECT source, created, updated FROM price_imports WHERE id = ?").bind(applied.import_id).first();
    expect(row).toEqual({ source: "litellm", created: 1, updated: 1 });

    const again = await store.importVersion(file, { dryRun: false, source: "litellm" });
    expect(again).toMatchObject({ import_id: null, changed: false });
    expect(await versionsOf("imp-kept")).toBe(2);
    expect(again.prices.every((e) => e.action === "unchanged")).toBe(true);

    // A price set by hand afterwards belongs to no import.
    await store.put(price("imp-kept", 160));
    expect(await importOf("imp-kept")).toBeNull();
  });
});
