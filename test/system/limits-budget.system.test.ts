import OpenAI, { RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import type { FakeUpstream } from "../fake-upstream/server";
import type { Stack } from "../support/stack";
import { adminFetch, updateKey, updateTenant } from "../support/tenants";
import { d1 } from "../support/stores";
import { clientFor, openaiClient } from "../support/clients";
import { limiterSnapshot } from "../support/limiter";
import { afterKeyChange, afterPriceChange } from "../support/propagation";

/**
 * Monthly budgets through the whole stack: the worst-case cost is reserved before the upstream is
 * called and replaced by the actual cost after, so parallel requests can never overspend, and a
 * refused request costs nothing. Spend is checked where it is recorded: billing's usage rows.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

const MESSAGES = [{ role: "user" as const, content: "What is the capital of France?" }];
const MAX_TOKENS = 50;
/**
 * Costs at $100 per 1M tokens in and out (100 µ$ a token), worked out from the documented rules,
 * not by calling the production estimator or pricing code (they have their own unit tests):
 * - worst case reserved = (prompt estimate + max_tokens) × 100 µ$, the prompt estimate of the one
 *   30-ASCII-character message being 4 framing + ceil(30 / 4) = 12 tokens (estimate.ts):
 *   (12 + 50) × 100 = 6 200 µ$;
 * - actual = the fixture's usage (test/fixtures/openai/chat-text.json: 24 prompt + 7 completion
 *   tokens) × 100 µ$ = 3 100 µ$.
 */
const WORST_CASE_MICROS = (12 + MAX_TOKENS) * 100;
const ACTUAL_MICROS = (24 + 7) * 100;

/** The key's counters in the object that holds them: its own, or its tenant's when the tenant has limits. */
const keySnapshot = (keyId: string, object = `key:${keyId}`) => limiterSnapshot(stack, object, `key:${keyId}`);

/** Waits until every admitted request of the key has settled in `object` (settle runs after the response). */
const settled = (keyId: string, object?: string) =>
  eventually(async () => ((await keySnapshot(keyId, object)).reservedMicros === 0 ? true : null), 15_000, "settlement");

/** A model priced at $100 per 1M tokens in and out, with the fixture's worst-case and actual cost. */
async function pricedModel(label: string) {
  const model = uniqueModel(label);
  await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 100, output_per_mtok: 100 } });
  await afterPriceChange(stack);
  return { model, worstCase: WORST_CASE_MICROS, actual: ACTUAL_MICROS };
}

async function budgetRefusal(promise: Promise<unknown>): Promise<RateLimitError> {
  const err = await promise.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RateLimitError);
  expect((err as RateLimitError).code).toBe("insufficient_quota");
  return err as RateLimitError;
}

const usd = (micros: number) => micros / 1_000_000;
/** Money as refusals print it (README: at least cents, and every digit finer than a cent, never rounded). */
const money = (micros: number) =>
  `$${(micros / 1_000_000)
    .toFixed(6)
    .replace(/0+$/, "")
    .replace(/\.(\d?)$/, (_, d: string) => `.${d.padEnd(2, "0")}`)}`;

async function billedRows(keyId: string): Promise<{ request_id: string; status: number; cost_usd_micros: number }[]> {
  const { results } = await (
    await d1(stack, "billing")
  )
    .prepare("SELECT request_id, status, cost_usd_micros FROM usage_events WHERE key_id = ?")
    .bind(keyId)
    .all<{ request_id: string; status: number; cost_usd_micros: number }>();
  return results;
}

