import { microsToUsdString } from "../../../shared/src";
import type { Invoice, InvoiceLineKind } from "../../../shared/src/contracts/invoices";

/**
 * A printable invoice: one self-contained HTML page (inline CSS, no script, no external asset), so
 * it prints and archives as is. Amounts are the invoice's integers printed exactly: lines and
 * subtotal to the micro-dollar ($0.001234), the total (already rounded to cents) with two places.
 */

const KIND_LABELS: Record<InvoiceLineKind, string> = {
  input: "Input tokens",
  cached_input: "Cached input tokens",
  cache_write: "Cache write tokens",
  output: "Output tokens (incl. reasoning)",
  batch_input: "Batch input tokens",
  batch_cached_input: "Batch cached input tokens",
  batch_cache_write: "Batch cache write tokens",
  batch_output: "Batch output tokens",
  batch_discount: "Batch discount",
  rounding: "Per-request rounding (requests)",
  usage: "Usage (recorded cost)",
};

/** µ$ exactly, with a sign: `$0.001234`, `-$0.000500`. */
export function exactUsd(micros: number): string {
  return `${micros < 0 ? "-" : ""}$${microsToUsdString(Math.abs(micros))}`;
}

/** A whole-cent amount: `$12.35`. */
export function centsUsd(micros: number): string {
  const exact = microsToUsdString(Math.abs(micros));
  return `${micros < 0 ? "-" : ""}$${exact.slice(0, exact.length - 4)}`;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const day = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().slice(0, 10);

export function invoiceHtml(invoice: Invoice, issuer: string): string {
  const title = invoice.number ? `Invoice ${invoice.number}` : "Draft invoice";
  const lastDay = day(invoice.period_end - 86_400);
  const lines = invoice.lines
    .map(
      (l) =>
        `<tr><td>${escape(l.model)}</td><td>${KIND_LABELS[l.kind]}</td><td class="n">${l.quantity}</td>` +
        `<td class="n">${l.unit_price_micros_per_mtok ? exactUsd(l.unit_price_micros_per_mtok) : ""}</td>` +
        `<td class="n">${l.price_version ?? ""}</td><td class="n">${exactUsd(l.amount_micros)}</td></tr>`,
    )
    .join("\n");
  const notes = invoice.credit_notes
    .map((c) => `<tr><td colspan="5">Credit note ${escape(c.number)}: ${escape(c.reason)}</td><td class="n">-${centsOrExact(c.amount_micros)}</td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}
.totals td{border:none}
header{display:flex;justify-content:space-between}
@media print{body{margin:0}}
</style></head>
<body>
<header><div><h1>${escape(title)}</h1><p>Status: <span id="status">${invoice.status}</span></p></div>
<div><strong>${escape(issuer)}</strong></div></header>
<p>Billed to tenant <strong id="tenant">${escape(invoice.tenant_id)}</strong><br>
Period: <span id="period">${day(invoice.period_start)} – ${lastDay}</span> (UTC)<br>
Currency: USD · Invoice id: ${escape(invoice.id)}${invoice.finalized_at ? ` · Finalised ${day(invoice.finalized_at)}` : ""}</p>
<table><thead><tr><th>Model</th><th>Item</th><th class="n">Quantity</th><th class="n">Unit price / 1M tokens</th><th class="n">Price version</th><th class="n">Amount</th></tr></thead>
<tbody>
${lines || '<tr><td colspan="6">No usage in this period.</td></tr>'}
</tbody>
<tbody class="totals">
<tr><td colspan="5">Subtotal</td><td class="n" id="subtotal">${exactUsd(invoice.subtotal_micros)}</td></tr>
<tr><td colspan="5">Prepaid credits applied</td><td class="n" id="credits">-${exactUsd(invoice.credits_applied_micros).replace("-", "")}</td></tr>
<tr><td colspan="5"><strong>Total</strong> (rounded to the cent)</td><td class="n" id="total"><strong>${centsUsd(invoice.total_micros)}</strong></td></tr>
${notes}
<tr><td colspan="5">Amount due</td><td class="n" id="amount-due">${centsOrExact(invoice.amount_due_micros)}</td></tr>
</tbody></table>
<p>Amounts per line are exact to the micro-dollar; each request is priced once and rounded up to the micro-dollar (the rounding line).</p>
</body></html>`;
}

/** Whole cents print as cents, anything finer exactly. */
function centsOrExact(micros: number): string {
  return micros % 10_000 === 0 ? centsUsd(micros) : exactUsd(micros);
}
