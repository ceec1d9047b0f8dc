import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { AdminInvoiceQuerySchema, CreditNoteInputSchema, CreditNoteSchema, InvoiceListSchema, InvoiceSchema } from "../../../shared/src/contracts/invoices";
import { recordAudit } from "../admin/audit";
import { CreditBalance } from "../admin/credits";
import { ADMIN_SECURITY, API_KEY_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "../admin/openapi";
import { adminActor, adminContext } from "../admin/rpc";
import type { GatewayBindings } from "../types";
import { keyActor } from "../usage-api/actor";
import { usageReadersOnly } from "../usage-api";

const Invoice = InvoiceSchema.openapi("Invoice");
const InvoiceList = InvoiceListSchema.openapi("InvoiceList");
const CreditNote = CreditNoteSchema.openapi("CreditNote");
const CreditNoteInput = CreditNoteInputSchema.openapi("CreditNoteInput");
const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .openapi({
      param: { name: "id", in: "path" },
      description: "`in_…` (final) or `draft_<tenant id>_<YYYY-MM>` (a draft)",
      example: "in_3x8cQm1Lw0b2kVhT9yZ4aP",
    }),
});

const INVOICE_DOC =
  "Per tenant and calendar month (UTC). Lines per model × kind of token at the unit price of the price version in force when the usage happened, " +
  "in integer micro-dollars; the lines sum exactly to the usage and costs APIs for the same tenant and month (a `rounding` line carries the per-request " +
  "round-up of the price rule). `total_micros` = subtotal − credits applied, rounded once to whole cents (half up). The current month's draft is " +
  "computed on read; a month is finalised by a daily scheduled job an hour after it closes, numbered `INV-000001`… without gaps, and never changes " +
  "afterwards: corrections are credit notes.";

const tenantRoutes = {
  list: createRoute({
    tags: ["invoices"],
    security: API_KEY_SECURITY,
    method: "get",
    path: "/v1/invoices",
    summary: "The tenant's invoices, newest first: the current month's draft, then finalised ones",
    description: `${INVOICE_DOC} Needs the \`usage:read\` scope.`,
    responses: { 200: jsonResponse(InvoiceList, "The invoices"), ...errorResponses(401, 403, 503) },
  }),
  get: createRoute({
    tags: ["invoices"],
    security: API_KEY_SECURITY,
    method: "get",
    path: "/v1/invoices/{id}",
    summary: "One invoice of the tenant (another tenant's is 404)",
    description: INVOICE_DOC,
    request: { params: IdParam },
    responses: { 200: jsonResponse(Invoice, "The invoice"), ...errorResponses(401, 403, 404, 503) },
  }),
  html: createRoute({
    tags: ["invoices"],
    security: API_KEY_SECURITY,
    method: "get",
    path: "/v1/invoices/{id}/html",
    summary: "A printable HTML invoice (self-contained: no script, no external asset)",
    request: { params: IdParam },
    responses: { 200: { description: "The invoice as HTML", content: { "text/html": { schema: z.string() } } }, ...errorResponses(401, 403, 404, 503) },
  }),
};

const credits = createRoute({
  tags: ["invoices"],
  security: API_KEY_SECURITY,
  method: "get",
  path: "/v1/credits",
  summary: "The tenant's prepaid credits: balance, every grant with its expiry, and the usage drawn from them",
  description:
    "Needs the `usage:read` scope; always the key's own tenant. Usage from the first grant on is drawn from the grants, the one expiring first " +
    "first (`drawn_micros` per grant and in all); what remains of an expired grant is lost. `low_balance_micros` is the floor below which a " +
    "`billing.credits_low` tenant event is sent (once per grant). A tenant without credits has no grants and a zero balance.",
  responses: { 200: jsonResponse(CreditBalance, "The balance and grants"), ...errorResponses(401, 403, 503) },
});

const adminRoutes = {
  list: createRoute({
    tags: ["admin: invoices"],
    security: ADMIN_SECURITY,
    method: "get",
    path: "/admin/invoices",
    summary: "Finalised invoices of every tenant, newest first (filter by tenant and period)",
    request: { query: AdminInvoiceQuerySchema },
    responses: { 200: jsonResponse(InvoiceList, "The invoices"), ...errorResponses(400, 401, 503) },
  }),
  finalize: createRoute({
    tags: ["admin: invoices"],
    security: ADMIN_SECURITY,
    method: "post",
    path: "/admin/invoices/{id}/finalize",
    summary: "Finalise a closed month's draft now (the daily job does it otherwise)",
    description: "409 when the invoice is already final (immutable) or its month is still running.",
    request: { params: IdParam },
    responses: { 200: jsonResponse(Invoice, "The final invoice"), ...errorResponses(401, 404, 409, 503) },
  }),
  creditNote: createRoute({
    tags: ["admin: invoices"],
    security: ADMIN_SECURITY,
    method: "post",
    path: "/admin/invoices/{id}/credit-notes",
    summary: "Issue a credit note against a final invoice (the correction of an invoice, never an edit)",
    description: "Numbered `CN-000001`… without gaps; lowers the invoice's `amount_due_micros`. 400 above what remains due, 409 for a draft.",
    request: { params: IdParam, ...jsonBody(CreditNoteInput) },
    responses: { 201: jsonResponse(CreditNote, "The credit note"), ...errorResponses(400, 401, 404, 409, 503) },
  }),
};

/** `/v1/invoices` (a key with `usage:read`, its own tenant) and `/admin/invoices` (admin token), answered by billing. */
export function registerInvoices(app: OpenAPIHono<GatewayBindings>): void {
  usageReadersOnly(app, ["/v1/invoices", "/v1/invoices/*", "/v1/credits"]);
  app.openapi(credits, async (c) => c.json(unwrap(await c.env.BILLING.credits(keyActor(c), c.get("principal").tenantId)), 200));
  app.openapi(tenantRoutes.list, async (c) => c.json(unwrap(await c.env.BILLING.invoices(keyActor(c), {})), 200));
  app.openapi(tenantRoutes.get, async (c) => c.json(unwrap(await c.env.BILLING.invoice(keyActor(c), c.req.valid("param").id)), 200));
  app.openapi(tenantRoutes.html, async (c) => {
    const html = unwrap(await c.env.BILLING.invoiceHtml(keyActor(c), c.req.valid("param").id));
    return c.html(html, 200, { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" });
  });

  app.openapi(adminRoutes.list, async (c) => c.json(unwrap(await c.env.BILLING.invoices(adminActor(c), c.req.valid("query"))), 200));
  app.openapi(adminRoutes.finalize, async (c) => {
    const invoice = unwrap(await c.env.BILLING.finalizeInvoice(adminActor(c), c.req.valid("param").id));
    await recordAudit(c, adminContext(c), {
      action: "invoice.finalize",
      target_type: "invoice",
      target_id: invoice.id,
      details: { tenant_id: invoice.tenant_id, number: invoice.number, total_micros: invoice.total_micros },
    });
    return c.json(invoice, 200);
  });
  app.openapi(adminRoutes.creditNote, async (c) => {
    const note = unwrap(await c.env.BILLING.creditNote(adminActor(c), c.req.valid("param").id, c.req.valid("json")));
    await recordAudit(c, adminContext(c), {
      action: "credit_note.create",
      target_type: "invoice",
      target_id: note.invoice_id,
      details: { tenant_id: note.tenant_id, number: note.number, amount_micros: note.amount_micros },
    });
    return c.json(note, 201);
  });
}