describe("monthly budget", () => {
  it("parallel requests never make the recorded spend exceed the budget, and refused requests cost nothing", async () => {
    const model = uniqueModel("budget");
    // $100 per 1M tokens in and out: 100 µ$ per token.
    const put = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 100, output_per_mtok: 100 } });
    expect(put.status).toBe(201);
    await afterPriceChange(stack);
    const worstCase = WORST_CASE_MICROS;
    const actual = ACTUAL_MICROS;
    const budgetMicros = 10 * worstCase + Math.floor(worstCase / 2);

    const { client, key } = await clientFor(stack, { budget: { monthly_usd: budgetMicros / 1_000_000 } });
    let admitted = 0;
    const refusals: RateLimitError[] = [];
    // Waves of parallel requests until a wave (with nothing left in flight) is refused entirely.
    for (let wave = 0; wave < 20; wave++) {
      const outcomes = await Promise.all(
        Array.from({ length: 15 }, () =>
          client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS }).then(
            () => "ok" as const,
            (err: unknown) => {
              if (err instanceof RateLimitError) return err;
              throw err;
            },
          ),
        ),
      );
      const ok = outcomes.filter((o) => o === "ok").length;
      admitted += ok;
      refusals.push(...outcomes.filter((o): o is RateLimitError => o !== "ok"));
      // Every admitted request settles after its response; wait until nothing is reserved any more.
      await eventually(async () => ((await keySnapshot(key.id)).reservedMicros === 0 ? true : null), 15_000, "settlement");
      if (ok === 0) break;
    }

    // Recorded spend: exactly the admitted requests at their actual cost, within the budget, and
    // close to it (the budget is not wasted by over-reservation once requests settle).
    const rows = await eventually(
      async () => {
        const r = await billedRows(key.id);
        return r.length >= admitted ? r : null;
      },
      20_000,
      "usage rows",
    );
    expect(rows).toHaveLength(admitted);
    expect(upstream.requests(model)).toHaveLength(admitted);
    const spent = rows.reduce((n, r) => n + r.cost_usd_micros, 0);
    for (const r of rows) expect(r).toMatchObject({ status: 200, cost_usd_micros: actual });
    expect(spent).toBeLessThanOrEqual(budgetMicros);
    expect(spent).toBeGreaterThan(budgetMicros - worstCase);
    expect(admitted).toBe(Math.floor((budgetMicros - worstCase) / actual) + 1);

    // The limiter's view of the month agrees with billing to the micro-dollar.
    expect(await keySnapshot(key.id)).toMatchObject({ inFlight: 0, reservedMicros: 0, spentMicros: spent });

    // Refusals: OpenAI's insufficient_quota, marked as not worth retrying.
    expect(refusals.length).toBeGreaterThan(0);
    for (const e of refusals) {
      expect(e.status).toBe(429);
      expect(e.code).toBe("insufficient_quota");
      expect(e.type).toBe("insufficient_quota");
      expect(e.headers.get("x-should-retry")).toBe("false");
      expect(e.message).toContain(`monthly budget of API key ${key.id}`);
    }
  });

  it("a budget set mid-month counts what the key already spent this month", async () => {
    const model = uniqueModel("budget-late");
    await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 100, output_per_mtok: 100 } });
    await afterPriceChange(stack);
    const worstCase = WORST_CASE_MICROS;
    const actual = ACTUAL_MICROS;

    // No limits yet: the key skips the limiter entirely; billing records what it spends.
    const { client, key } = await clientFor(stack);
    const call = () => client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS });
    for (let i = 0; i < 3; i++) await call();
    await eventually(async () => ((await billedRows(key.id)).length === 3 ? true : null), 20_000, "usage rows");

    // A budget one micro-dollar short of the spend so far plus one worst case: refused.
    await updateKey(stack, key.id, { budget: { monthly_usd: (3 * actual + worstCase - 1) / 1_000_000 } });
    await afterKeyChange(stack);
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).code).toBe("insufficient_quota");
    expect((err as RateLimitError).message).toContain(`spent or reserved ${money(3 * actual)}`);

    // Exactly enough: admitted.
    await updateKey(stack, key.id, { budget: { monthly_usd: (3 * actual + worstCase) / 1_000_000 } });
    await afterKeyChange(stack);
    await call();
    await eventually(async () => ((await keySnapshot(key.id)).reservedMicros === 0 ? true : null), 15_000, "settlement");
    expect((await keySnapshot(key.id)).spentMicros).toBe(4 * actual);
  });

  it("a budget given mid-month to a key that spent under its tenant's budget counts that spend once", async () => {
    const { model, worstCase, actual } = await pricedModel("budget-late-tenant");
    // The tenant has a budget, the key a rate limit but no budget: the key's counters live in the
    // tenant's object, which sums the key's spend there as well.
    const { client, key, tenant } = await clientFor(stack, { limits: { rpm: 1000 } });
    await updateTenant(stack, tenant.id, { budget: { monthly_usd: 100 } });
    await afterKeyChange(stack);
    const call = () => client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS });
    for (let i = 0; i < 3; i++) await call();
    await eventually(async () => ((await billedRows(key.id)).length === 3 ? true : null), 20_000, "usage rows");

    // The key is given a budget: its 3 requests count once (billing recorded them; the object had summed them too).
    await updateKey(stack, key.id, { budget: { monthly_usd: usd(3 * actual + worstCase - 1) } });
    await afterKeyChange(stack);
    expect((await budgetRefusal(call())).message).toContain(`spent or reserved ${money(3 * actual)}`);
    await updateKey(stack, key.id, { budget: { monthly_usd: usd(3 * actual + worstCase) } });
    await afterKeyChange(stack);
    await call();
    await settled(key.id, `tenant:${tenant.id}`);
    expect((await keySnapshot(key.id, `tenant:${tenant.id}`)).spentMicros).toBe(4 * actual);
  });

  it("toggling the tenant's limits moves the key's month spend between objects: none is lost, none counted twice", async () => {
    const { model, worstCase, actual } = await pricedModel("budget-toggle");
    const { client, key, tenant } = await clientFor(stack, { budget: { monthly_usd: usd(3 * actual + worstCase - 1) } });
    const call = () => client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS });
    // Two requests counted in the key's own object …
    for (let i = 0; i < 2; i++) await call();
    await settled(key.id);
    // … one in the tenant's object while the tenant has a rate limit (its usage may still be queued) …
    await updateTenant(stack, tenant.id, { limits: { rpm: 1000 } });
    await afterKeyChange(stack);
    await call();
    await settled(key.id, `tenant:${tenant.id}`);
    // … and back in the key's own object once the tenant's limit is gone: all three count, once.
    await updateTenant(stack, tenant.id, { limits: { rpm: null } });
    await afterKeyChange(stack);
    expect((await budgetRefusal(call())).message).toContain(`spent or reserved ${money(3 * actual)}`);
    await updateKey(stack, key.id, { budget: { monthly_usd: usd(3 * actual + worstCase) } });
    await afterKeyChange(stack);
    await call();
    await settled(key.id);
    expect((await keySnapshot(key.id)).spentMicros).toBe(4 * actual);
    // Billing agrees to the micro-dollar.
    const rows = await eventually(
      async () => {
        const r = await billedRows(key.id);
        return r.length === 4 ? r : null;
      },
      20_000,
      "usage rows",
    );
    expect(rows.reduce((n, r) => n + r.cost_usd_micros, 0)).toBe(4 * actual);
  });

  it("a budget removed and given again in the same month counts what the key spent without one", async () => {
    const { model, worstCase, actual } = await pricedModel("budget-again");
    const { client, key } = await clientFor(stack, { budget: { monthly_usd: 1 } });
    const call = () => client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS });
    for (let i = 0; i < 2; i++) await call();
    await settled(key.id);
    // Without a budget (and no other limit) the key skips the limiter: only billing sees this request.
    await updateKey(stack, key.id, { budget: { monthly_usd: null } });
    await afterKeyChange(stack);
    await call();
    await eventually(async () => ((await billedRows(key.id)).length === 3 ? true : null), 20_000, "usage rows");

    await updateKey(stack, key.id, { budget: { monthly_usd: usd(3 * actual + worstCase - 1) } });
    await afterKeyChange(stack);
    expect((await budgetRefusal(call())).message).toContain(`spent or reserved ${money(3 * actual)}`);
    await updateKey(stack, key.id, { budget: { monthly_usd: usd(3 * actual + worstCase) } });
    await afterKeyChange(stack);
    await call();
    await settled(key.id);
    expect((await keySnapshot(key.id)).spentMicros).toBe(4 * actual);
  });

  it("the official SDK does not retry an exhausted budget, even with retries enabled", async () => {
    const model = uniqueModel("budget-sdk");
    await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 100, output_per_mtok: 100 } });
    await afterPriceChange(stack);
    const { apiKey, key } = await clientFor(stack, { budget: { monthly_usd: 0 } });
    let calls = 0;
    const client = openaiClient(stack, apiKey, {
      maxRetries: 3,
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    const err = await client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).code).toBe("insufficient_quota");
    expect(calls).toBe(1);
    expect(upstream.requests(model)).toHaveLength(0);
    expect(await billedRows(key.id)).toEqual([]);
  });
});

