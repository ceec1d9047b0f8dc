import { WorkerEntrypoint } from "cloudflare:workers";
import { fail, ok, privateWorkerFetch, runChecks, validationError, verifyActor, type Result, type ServiceHealth } from "../../shared/src";
import { PriceSchema, type Price } from "../../shared/src/pricing";
import { PriceStore } from "./prices/store";
import { PriceImportRequestSchema, type PriceImportResult } from "../../shared/src/contracts/price-import";
import { requireAdmin, requireUsageReader, type VerifyKeys } from "./usage/access";
import { consumeUsageBatch } from "./usage/consumer";
import { RequestIdSchema, type CostResult, type Page, type RequestUsage, type UsageKind, type UsageResult } from "../../shared/src/contracts/usage-api";
import { costBuckets, usageBuckets } from "./usage/organization";
import { consoleReport } from "./usage/console";
import type { ConsoleReport } from "../../shared/src/contracts/console";
import { usageScope } from "./usage/reader";
import { requestUsage } from "./usage/request";
import { langchainRun, langchainUsage } from "./usage/langchain";
import type { LangchainRun, LangchainUsage } from "../../shared/src/contracts/langchain";
import { MonthSpendQuerySchema, monthSpendMicros, UsageQuerySchema, usageSummary, type UsageSummary } from "./usage/query";

import { Invoices } from "./invoices/service";
import { metricsSnapshot } from "./metrics/snapshot";
import type { MetricsSnapshot } from "../../shared/src/contracts/metrics";
import { Credits } from "./credits/service";
import { stripeClient } from "./stripe/client";
import { mirrorInvoice } from "./stripe/mirror";
import { stripeWebhook } from "./stripe/webhook";
import { billingAlerts } from "./alerts/sinks";
import type { CreditBalance, CreditGrant, CreditLimit } from "../../shared/src/contracts/credits";
import type { CreditNote, Invoice, InvoiceList } from "../../shared/src/contracts/invoices";
import { errorMessage, log } from "../../shared/src/log";

const ModelNameSchema = PriceSchema.shape.model;

const keysOf = (env: BillingEnv) => ({ principal: env.PRINCIPAL_VERIFY_JWK, gateway: env.GATEWAY_VERIFY_JWK });

/** The prepaid-credit operations over this Worker's bindings. */
function credits(env: BillingEnv): Credits {
  return new Credits(env.BILLING_DB, keysOf(env), () => Date.now());
}

/** The invoice operations over this Worker's bindings. */
function invoices(env: BillingEnv): Invoices {
  const c = credits(env);
  return new Invoices({
    db: env.BILLING_DB,
    keys: keysOf(env),
    issuer: env.INVOICE_ISSUER,
    collection: { enabled: Boolean(env.STRIPE_SECRET_KEY) },
    credits: (tenantId, month, subtotal) => c.applied(tenantId, month, subtotal),
    now: () => Date.now(),
  });
}

