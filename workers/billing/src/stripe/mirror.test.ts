import { describe, expect, it } from "vitest";
import type { Invoice, InvoiceLine } from "../../../shared/src/contracts/invoices";
import { MAX_LINE_ITEMS, stripeItems } from "./mirror";

const line = (kind: InvoiceLine["kind"], amount: number, quantity = 1000): InvoiceLine => ({
  model: "gpt-4o",
  kind,
  quantity,
  unit_price_micros_per_mtok: 2_500_000_000,
  amount_micros: amount,
  price_version: 3,
});

function invoice(lines: InvoiceLine[], credits = 0): Invoice {
  const subtotal = lines.reduce((n, l) => n + l.amount_micros, 0);
  const total = Math.floor((subtotal - credits + 5_000) / 10_000) * 10_000;
  return {
    id: "in_1",
    object: "invoice",
    tenant_id: "ten_1",
    number: "INV-000001",
    period_start: 1_000,
    period_end: 2_000,
    status: "final",
    currency: "usd",
    lines,
    subtotal_micros: subtotal,
    credits_applied_micros: credits,
    total_micros: total,
    credit_notes: [],
    amount_due_micros: total,
    payment_status: "pending",
    created_at: 1,
    finalized_at: 1,
  };
}

const sum = (items: { amount: number }[]) => items.reduce((n, i) => n + i.amount, 0);

describe("stripeItems: one Stripe item per invoice line, summing to the invoice's total in cents", () => {
  it("sends each line in cents (half up; a discount half away from zero), then credits, then the rounding to the total", () => {
    const inv = invoice([line("input", 1_234_567), line("batch_input", 45_000), line("batch_discount", -22_500), line("rounding", 7, 3)], 300_000);
    const items = stripeItems(inv);
    expect(items.map((i) => [i.key, i.amount])).toEqual([
      ["invoice-item-in_1-line-0", 123],
      ["invoice-item-in_1-line-1", 5],
      ["invoice-item-in_1-line-2", -2],
      ["invoice-item-in_1-line-3", 0],
      ["invoice-item-in_1-credits", -30],
      // subtotal 1,257,074 µ$ − 300,000 credits = 957,074 → 96 ¢ (rounded once); the items above make 96 already.
    ]);
    expect(sum(items)).toBe(inv.total_micros / 10_000);
    expect(items[0]!.metadata).toEqual({
      invoice_id: "in_1",
      line: "0",
      model: "gpt-4o",
      kind: "input",
      quantity: "1000",
      unit_price_micros_per_mtok: "2500000000",
      amount_micros: "1234567",
      price_version: "3",
    });
    expect(items[0]!.description).toBe("gpt-4o · input: 1000 tokens × $2500 / 1M tokens (price v3)");
  });

  it("adds one rounding item when the per-line cents miss the total", () => {
    // Three lines of 0.4 ¢: each rounds to 0, the total (1.2 ¢) to 1 ¢.
    const inv = invoice([line("input", 4_000), line("output", 4_000), line("cached_input", 4_000)]);
    const items = stripeItems(inv);
    expect(items.map((i) => [i.key, i.amount])).toEqual([
      ["invoice-item-in_1-line-0", 0],
      ["invoice-item-in_1-line-1", 0],
      ["invoice-item-in_1-line-2", 0],
      ["invoice-item-in_1-rounding", 1],
    ]);
    expect(sum(items)).toBe(1);
  });

  it("keeps within Stripe's 250 items: lines past MAX_LINE_ITEMS share one item", () => {
    const inv = invoice(
      Array.from({ length: MAX_LINE_ITEMS + 10 }, () => line("output", 10_000)),
      10_000,
    );
    const items = stripeItems(inv);
    expect(items.length).toBeLessThanOrEqual(250);
    expect(items.at(-2)).toMatchObject({ key: "invoice-item-in_1-lines-rest", amount: 10 });
    expect(items.at(-1)).toMatchObject({ key: "invoice-item-in_1-credits", amount: -1 });
    expect(sum(items)).toBe(inv.total_micros / 10_000);
  });
});