describe("billing identity", () => {
  it("bills every request under the gateway's own id: a client's x-request-id neither merges requests nor touches another tenant's rows", async () => {
    const model = uniqueModel("client-request-id");
    await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 100, output_per_mtok: 100 } });
    await afterPriceChange(stack);
    const worstCase = WORST_CASE_MICROS;
    const actual = ACTUAL_MICROS;
    // Two tenants whose clients send the same x-request-id on every request (a retry library, a fixed value, or on purpose).
    const clientId = `shared-${model}`;
    const mine = await clientFor(stack);
    const theirs = await clientFor(stack);
    const call = (client: OpenAI) =>
      client.chat.completions
        .create({ model: `fake/${model}`, messages: MESSAGES, max_tokens: MAX_TOKENS }, { headers: { "x-request-id": clientId } })
        .withResponse();

    const answers = await Promise.all(Array.from({ length: 10 }, () => call(mine.client)));
    const ids = answers.map(({ response }) => response.headers.get("x-request-id")!);
    for (const { response } of answers) {
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
      expect(response.headers.get("x-client-request-id")).toBe(clientId);
    }
    expect(new Set(ids).size).toBe(10);
    const { response: theirResponse } = await call(theirs.client);

    // Ten billed rows, each under the id the gateway answered with, the client's value beside it.
    type Row = { request_id: string; client_request_id: string | null; tenant_id: string; cost_usd_micros: number };
    const db = await d1(stack, "billing");
    const rowsOf = async (keyId: string) =>
      (await db.prepare("SELECT request_id, client_request_id, tenant_id, cost_usd_micros FROM usage_events WHERE key_id = ?").bind(keyId).all<Row>()).results;
    const rows = await eventually(
      async () => {
        const r = await rowsOf(mine.key.id);
        return r.length >= 10 ? r : null;
      },
      20_000,
      "ten usage rows",
    );
    expect(rows.map((r) => r.request_id).sort()).toEqual([...ids].sort());
    for (const r of rows) expect(r).toMatchObject({ client_request_id: clientId, tenant_id: mine.tenant.id, cost_usd_micros: actual });
    // The other tenant's request with the same value is its own row, and took none of ours.
    const their = await eventually(async () => (await rowsOf(theirs.key.id))[0] ?? null, 20_000, "the other tenant's row");
    expect(their).toMatchObject({ request_id: theirResponse.headers.get("x-request-id"), client_request_id: clientId, tenant_id: theirs.tenant.id });
    expect(await rowsOf(mine.key.id)).toHaveLength(10);

    // A budget set now starts from what billing recorded: all ten requests, not one.
    await updateKey(stack, mine.key.id, { budget: { monthly_usd: (10 * actual + worstCase - 1) / 1_000_000 } });
    await afterKeyChange(stack);
    const err = await call(mine.client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).message).toContain(`spent or reserved ${money(10 * actual)}`);
  });
});