/** billing: prices, usage metering, budgets. Reached only through service bindings and its queue. */
export class BillingService extends WorkerEntrypoint<BillingEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("billing", {
      d1: () => this.env.BILLING_DB.prepare("SELECT 1").first(),
    });
  }

  /** The whole price table (small: one row per model); the gateway caches it in isolate memory. */
  async prices(): Promise<Result<Price[]>> {
    return ok(await new PriceStore(this.env.BILLING_DB).list());
  }

  /** GET /metrics's request series (admin context only): exact counts from the usage ledger. */
  async metrics(actor: unknown): Promise<Result<MetricsSnapshot>> {
    const admin = await requireAdmin(actor, this.#keys());
    if (!admin.ok) return admin;
    return ok(await metricsSnapshot(this.env.BILLING_DB));
  }

  /** One model's price, or 404. */
  async price(model: unknown): Promise<Result<Price>> {
    const name = ModelNameSchema.safeParse(model);
    if (!name.success) return fail(validationError(name.error));
    const price = await new PriceStore(this.env.BILLING_DB).get(name.data);
    return price ? ok(price) : fail({ code: "not_found", message: `No price is set for model '${name.data}'.`, param: "model" });
  }

  /** Creates or replaces a model's price (admin API; `actor`: the gateway's admin context). `created` tells 201 from 200. */
  async putPrice(actor: unknown, input: unknown): Promise<Result<{ price: Price; created: boolean }>> {
    const admin = await requireAdmin(actor, this.#keys());
    if (!admin.ok) return admin;
    const parsed = PriceSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const created = await new PriceStore(this.env.BILLING_DB).put(parsed.data);
    return ok({ price: parsed.data, created });
  }

  /**
   * Imports a price file's rows (`POST /admin/prices/import`, read by the gateway) as one import
   * (each changed row its model's next price version); rows equal to the stored ones are left alone, so importing twice changes nothing.
   * `actor`: the gateway's admin context.
   */
  async importPrices(actor: unknown, input: unknown): Promise<Result<PriceImportResult>> {
    const admin = await requireAdmin(actor, this.#keys());
    if (!admin.ok) return admin;
    const parsed = PriceImportRequestSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const { prices, dry_run, source } = parsed.data;
    return ok(await new PriceStore(this.env.BILLING_DB).importVersion(prices, { dryRun: dry_run, source }));
  }

  /** Deletes a model's price (admin API; `actor`: the gateway's admin context); its future usage is recorded unpriced (cost 0). */
  async deletePrice(actor: unknown, model: unknown): Promise<Result<{ model: string; deleted: true }>> {
    const admin = await requireAdmin(actor, this.#keys());
    if (!admin.ok) return admin;
    const name = ModelNameSchema.safeParse(model);
    if (!name.success) return fail(validationError(name.error));
    const deleted = await new PriceStore(this.env.BILLING_DB).delete(name.data);
    return deleted
      ? ok({ model: name.data, deleted: true })
      : fail({ code: "not_found", message: `No price is set for model '${name.data}'.`, param: "model" });
  }

  /**
   * Recorded spend of a limiter subject (`key:<id>` or `tenant:<id>`) in a month, in µ$. A
   * RateLimiter object asks when a budget applies to a subject whose month no object holds (a
   * budget set mid-month, or given again after being removed), so it counts what was already spent.
   * `actor`: the request's principal token (the subject must be its key or its tenant) or the
   * admin context.
   */
  async monthSpend(actor: unknown, query: unknown): Promise<Result<{ micros: number }>> {
    const parsed = MonthSpendQuerySchema.safeParse(query);
    if (!parsed.success) return fail(validationError(parsed.error));
    const allowed = await this.#maySeeSpendOf(actor, parsed.data.subject);
    if (!allowed.ok) return allowed;
    return ok({ micros: await monthSpendMicros(this.env.BILLING_DB, parsed.data) });
  }

  /**
   * Month-to-date usage and spend of a tenant or one of its keys, from the monthly rollups.
   * `actor`: a principal token of that tenant (`usage:read`, or the key itself) or the admin context.
   */
  async usage(actor: unknown, query: unknown): Promise<Result<UsageSummary>> {
    const parsed = UsageQuerySchema.safeParse(query);
    if (!parsed.success) return fail(validationError(parsed.error));
    const allowed = await requireUsageReader(actor, this.#keys(), parsed.data.tenant_id, parsed.data.key_id ?? null);
    if (!allowed.ok) return allowed;
    return ok(await usageSummary(this.env.BILLING_DB, parsed.data));
  }

  /**
   * One request's metered record (`GET /v1/usage/requests/{id}`): `actor` is a tenant key's
   * principal token with `usage:read`. 404 until the queue consumer stored it, and for another
   * tenant's request.
   */
  async requestUsage(actor: unknown, requestId: unknown): Promise<Result<RequestUsage>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    const id = RequestIdSchema.safeParse(requestId);
    const found = id.success && scope.value.tenantId !== null ? await requestUsage(this.env.BILLING_DB, scope.value.tenantId, id.data) : null;
    return found
      ? ok(found)
      : fail({
          code: "not_found",
          message: "No usage is recorded for this request id (yet): usage is stored within seconds of the answer.",
          param: "request_id",
        });
  }

  /**
   * OpenAI's organization usage (`kind`: completions or embeddings) in time buckets, from the
   * rollups: a tenant key with `usage:read` sees its own tenant; the admin context every tenant.
   */
  async usageBuckets(actor: unknown, kind: UsageKind, query: unknown): Promise<Result<Page<UsageResult>>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    if (kind !== "completions" && kind !== "embeddings") return fail({ code: "not_found", message: "No such usage kind." });
    return usageBuckets(this.env.BILLING_DB, scope.value, kind, query, Math.floor(Date.now() / 1000));
  }

  /** OpenAI's organization costs in 1d buckets (integer micro-dollars beside the USD value), same callers. */
  async costBuckets(actor: unknown, query: unknown): Promise<Result<Page<CostResult>>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    return costBuckets(this.env.BILLING_DB, scope.value, query, Math.floor(Date.now() / 1000));
  }

  /**
   * The console's report (contracts/console.ts) from the usage ledger: a tenant's reader (a
   * principal token with `usage:read`) sees its own tenant; the admin context every tenant, or one
   * by `tenant_id`.
   */
  async consoleReport(actor: unknown, query: unknown): Promise<Result<ConsoleReport>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    return consoleReport(this.env.BILLING_DB, scope.value, query, Math.floor(Date.now() / 1000));
  }

  /**
   * `/v1/langchain/usage`: the usage of the tenant's requests made through `/v1/langchain`, by
   * run, session or tag, grouped by model, day or tag. `actor`: a tenant key's principal token
   * with `usage:read` (its own tenant only).
   */
  async langchainUsage(actor: unknown, query: unknown): Promise<Result<LangchainUsage>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    return langchainUsage(this.env.BILLING_DB, scope.value, query);
  }

  /** `/v1/langchain/runs/{run_id}`: one run's requests, child runs and totals; another tenant's run is 404. Same callers. */
  async langchainRun(actor: unknown, runId: unknown): Promise<Result<LangchainRun>> {
    const scope = await usageScope(actor, this.#keys());
    if (!scope.ok) return scope;
    return langchainRun(this.env.BILLING_DB, scope.value, runId);
  }

  /** `GET /v1/invoices` (a tenant key with `usage:read`: its own, the current draft first) and `GET /admin/invoices` (admin). */
  async invoices(actor: unknown, query: unknown): Promise<Result<InvoiceList>> {
    return invoices(this.env).list(actor, query);
  }

  /** One invoice (a draft id is computed on read); another tenant's is 404. */
  async invoice(actor: unknown, id: unknown): Promise<Result<Invoice>> {
    return invoices(this.env).get(actor, id);
  }

  /** The printable HTML of one invoice. */
  async invoiceHtml(actor: unknown, id: unknown): Promise<Result<string>> {
    return invoices(this.env).html(actor, id);
  }

  /** Admin: finalises a closed month's draft; 409 when already final or the month is still open. Mirrored to Stripe when collection is on. */
  async finalizeInvoice(actor: unknown, id: unknown): Promise<Result<Invoice>> {
    const res = await invoices(this.env).finalize(actor, id);
    if (res.ok) await mirrorPending(this.env);
    return res;
  }

  /** `POST /webhooks/stripe`: the raw body and its Stripe-Signature; verified here, processed once by event id. */
  async stripeWebhook(body: unknown, signature: unknown): Promise<Result<{ processed: boolean }>> {
    return stripeWebhook(this.env, body, signature, Date.now());
  }

  /** Admin: a credit note against a final invoice. */
  async creditNote(actor: unknown, id: unknown, input: unknown): Promise<Result<CreditNote>> {
    return invoices(this.env).creditNote(actor, id, input);
  }

  /** Admin: grants prepaid credits to a tenant (`{amount_usd, expires_at?}`). */
  async grantCredits(actor: unknown, tenantId: unknown, input: unknown): Promise<Result<CreditGrant>> {
    return credits(this.env).grant(actor, tenantId, input);
  }

  /** A tenant's credit balance and grants: the admin, or a key of that tenant with `usage:read`. */
  async credits(actor: unknown, tenantId: unknown): Promise<Result<CreditBalance>> {
    return credits(this.env).balance(actor, tenantId);
  }

  /** Admin: a tenant's low-balance floor for `billing.credits_low` (`{low_balance_usd}`, null = the default); answers the balance. */
  async creditSettings(actor: unknown, tenantId: unknown, input: unknown): Promise<Result<CreditBalance>> {
    return credits(this.env).settings(actor, tenantId, input);
  }

  /** The gateway's hot path (cached per isolate): a prepaid tenant's month limit, or null. `actor`: the request's principal token. */
  async creditLimit(actor: unknown, tenantId: unknown): Promise<Result<CreditLimit>> {
    return credits(this.env).limit(actor, tenantId);
  }

  /**
   * A limiter subject's spend goes to the limiter acting for one of the subject's requests: the
   * principal token must be that key's, or a key of that tenant (any key: the tenant's budget
   * limits all of them, and the figure is never shown to the client).
   */
  async #maySeeSpendOf(actor: unknown, subject: string): Promise<Result<true>> {
    const verified = await verifyActor(actor, this.#keys());
    if (!verified.ok) return verified;
    if (verified.value.kind === "admin") return ok(true);
    const { tenantId, keyId } = verified.value.claims;
    if (subject === `tenant:${tenantId}` || subject === `key:${keyId}`) return ok(true);
    return fail({ code: "not_found", message: "No usage was found for this subject." });
  }

  #keys(): VerifyKeys {
    return { principal: this.env.PRINCIPAL_VERIFY_JWK, gateway: this.env.GATEWAY_VERIFY_JWK };
  }
}

