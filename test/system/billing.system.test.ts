import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { monthOf, nextMonthStart, runBillingCron } from "../support/billing";
import { clientFor } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { afterCreditChange, afterPriceChange } from "../support/propagation";
import type { Stack } from "../support/stack";
import { adminFetch } from "../support/tenants";
import { eventually } from "../support/wait";
import OpenAI from "openai";

let stack: Stack;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, close } = await startCoreStack());
});
afterAll(() => close?.());

interface Line {
  model: string;
  kind: string;
  quantity: number;
  unit_price_micros_per_mtok: number;
  amount_micros: number;
  price_version: number | null;
}
interface Invoice {
  id: string;
  object: string;
  tenant_id: string;
  number: string | null;
  period_start: number;
  period_end: number;
  status: string;
  currency: string;
  lines: Line[];
  subtotal_micros: number;
  credits_applied_micros: number;
  total_micros: number;
  credit_notes: { id: string; number: string; amount_micros: number; reason: string; invoice_id: string }[];
  amount_due_micros: number;
  payment_status: string;
  finalized_at: number | null;
}
interface List {
  object: string;
  data: Invoice[];
  has_more: boolean;
}
type Bucket<R> = { results: R[] };
interface Page<R> {
  data: Bucket<R>[];
  has_more: boolean;
  next_page: string | null;
}

const sumOf = <R>(rows: R[], f: (r: R) => number) => rows.reduce((n, r) => n + f(r), 0);
const json = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
};

/** Every result of a usage-API page chain. */
async function usageResults<R>(apiKey: string, path: string): Promise<R[]> {
  const out: R[] = [];
  let next: string | null = null;
  do {
    const p: Page<R> = await json<Page<R>>(await gatewayFetch(stack, next === null ? path : `${path}&page=${next}`, { key: apiKey }));
    for (const b of p.data) out.push(...b.results);
    next = p.has_more ? p.next_page : null;
  } while (next !== null);
  return out;
}

/** Prices chosen so that the per-request round-up shows (fractional µ$ per request) and the total passes a few cents. */
const V1 = { input_per_mtok: 1515.15, output_per_mtok: 6007.07 };
const V2 = { input_per_mtok: 2000, output_per_mtok: 8000.33 };
const EMBED = { input_per_mtok: 130.13, output_per_mtok: 0 };
const messages = [{ role: "user" as const, content: "What is the capital of France?" }];

const TOKEN_KINDS = ["input", "cached_input", "cache_write", "output"];
const INPUT_KINDS = ["input", "cached_input", "cache_write"];

