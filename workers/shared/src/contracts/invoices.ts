import { z } from "zod";

/**
 * Invoices (`/v1/invoices`, `/admin/invoices`): the shapes billing answers in and the inputs the
 * gateway validates (400 naming `param`) and billing validates again. Money is integer
 * micro-dollars (µ$); the one rounding to cents happens at `total_micros` (see billing's
 * invoices/compute.ts).
 */

/**
 * Kinds of an invoice line. Token kinds (`input` = uncached prompt tokens, `cached_input`,
 * `cache_write`, `output` incl. reasoning, which is priced at the output rate) at the unit price of
 * the price version in force; `batch_*` the same for batch lines, with one `batch_discount` line
 * (negative) per price; `rounding` what the per-request round-up of the price rule adds (< 1 µ$ a
 * request); `usage` recorded cost without a price version (stored before versions existed, or
 * unpriced: 0).
 */
export const INVOICE_LINE_KINDS = [
  "input",
  "cached_input",
  "cache_write",
  "output",
  "batch_input",
  "batch_cached_input",
  "batch_cache_write",
  "batch_output",
  "batch_discount",
  "rounding",
  "usage",
] as const;
export type InvoiceLineKind = (typeof INVOICE_LINE_KINDS)[number];

export const InvoiceLineSchema = z.object({
  model: z.string(),
  kind: z.enum(INVOICE_LINE_KINDS),
  /** Tokens (token kinds), requests (`rounding`), tokens discounted (`batch_discount`). */
  quantity: z.number().int(),
  unit_price_micros_per_mtok: z.number().int(),
  amount_micros: z.number().int(),
  price_version: z.number().int().nullable(),
});
export type InvoiceLine = z.infer<typeof InvoiceLineSchema>;

export const CreditNoteSchema = z.object({
  id: z.string(),
  object: z.literal("credit_note"),
  number: z.string(),
  invoice_id: z.string(),
  tenant_id: z.string(),
  amount_micros: z.number().int(),
  reason: z.string(),
  created_at: z.number().int(),
});
export type CreditNote = z.infer<typeof CreditNoteSchema>;

export const INVOICE_STATUSES = ["draft", "final", "void"] as const;
/**
 * `not_due`: a draft. `collection_off`: final, no Stripe keys configured (billing invoices, does not
 * collect). `nothing_due`: final with a total of 0. `pending` → `paid` | `failed` | `void`, from Stripe.
 */
export const PAYMENT_STATUSES = ["not_due", "collection_off", "nothing_due", "pending", "paid", "failed", "void"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const InvoiceSchema = z.object({
  id: z.string(),
  object: z.literal("invoice"),
  tenant_id: z.string(),
  /** `INV-000001`, sequential over the platform without gaps; null for a draft. */
  number: z.string().nullable(),
  /** Unix seconds: the first instant of the month (UTC), and of the next (exclusive). */
  period_start: z.number().int(),
  period_end: z.number().int(),
  status: z.enum(INVOICE_STATUSES),
  currency: z.literal("usd"),
  lines: z.array(InvoiceLineSchema),
  subtotal_micros: z.number().int(),
  credits_applied_micros: z.number().int(),
  /** subtotal − credits applied, rounded to whole cents (half up): a multiple of 10,000 µ$. */
  total_micros: z.number().int(),
  /** The credit notes issued against it, and what remains due after them (total − credit notes, ≥ 0). */
  credit_notes: z.array(CreditNoteSchema),
  amount_due_micros: z.number().int(),
  payment_status: z.enum(PAYMENT_STATUSES),
  /** Unix seconds; a draft's created_at is when it was computed. */
  created_at: z.number().int(),
  finalized_at: z.number().int().nullable(),
});
export type Invoice = z.infer<typeof InvoiceSchema>;

export const InvoiceListSchema = z.object({ object: z.literal("list"), data: z.array(InvoiceSchema), has_more: z.boolean() });
export type InvoiceList = z.infer<typeof InvoiceListSchema>;

/** `in_…` (final) or `draft_<tenant id>_<YYYY-MM>` (a draft, computed on read). */
export const InvoiceIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(in_[A-Za-z0-9]{1,64}|draft_[A-Za-z0-9_]{1,128}_\d{4}-\d{2})$/, "is not an invoice id");

export const MonthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "must be a month, YYYY-MM");

/** `GET /admin/invoices`: filters, newest first, at most `limit` (≤ 100). */
export const AdminInvoiceQuerySchema = z
  .object({
    tenant_id: z.string().min(1).max(100).optional(),
    period: MonthSchema.optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
  })
  .strict();

/** `POST /admin/invoices/{id}/credit-notes`. */
export const CreditNoteInputSchema = z
  .object({
    amount_usd: z.number().positive().max(1_000_000),
    reason: z.string().trim().min(1).max(500),
  })
  .strict();