/**
 * Mirrors final invoices not yet in Stripe (collection on): after each finalisation and on every
 * cron run, so a mirroring that failed half-way is retried with the same idempotency keys.
 */
async function mirrorPending(env: BillingEnv): Promise<void> {
  const stripe = stripeClient(env);
  if (!stripe) return;
  const pending = await env.BILLING_DB.prepare(
    "SELECT id FROM invoices WHERE status = 'final' AND stripe_invoice_id IS NULL AND payment_status = 'pending' ORDER BY seq LIMIT 100",
  ).all<{ id: string }>();
  const store = invoices(env);
  for (const { id } of pending.results) {
    const invoice = await store.byId(id);
    if (!invoice) continue;
    try {
      await mirrorInvoice(env.BILLING_DB, stripe, invoice, Date.now());
    } catch (err) {
      log.error("billing", "stripe mirroring failed; retried on the next run", { op: "stripe", detail: id, message: errorMessage(err) });
    }
  }
}

export default {
  fetch: privateWorkerFetch,
  queue: (batch, env) => consumeUsageBatch(batch, env),
  /** The cron (wrangler.toml `triggers`): finalises the invoices of closed months. */
  scheduled: async (controller, env) => {
    const created = await invoices(env).finalizeClosed(controller.scheduledTime);
    if (created.length > 0) log.info("billing", "invoices finalised", { op: "invoices", count: created.length });
    await mirrorPending(env);
    // Alerts whose webhook or audit row could not be delivered when they fired (the outbox).
    await billingAlerts(env).retryPending();
  },
} satisfies ExportedHandler<BillingEnv>;