describe("invoices: a month of usage through the normal request path and the Queue", () => {
  let a: Awaited<ReturnType<typeof clientFor>>;
  let b: Awaited<ReturnType<typeof clientFor>>;
  let c: Awaited<ReturnType<typeof clientFor>>;
  let chatModel: string;
  let embedModel: string;
  const month = monthOf(Date.now());
  const monthStart = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, 1) / 1000;
  let draft: Invoice;
  let final: Invoice;

  /** Makes requests with the SDK and waits until billing stored each one (its usage record). */
  async function requests(client: typeof a, n: { chat: number; stream: number; embed: number }): Promise<void> {
    const ids: string[] = [];
    for (let i = 0; i < n.chat; i++) {
      const { response } = await client.client.chat.completions.create({ model: `fake/${chatModel}`, messages }).withResponse();
      ids.push(response.headers.get("x-request-id")!);
    }
    for (let i = 0; i < n.stream; i++) {
      const { data, response } = await client.client.chat.completions.create({ model: `fake/${chatModel}`, messages, stream: true }).withResponse();
      for await (const _ of data) void _;
      ids.push(response.headers.get("x-request-id")!);
    }
    for (let i = 0; i < n.embed; i++) {
      const { response } = await client.client.embeddings.create({ model: `fake/${embedModel}`, input: `the quick brown fox ${i}` }).withResponse();
      ids.push(response.headers.get("x-request-id")!);
    }
    for (const id of ids) {
      await eventually(
        async () => ((await gatewayFetch(stack, `/v1/usage/requests/${id}`, { key: client.apiKey })).status === 200 ? true : null),
        20_000,
        `usage of ${id}`,
      );
    }
  }

  async function setPrice(model: string, body: object, status: number): Promise<void> {
    expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body })).status).toBe(status);
    await afterPriceChange(stack);
  }

  beforeAll(async () => {
    const scopes = ["chat", "embeddings", "usage:read"] as const;
    [a, b, c] = [
      await clientFor(stack, { scopes: [...scopes] }),
      await clientFor(stack, { scopes: [...scopes] }),
      await clientFor(stack, { scopes: [...scopes] }),
    ];
    chatModel = uniqueModel("invoice-chat");
    embedModel = uniqueModel("invoice-embed");
    await setPrice(chatModel, V1, 201);
    await setPrice(embedModel, EMBED, 201);
    await requests(a, { chat: 3, stream: 2, embed: 2 });
    // The price changes mid-month: the next requests are billed at version 2, the earlier ones stay at version 1.
    await setPrice(chatModel, V2, 200);
    await requests(a, { chat: 2, stream: 1, embed: 0 });
    await requests(c, { chat: 1, stream: 0, embed: 0 });
    const list = await json<List>(await gatewayFetch(stack, "/v1/invoices", { key: a.apiKey }));
    draft = list.data[0]!;
  });

  it("the current month's draft is listed, computed on read, with lines per model × kind × price version", () => {
    expect(draft).toMatchObject({
      object: "invoice",
      id: `draft_${a.tenant.id}_${month}`,
      tenant_id: a.tenant.id,
      number: null,
      status: "draft",
      currency: "usd",
      period_start: monthStart,
      payment_status: "not_due",
      finalized_at: null,
      credits_applied_micros: 0,
    });
    const chat = draft.lines.filter((l) => l.model === chatModel);
    // 5 requests at version 1 and 3 at version 2; the fake answers 24 prompt + 7 completion tokens.
    expect(chat.filter((l) => l.kind === "input").map((l) => [l.price_version, l.quantity, l.unit_price_micros_per_mtok])).toEqual([
      [1, 5 * 24, 1_515_150_000],
      [2, 3 * 24, 2_000_000_000],
    ]);
    expect(chat.filter((l) => l.kind === "output").map((l) => [l.price_version, l.quantity, l.unit_price_micros_per_mtok])).toEqual([
      [1, 5 * 7, 6_007_070_000],
      [2, 3 * 7, 8_000_330_000],
    ]);
    for (const l of draft.lines.filter((l) => TOKEN_KINDS.includes(l.kind))) {
      expect(l.amount_micros).toBe(Math.floor((l.quantity * l.unit_price_micros_per_mtok) / 1_000_000));
    }
    // Version 1: each request costs ceil(24 × 1515.15 + 7 × 6007.07) = ceil(78413.09) = 78414 µ$; the lines floor
    // 5 × 24 × 1515.15 = 181818 and 5 × 7 × 6007.07 = 210247.45 → 210247, so the rounding line is 5 × 78414 − 392065 = 5.
    expect(chat.find((l) => l.kind === "rounding" && l.price_version === 1)).toMatchObject({ quantity: 5, amount_micros: 5 });
    expect(draft.subtotal_micros).toBe(sumOf(draft.lines, (l) => l.amount_micros));
    expect(draft.total_micros).toBe(Math.floor((draft.subtotal_micros + 5_000) / 10_000) * 10_000);
    expect(draft.amount_due_micros).toBe(draft.total_micros);
  });

  it("its lines sum exactly to the usage API's totals for the same tenant and period (costs and tokens)", async () => {
    const costs = await usageResults<{ cost_usd_micros: number; line_item: string | null }>(
      a.apiKey,
      `/v1/organization/costs?start_time=${monthStart}&limit=31&group_by=line_item`,
    );
    expect(draft.subtotal_micros).toBe(sumOf(costs, (r) => r.cost_usd_micros));
    for (const model of [chatModel, embedModel]) {
      expect(
        sumOf(
          draft.lines.filter((l) => l.model === model),
          (l) => l.amount_micros,
        ),
      ).toBe(
        sumOf(
          costs.filter((r) => r.line_item === model),
          (r) => r.cost_usd_micros,
        ),
      );
    }
    const completions = await usageResults<{ model: string; input_tokens: number; output_tokens: number; input_cached_tokens: number }>(
      a.apiKey,
      `/v1/organization/usage/completions?start_time=${monthStart}&limit=31&group_by=model`,
    );
    const embeddings = await usageResults<{ model: string; input_tokens: number }>(
      a.apiKey,
      `/v1/organization/usage/embeddings?start_time=${monthStart}&limit=31&group_by=model`,
    );
    const tokens = (model: string, kinds: string[]) =>
      sumOf(
        draft.lines.filter((l) => l.model === model && kinds.includes(l.kind)),
        (l) => l.quantity,
      );
    expect(tokens(chatModel, INPUT_KINDS)).toBe(sumOf(completions, (r) => r.input_tokens));
    expect(tokens(chatModel, ["cached_input"])).toBe(sumOf(completions, (r) => r.input_cached_tokens));
    expect(tokens(chatModel, ["output"])).toBe(sumOf(completions, (r) => r.output_tokens));
    expect(tokens(embedModel, INPUT_KINDS)).toBe(sumOf(embeddings, (r) => r.input_tokens));
    expect(draft.subtotal_micros).toBeGreaterThan(10_000);
  });

  it("the printable HTML shows the same numbers, with no external asset", async () => {
    const res = await gatewayFetch(stack, `/v1/invoices/${draft.id}/html`, { key: a.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const usd = (m: number) => `${m < 0 ? "-" : ""}$${Math.floor(Math.abs(m) / 1e6)}.${String(Math.abs(m) % 1e6).padStart(6, "0")}`;
    expect(html).toContain(`<strong id="tenant">${a.tenant.id}</strong>`);
    expect(html).toContain(`id="subtotal">${usd(draft.subtotal_micros)}<`);
    expect(html).toContain(`id="total"><strong>$${(draft.total_micros / 1e6).toFixed(2)}</strong>`);
    for (const l of draft.lines) {
      expect(html).toContain(`<td class="n">${l.quantity}</td>`);
      expect(html).toContain(`<td class="n">${usd(l.amount_micros)}</td>`);
    }
    expect(html).toContain(`${month}-01 – `);
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it("tenant B cannot read A's invoices (404) and lists only its own", async () => {
    const mine = await json<List>(await gatewayFetch(stack, "/v1/invoices", { key: b.apiKey }));
    expect(mine.data.map((i) => [i.id, i.lines.length, i.subtotal_micros])).toEqual([[`draft_${b.tenant.id}_${month}`, 0, 0]]);
    await expectError(await gatewayFetch(stack, `/v1/invoices/${draft.id}`, { key: b.apiKey }), 404, "not_found");
    await expectError(await gatewayFetch(stack, `/v1/invoices/${draft.id}/html`, { key: b.apiKey }), 404, "not_found");
    const noScope = await clientFor(stack, { scopes: ["chat"] });
    await expectError(await gatewayFetch(stack, "/v1/invoices", { key: noScope.apiKey }), 403, "permission_denied");
  });

  it("the running month cannot be finalised by hand (409)", async () => {
    await expectError(await gatewayFetch(stack, `/admin/invoices/${draft.id}/finalize`, { admin: true, method: "POST" }), 409, "conflict");
  });

  it("the cron finalises the closed month with gap-free numbers, the same lines, once", async () => {
    const after = new Date(nextMonthStart(Date.now()) + 2 * 3_600_000);
    await runBillingCron(stack, after);
    await runBillingCron(stack, after);
    const all = await json<List>(await gatewayFetch(stack, `/admin/invoices?period=${month}`, { admin: true }));
    expect(all.data.map((i) => i.tenant_id).sort()).toEqual([a.tenant.id, c.tenant.id].sort());
    expect(all.data.map((i) => i.number).sort()).toEqual(["INV-000001", "INV-000002"]);

    const list = await json<List>(await gatewayFetch(stack, "/v1/invoices", { key: a.apiKey }));
    expect(list.data).toHaveLength(1);
    final = list.data[0]!;
    expect(final).toMatchObject({
      status: "final",
      payment_status: "collection_off",
      lines: draft.lines,
      subtotal_micros: draft.subtotal_micros,
      total_micros: draft.total_micros,
    });
    expect(final.id).toMatch(/^in_/);
    expect(final.finalized_at).toEqual(expect.any(Number));
    // The draft id now leads to the final invoice.
    expect((await json<Invoice>(await gatewayFetch(stack, `/v1/invoices/${draft.id}`, { key: a.apiKey }))).id).toBe(final.id);
    await expectError(await gatewayFetch(stack, `/v1/invoices/${final.id}`, { key: b.apiKey }), 404, "not_found");
    const html = await (await gatewayFetch(stack, `/v1/invoices/${final.id}/html`, { key: a.apiKey })).text();
    expect(html).toContain(`Invoice ${final.number}`);
  });

  it("a final invoice cannot be changed (409); a credit note adjusts what is due and is listed", async () => {
    await expectError(await gatewayFetch(stack, `/admin/invoices/${final.id}/finalize`, { admin: true, method: "POST" }), 409, "conflict");
    const tooMuch = await gatewayFetch(stack, `/admin/invoices/${final.id}/credit-notes`, { admin: true, body: { amount_usd: 1_000, reason: "x" } });
    expect((await expectError(tooMuch, 400, "invalid_request")).param).toBe("amount_usd");

    const note = await json<{ id: string; number: string; amount_micros: number; invoice_id: string }>(
      await gatewayFetch(stack, `/admin/invoices/${final.id}/credit-notes`, { admin: true, body: { amount_usd: 0.01, reason: "goodwill" } }),
      201,
    );
    expect(note).toMatchObject({ number: "CN-000001", amount_micros: 10_000, invoice_id: final.id });
    const after = await json<Invoice>(await gatewayFetch(stack, `/v1/invoices/${final.id}`, { key: a.apiKey }));
    expect(after.credit_notes.map((n) => [n.id, n.number, n.reason])).toEqual([[note.id, "CN-000001", "goodwill"]]);
    expect(after.amount_due_micros).toBe(final.total_micros - 10_000);
    expect(after.total_micros).toBe(final.total_micros);
    expect(after.lines).toEqual(final.lines);
    const html = await (await gatewayFetch(stack, `/v1/invoices/${final.id}/html`, { key: a.apiKey })).text();
    expect(html).toContain("Credit note CN-000001: goodwill");
    expect(html).toContain(`id="amount-due">$${((final.total_micros - 10_000) / 1e6).toFixed(2)}<`);
    const audit = await json<{ data: { action: string; target_id: string }[] }>(await gatewayFetch(stack, "/admin/audit-log?limit=20", { admin: true }));
    expect(audit.data.map((e) => [e.action, e.target_id])).toContainEqual(["credit_note.create", final.id]);
  });
});

describe("prepaid credits", () => {
  /** $1000 per 1M output tokens, input free: the fake's 7 completion tokens cost 7000 µ$, exactly what max_tokens: 7 reserves. */
  const PER_REQUEST = 7_000;
  let p: Awaited<ReturnType<typeof clientFor>>;
  let model: string;
  const ask = () => p.client.chat.completions.create({ model: `fake/${model}`, messages, max_tokens: 7 }).withResponse();

  beforeAll(async () => {
    p = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    model = uniqueModel("credits-chat");
    expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 0, output_per_mtok: 1000 } })).status).toBe(201);
    await afterPriceChange(stack);
  });

  it("grants are validated: unknown tenant 404, an expiry in the past 400", async () => {
    await expectError(await gatewayFetch(stack, "/admin/tenants/ten_nope/credits", { admin: true, body: { amount_usd: 1 } }), 404, "not_found");
    const past = await gatewayFetch(stack, `/admin/tenants/${p.tenant.id}/credits`, { admin: true, body: { amount_usd: 1, expires_at: 1_000_000 } });
    expect((await expectError(past, 400, "invalid_request")).param).toBe("expires_at");
    const negative = await gatewayFetch(stack, `/admin/tenants/${p.tenant.id}/credits`, { admin: true, body: { amount_usd: -1 } });
    expect((await expectError(negative, 400, "invalid_request")).param).toBe("amount_usd");
  });

  it("200 concurrent requests against a balance covering 50: exactly 50 served, never below zero, each refusal 429 insufficient_quota and free", async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86_400;
    const grant = await json<{ id: string; amount_micros: number; expires_at: number }>(
      await gatewayFetch(stack, `/admin/tenants/${p.tenant.id}/credits`, {
        admin: true,
        body: { amount_usd: (50 * PER_REQUEST) / 1e6, expires_at: expiresAt },
      }),
      201,
    );
    expect(grant).toMatchObject({ amount_micros: 50 * PER_REQUEST, expires_at: expiresAt });
    await afterCreditChange(stack);

    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, () => ask()));
    const served = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
    expect(served).toHaveLength(50);
    expect(refused).toHaveLength(150);
    for (const e of refused) {
      expect(e).toBeInstanceOf(OpenAI.RateLimitError);
      const err = e as InstanceType<typeof OpenAI.RateLimitError>;
      expect(err.status).toBe(429);
      expect(err.code).toBe("insufficient_quota");
      expect(err.headers?.get("x-should-retry")).toBe("false");
      expect(err.message).toContain("prepaid credits");
    }

    // Once billing recorded the 50: the balance is exactly zero (never negative), and the refusals cost nothing.
    const balance = await eventually(
      async () => {
        const b = await json<{ balance_micros: number; overdrawn_micros: number; grants: { id: string; expires_at: number }[] }>(
          await gatewayFetch(stack, `/admin/tenants/${p.tenant.id}/credits`, { admin: true }),
        );
        return b.balance_micros === 0 ? b : null;
      },
      20_000,
      "the credits drawn",
    );
    expect(balance.overdrawn_micros).toBe(0);
    expect(balance.grants.map((g) => [g.id, g.expires_at])).toEqual([[grant.id, expiresAt]]);
    const start = Math.floor(Date.now() / 1000) - 86_400;
    const costs = await usageResults<{ cost_usd_micros: number }>(p.apiKey, `/v1/organization/costs?start_time=${start}&limit=31`);
    expect(sumOf(costs, (r) => r.cost_usd_micros)).toBe(50 * PER_REQUEST);

    // At zero, the next request is refused too; the month's draft shows the credits applied.
    await expect(ask()).rejects.toMatchObject({ status: 429, code: "insufficient_quota" });
    const draft = (await json<List>(await gatewayFetch(stack, "/v1/invoices", { key: p.apiKey }))).data[0]!;
    expect(draft).toMatchObject({ subtotal_micros: 50 * PER_REQUEST, credits_applied_micros: 50 * PER_REQUEST, total_micros: 0 });
  });

  it("a new grant lets the tenant in again", async () => {
    await json(await gatewayFetch(stack, `/admin/tenants/${p.tenant.id}/credits`, { admin: true, body: { amount_usd: PER_REQUEST / 1e6 } }), 201);
    await afterCreditChange(stack);
    const { response } = await ask();
    expect(response.status).toBe(200);
    await expect(ask()).rejects.toMatchObject({ status: 429, code: "insufficient_quota" });
  });
});
