import { monthOf, newId } from "../../../shared/src";
import {
  CreditNoteSchema,
  InvoiceLineSchema,
  type CreditNote,
  type Invoice,
  type InvoiceLine,
  type PaymentStatus,
} from "../../../shared/src/contracts/invoices";
import { computeLines, periodBounds, roundToCents } from "./compute";

/** How long after a month closes the cron waits before finalising it: usage of its last seconds is still on the Queue. */
export const FINALIZE_GRACE_MS = 3_600_000;

/** Most (tenant, month) pairs one cron run finalises; the next run goes on. */
export const FINALIZE_BATCH = 200;

interface InvoiceRow {
  id: string;
  tenant_id: string;
  seq: number;
  period: string;
  status: "final" | "void";
  lines: string;
  subtotal_micros: number;
  credits_applied_micros: number;
  total_micros: number;
  payment_status: PaymentStatus;
  created_at: number;
  finalized_at: number;
}

interface CreditNoteRow {
  id: string;
  invoice_id: string;
  tenant_id: string;
  seq: number;
  amount_micros: number;
  reason: string;
  created_at: number;
}

const invoiceNumber = (seq: number) => `INV-${String(seq).padStart(6, "0")}`;
const creditNoteNumber = (seq: number) => `CN-${String(seq).padStart(6, "0")}`;
const seconds = (ms: number) => Math.floor(ms / 1000);

/** A draft's id names its tenant and month: it is computed on read and never stored. */
export function draftId(tenantId: string, month: string): string {
  return `draft_${tenantId}_${month}`;
}

export function parseDraftId(id: string): { tenantId: string; month: string } | null {
  const m = /^draft_(.+)_(\d{4}-\d{2})$/.exec(id);
  return m ? { tenantId: m[1]!, month: m[2]! } : null;
}

/** What the platform can collect: with Stripe keys, a final invoice is pending until Stripe says otherwise. */
export interface Collection {
  enabled: boolean;
}

/**
 * Credits applied to a tenant's month: given by the credits module; 0 until a tenant has credits.
 * Kept as a function so finalisation and a draft use the one rule.
 */
export type CreditsApplied = (tenantId: string, month: string, subtotalMicros: number) => Promise<number>;

/** Invoices of billing's D1: drafts computed on read from the usage ledger, final ones stored and immutable. */
export class InvoiceStore {
  constructor(
    private readonly db: D1Database,
    private readonly credits: CreditsApplied,
    private readonly collection: Collection,
  ) {}

  /** A tenant's draft for `month`, computed now. */
  async draft(tenantId: string, month: string, now: number): Promise<Invoice> {
    const { lines, subtotalMicros } = await computeLines(this.db, tenantId, month);
    const credits = await this.credits(tenantId, month, subtotalMicros);
    const total = roundToCents(subtotalMicros - credits);
    const { start, end } = periodBounds(month);
    return {
      id: draftId(tenantId, month),
      object: "invoice",
      tenant_id: tenantId,
      number: null,
      period_start: start,
      period_end: end,
      status: "draft",
      currency: "usd",
      lines,
      subtotal_micros: subtotalMicros,
      credits_applied_micros: credits,
      total_micros: total,
      credit_notes: [],
      amount_due_micros: total,
      payment_status: "not_due",
      created_at: seconds(now),
      finalized_at: null,
    };
  }

  /** A tenant's invoices, newest first: the current month's draft (unless already final) then the stored ones. */
  async listForTenant(tenantId: string, now: number, limit = 100): Promise<Invoice[]> {
    const rows = await this.db.prepare("SELECT * FROM invoices WHERE tenant_id = ? ORDER BY period DESC LIMIT ?").bind(tenantId, limit).all<InvoiceRow>();
    const month = monthOf(now);
    const finals = await this.#withCreditNotes(rows.results);
    return finals.some((i) => i.period_start === periodBounds(month).start) ? finals : [await this.draft(tenantId, month, now), ...finals];
  }

