import { fail, monthOf, ok, usdToMicros, validationError, type Result } from "../../../shared/src";
import {
  AdminInvoiceQuerySchema,
  CreditNoteInputSchema,
  InvoiceIdSchema,
  type CreditNote,
  type Invoice,
  type InvoiceList,
} from "../../../shared/src/contracts/invoices";
import { requireAdmin, type VerifyKeys } from "../usage/access";
import { usageScope } from "../usage/reader";
import { invoiceHtml } from "./html";
import { FINALIZE_GRACE_MS, InvoiceStore, parseDraftId, type Collection, type CreditsApplied } from "./store";

const notFound = () => fail({ code: "not_found" as const, message: "No such invoice.", param: "invoice_id" });

export interface InvoiceDeps {
  db: D1Database;
  keys: VerifyKeys;
  issuer: string;
  collection: Collection;
  credits: CreditsApplied;
  now: () => number;
}

/**
 * The invoice operations behind billing's RPC methods: who may do what (a tenant key with
 * `usage:read` reads its own tenant's invoices, another tenant's id is a 404; the admin reads all,
 * finalises and issues credit notes), then the store.
 */
export class Invoices {
  #deps: InvoiceDeps;
  #store: InvoiceStore;

  constructor(deps: InvoiceDeps) {
    this.#deps = deps;
    this.#store = new InvoiceStore(deps.db, deps.credits, deps.collection);
  }

  /** A tenant's invoices (the current month's draft first); the admin's list with filters. */
  async list(actor: unknown, query: unknown): Promise<Result<InvoiceList>> {
    const scope = await usageScope(actor, this.#deps.keys);
    if (!scope.ok) return scope;
    if (scope.value.tenantId !== null) {
      return ok({ object: "list", data: await this.#store.listForTenant(scope.value.tenantId, this.#deps.now()), has_more: false });
    }
    const parsed = AdminInvoiceQuerySchema.safeParse(query ?? {});
    if (!parsed.success) return fail(validationError(parsed.error));
    const limit = parsed.data.limit ?? 100;
    const data = await this.#store.list({ ...parsed.data, limit: limit + 1 });
    return ok({ object: "list", data: data.slice(0, limit), has_more: data.length > limit });
  }

  async get(actor: unknown, id: unknown): Promise<Result<Invoice>> {
    const scope = await usageScope(actor, this.#deps.keys);
    if (!scope.ok) return scope;
    const parsed = InvoiceIdSchema.safeParse(id);
    if (!parsed.success) return notFound();
    const invoice = await this.#store.get(parsed.data, scope.value.tenantId, this.#deps.now());
    return invoice ? ok(invoice) : notFound();
  }

  async html(actor: unknown, id: unknown): Promise<Result<string>> {
    const invoice = await this.get(actor, id);
    if (!invoice.ok) return invoice;
    return ok(invoiceHtml(invoice.value, this.#deps.issuer));
  }

  /**
   * Finalises a draft of a closed month (admin): 409 for an invoice already final (immutable) and
   * for the month still running (its usage is not complete).
   */
  async finalize(actor: unknown, id: unknown): Promise<Result<Invoice>> {
    const admin = await requireAdmin(actor, this.#deps.keys);
    if (!admin.ok) return admin;
    const parsed = InvoiceIdSchema.safeParse(id);
    if (!parsed.success) return notFound();
    const draft = parseDraftId(parsed.data);
    if (!draft) {
      const existing = await this.#store.get(parsed.data, null, this.#deps.now());
      if (!existing) return notFound();
      return fail({
        code: "conflict",
        message: `Invoice ${existing.number ?? existing.id} is already final; finalised invoices cannot be changed (issue a credit note).`,
      });
    }
    const now = this.#deps.now();
    if (draft.month >= monthOf(now)) {
      return fail({ code: "conflict", message: `The period ${draft.month} has not closed yet; it can be finalised once the month is over.` });
    }
    const { invoice, created } = await this.#store.finalize(draft.tenantId, draft.month, now);
    if (!created)
      return fail({
        code: "conflict",
        message: `The period ${draft.month} is already invoiced (${invoice.number ?? invoice.id}); finalised invoices cannot be changed.`,
      });
    return ok(invoice);
  }

  /** A credit note against a final invoice (admin): 409 for a draft, 400 above what remains due. */
  async creditNote(actor: unknown, id: unknown, input: unknown): Promise<Result<CreditNote>> {
    const admin = await requireAdmin(actor, this.#deps.keys);
    if (!admin.ok) return admin;
    const parsed = CreditNoteInputSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const invoiceId = InvoiceIdSchema.safeParse(id);
    if (!invoiceId.success) return notFound();
    const invoice = await this.#store.get(invoiceId.data, null, this.#deps.now());
    if (!invoice) return notFound();
    if (invoice.status !== "final") return fail({ code: "conflict", message: "A credit note corrects a final invoice; this one is not final." });
    const amount = usdToMicros(parsed.data.amount_usd);
    const note = await this.#store.addCreditNote(invoice, amount, parsed.data.reason, this.#deps.now());
    return note ? ok(note) : fail({ code: "invalid_request", message: "The credit note is larger than what remains due on the invoice.", param: "amount_usd" });
  }

  /** A stored invoice by id, for internal jobs (Stripe mirroring). */
  byId(id: string): Promise<Invoice | null> {
    return this.#store.get(id, null, this.#deps.now());
  }

  /**
   * The cron: finalises every (tenant, month) with usage whose month closed at least
   * FINALIZE_GRACE_MS before `scheduledTime` and has no invoice yet. Idempotent: a rerun (or a
   * concurrent admin finalisation) inserts nothing twice.
   */
  async finalizeClosed(scheduledTime: number): Promise<Invoice[]> {
    const before = monthOf(scheduledTime - FINALIZE_GRACE_MS);
    const out: Invoice[] = [];
    for (const { tenant_id, month } of await this.#store.unfinalised(before)) {
      const { invoice, created } = await this.#store.finalize(tenant_id, month, this.#deps.now());
      if (created) out.push(invoice);
    }
    return out;
  }
}