  /** Stored invoices for the admin, newest first. */
  async list(filter: { tenant_id?: string; period?: string; limit?: number }): Promise<Invoice[]> {
    const where: string[] = [];
    const binds: unknown[] = [];
    if (filter.tenant_id) {
      where.push("tenant_id = ?");
      binds.push(filter.tenant_id);
    }
    if (filter.period) {
      where.push("period = ?");
      binds.push(filter.period);
    }
    const sql = `SELECT * FROM invoices ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    const rows = await this.db
      .prepare(sql)
      .bind(...binds, filter.limit ?? 100)
      .all<InvoiceRow>();
    return this.#withCreditNotes(rows.results);
  }

  /** One invoice by id (a draft id is computed), of `tenantId` only unless null (the admin). */
  async get(id: string, tenantId: string | null, now: number): Promise<Invoice | null> {
    const draft = parseDraftId(id);
    if (draft) {
      if (tenantId !== null && draft.tenantId !== tenantId) return null;
      const stored = await this.findByPeriod(draft.tenantId, draft.month);
      // A finalised month's draft id leads to the final invoice; a future month has no draft.
      if (stored) return stored;
      return draft.month <= monthOf(now) ? this.draft(draft.tenantId, draft.month, now) : null;
    }
    const row = await this.db.prepare("SELECT * FROM invoices WHERE id = ?").bind(id).first<InvoiceRow>();
    if (!row || (tenantId !== null && row.tenant_id !== tenantId)) return null;
    return (await this.#withCreditNotes([row]))[0] ?? null;
  }

  async findByPeriod(tenantId: string, month: string): Promise<Invoice | null> {
    const row = await this.db.prepare("SELECT * FROM invoices WHERE tenant_id = ? AND period = ?").bind(tenantId, month).first<InvoiceRow>();
    return row ? ((await this.#withCreditNotes([row]))[0] ?? null) : null;
  }

  /**
   * Finalises a tenant's month: computes its lines and stores them with the next number, in ONE
   * statement (the number is MAX + 1 inside the INSERT, so none is ever skipped). A month already
   * final inserts nothing (UNIQUE tenant × period): `created` is false and the stored invoice is
   * returned unchanged.
   */
  async finalize(tenantId: string, month: string, now: number): Promise<{ invoice: Invoice; created: boolean }> {
    const draft = await this.draft(tenantId, month, now);
    const paymentStatus: PaymentStatus = draft.total_micros === 0 ? "nothing_due" : this.collection.enabled ? "pending" : "collection_off";
    const res = await this.db
      .prepare(
        `INSERT INTO invoices (id, tenant_id, seq, period, status, lines, subtotal_micros, credits_applied_micros, total_micros,
                               payment_status, created_at, finalized_at)
         SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, 'final', ?, ?, ?, ?, ?, ?, ? FROM invoices WHERE true
         ON CONFLICT DO NOTHING`,
      )
      .bind(
        newId("in"),
        tenantId,
        month,
        JSON.stringify(draft.lines),
        draft.subtotal_micros,
        draft.credits_applied_micros,
        draft.total_micros,
        paymentStatus,
        now,
        now,
      )
      .run();
    const stored = await this.findByPeriod(tenantId, month);
    if (!stored) throw new Error("invoice not stored");
    return { invoice: stored, created: (res.meta.changes ?? 0) > 0 };
  }

  /** (tenant, month) pairs with usage in months closed before `before` ('YYYY-MM', exclusive) and no invoice yet. */
  async unfinalised(before: string, limit = FINALIZE_BATCH): Promise<{ tenant_id: string; month: string }[]> {
    const { results } = await this.db
      .prepare(
        `SELECT DISTINCT m.tenant_id, m.month FROM usage_monthly m
         WHERE m.month < ? AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = m.tenant_id AND i.period = m.month)
         ORDER BY m.month, m.tenant_id LIMIT ?`,
      )
      .bind(before, limit)
      .all<{ tenant_id: string; month: string }>();
    return results;
  }

  /**
   * Issues a credit note against a final invoice: refused (null) when it would credit more than
   * remains due. The check and the insert are one statement, so concurrent notes cannot together
   * pass the invoice's total.
   */
  async addCreditNote(invoice: Invoice, amountMicros: number, reason: string, now: number): Promise<CreditNote | null> {
    const id = newId("cn");
    const res = await this.db
      .prepare(
        `INSERT INTO credit_notes (id, invoice_id, tenant_id, seq, amount_micros, reason, created_at)
         SELECT ?, i.id, i.tenant_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM credit_notes), ?, ?, ?
         FROM invoices i
         WHERE i.id = ? AND i.status = 'final'
           AND i.total_micros - (SELECT COALESCE(SUM(amount_micros), 0) FROM credit_notes c WHERE c.invoice_id = i.id) >= ?`,
      )
      .bind(id, amountMicros, reason, now, invoice.id, amountMicros)
      .run();
    if ((res.meta.changes ?? 0) === 0) return null;
    const row = await this.db.prepare("SELECT * FROM credit_notes WHERE id = ?").bind(id).first<CreditNoteRow>();
    return row ? creditNote(row) : null;
  }

  async #creditNotes(invoiceIds: string[]): Promise<Map<string, CreditNote[]>> {
    const out = new Map<string, CreditNote[]>();
    if (invoiceIds.length === 0) return out;
    const { results } = await this.db
      .prepare(`SELECT * FROM credit_notes WHERE invoice_id IN (${invoiceIds.map(() => "?").join(",")}) ORDER BY seq`)
      .bind(...invoiceIds)
      .all<CreditNoteRow>();
    for (const r of results) out.set(r.invoice_id, [...(out.get(r.invoice_id) ?? []), creditNote(r)]);
    return out;
  }

  async #withCreditNotes(rows: InvoiceRow[]): Promise<Invoice[]> {
    const notes = await this.#creditNotes(rows.map((r) => r.id));
    return rows.map((r) => invoiceOf(r, notes.get(r.id) ?? []));
  }
}

function creditNote(r: CreditNoteRow): CreditNote {
  return CreditNoteSchema.parse({
    id: r.id,
    object: "credit_note",
    number: creditNoteNumber(r.seq),
    invoice_id: r.invoice_id,
    tenant_id: r.tenant_id,
    amount_micros: r.amount_micros,
    reason: r.reason,
    created_at: seconds(r.created_at),
  });
}

function invoiceOf(r: InvoiceRow, notes: CreditNote[]): Invoice {
  const { start, end } = periodBounds(r.period);
  const credited = notes.reduce((n, c) => n + c.amount_micros, 0);
  const lines: InvoiceLine[] = InvoiceLineSchema.array().parse(JSON.parse(r.lines));
  return {
    id: r.id,
    object: "invoice",
    tenant_id: r.tenant_id,
    number: invoiceNumber(r.seq),
    period_start: start,
    period_end: end,
    status: r.status,
    currency: "usd",
    lines,
    subtotal_micros: r.subtotal_micros,
    credits_applied_micros: r.credits_applied_micros,
    total_micros: r.total_micros,
    credit_notes: notes,
    amount_due_micros: Math.max(0, r.total_micros - credited),
    payment_status: r.payment_status,
    created_at: seconds(r.created_at),
    finalized_at: seconds(r.finalized_at),
  };
}
