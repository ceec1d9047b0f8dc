import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

/**
 * A local Stripe owned by the project: answers the part of Stripe's API billing uses (customers,
 * invoices, invoice items, finalize) like Stripe — form-encoded requests, `Authorization: Bearer
 * sk_test_…`, JSON objects with Stripe's ids and `object` names, Stripe's error shape — honours
 * `Idempotency-Key` (same key → the same object, never a second one) and records what it received.
 * `sendWebhook` signs an event exactly as Stripe does (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of
 * `${t}.${payload}` with the endpoint secret), using the official SDK's header generator.
 */
export interface FakeStripe {
  host: string;
  port: number;
  secretKey: string;
  webhookSecret: string;
  customers: Map<string, Record<string, unknown>>;
  invoices: Map<string, Record<string, unknown>>;
  invoiceItems: Map<string, Record<string, unknown>>;
  requests: { method: string; path: string; idempotencyKey: string | null; form: Record<string, string> }[];
  /** Posts a signed event to `url`; `secret` overrides the signing secret (a bad signature). */
  sendWebhook(url: string, event: { id: string; type: string; object: Record<string, unknown> }, secret?: string): Promise<Response>;
  close(): Promise<void>;
}

/** What `POST /v1/invoiceitems` accepts (InvoiceItemCreateParams); anything else is Stripe's "Received unknown parameter". */
const INVOICE_ITEM_PARAMS = new Set([
  "amount",
  "currency",
  "customer",
  "customer_account",
  "description",
  "discountable",
  "discounts",
  "expand",
  "invoice",
  "metadata",
  "period",
  "price_data",
  "pricing",
  "quantity",
  "quantity_decimal",
  "subscription",
  "tax_behavior",
  "tax_code",
  "tax_rates",
  "unit_amount_decimal",
]);

let counter = 0;
const id = (prefix: string) => `${prefix}_fake${(++counter).toString().padStart(8, "0")}`;

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
}

/** `metadata[invoice_id]=x` → `{ metadata: { invoice_id: "x" } }` (one level, as billing sends). */
function nest(form: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(form)) {
    const m = /^(\w+)\[(\w+)\]$/.exec(k);
    if (m) out[m[1]!] = { ...((out[m[1]!] as Record<string, string> | undefined) ?? {}), [m[2]!]: v };
    else out[k] = v;
  }
  return out;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const secretKey = "sk_test_fake_stripe_key";
  const webhookSecret = "whsec_fake_stripe_secret";
  const customers = new Map<string, Record<string, unknown>>();
  const invoices = new Map<string, Record<string, unknown>>();
  const invoiceItems = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: string }>();
  const requests: FakeStripe["requests"] = [];
  const stripe = new Stripe(secretKey);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const form = await readForm(req);
      const path = (req.url ?? "").split("?")[0]!;
      const key = (req.headers["idempotency-key"] as string | undefined) ?? null;
      requests.push({ method: req.method ?? "", path, idempotencyKey: key, form });
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        if (key && req.method === "POST") idempotent.set(`${path}\n${key}`, { status, body: text });
        res.writeHead(status, { "content-type": "application/json", "request-id": id("req") }).end(text);
      };
      if (req.headers.authorization !== `Bearer ${secretKey}`) {
        return send(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided." } });
      }
      const replay = key ? idempotent.get(`${path}\n${key}`) : undefined;
      if (replay) return res.writeHead(replay.status, { "content-type": "application/json", "idempotent-replayed": "true" }).end(replay.body);
      const body = nest(form);
      const now = Math.floor(Date.now() / 1000);
      if (req.method === "POST" && path === "/v1/customers") {
        const c = { id: id("cus"), object: "customer", created: now, livemode: false, ...body };
        customers.set(c.id, c);
        return send(200, c);
      }
      if (req.method === "POST" && path === "/v1/invoices") {
        if (typeof body["customer"] !== "string" || !customers.has(body["customer"])) {
          return send(400, { error: { type: "invalid_request_error", message: "No such customer", param: "customer" } });
        }
        const inv = {
          id: id("in"),
          object: "invoice",
          status: "draft",
          amount_due: 0,
          total: 0,
          created: now,
          livemode: false,
          lines: { object: "list", data: [], has_more: false },
          ...body,
        };
        invoices.set(inv.id, inv);
        return send(200, inv);
      }
      if (req.method === "POST" && path === "/v1/invoiceitems") {
        const invalid = (message: string, param: string) => send(400, { error: { type: "invalid_request_error", message, param } });
        const unknown = Object.keys(body).find((k) => !INVOICE_ITEM_PARAMS.has(k));
        if (unknown) return invalid(`Received unknown parameter: ${unknown}`, unknown);
        if (typeof body["customer"] !== "string" || !customers.has(body["customer"])) return invalid("No such customer", "customer");
        if (body["currency"] !== "usd") return invalid("Invalid currency", "currency");
        if (typeof body["amount"] !== "string" || !/^-?\d+$/.test(body["amount"])) return invalid("Invalid integer: amount", "amount");
        const metadata = (body["metadata"] ?? {}) as Record<string, string>;
        if (Object.keys(metadata).length > 50 || Object.entries(metadata).some(([k, v]) => k.length > 40 || v.length > 500)) {
          return invalid("Invalid metadata: at most 50 keys of 40 characters, values of 500", "metadata");
        }
        const inv = typeof body["invoice"] === "string" ? invoices.get(body["invoice"]) : undefined;
        if (!inv || inv["status"] !== "draft" || inv["customer"] !== body["customer"]) return invalid("No such draft invoice of this customer", "invoice");
        const lines = inv["lines"] as { data: unknown[] };
        if (lines.data.length >= 250) return invalid("An invoice may have at most 250 invoice items", "invoice");
        const amount = Number(body["amount"]);
        const period = body["period"] as { start?: string; end?: string } | undefined;
        // Stripe's InvoiceItem object (node_modules/stripe/cjs/resources/InvoiceItems.d.ts).
        const item = {
          id: id("ii"),
          object: "invoiceitem",
          amount,
          currency: body["currency"],
          customer: body["customer"],
          customer_account: null,
          date: now,
          description: (body["description"] as string | undefined) ?? null,
          discountable: amount >= 0,
          discounts: [],
          invoice: inv["id"],
          livemode: false,
          metadata,
          parent: null,
          period: period ? { start: Number(period.start), end: Number(period.end) } : { start: now, end: now },
          pricing: null,
          proration: false,
          quantity: 1,
          quantity_decimal: "1",
          tax_rates: [],
          test_clock: null,
        };
        invoiceItems.set(item.id, item);
        lines.data.push(item);
        inv["total"] = Number(inv["total"]) + amount;
        inv["amount_due"] = inv["total"];
        return send(200, item);
      }
      const finalize = /^\/v1\/invoices\/([^/]+)\/finalize$/.exec(path);
      if (req.method === "POST" && finalize) {
        const inv = invoices.get(finalize[1]!);
        if (!inv) return send(404, { error: { type: "invalid_request_error", message: "No such invoice" } });
        inv["status"] = "open";
        return send(200, inv);
      }
      return send(404, { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${path}).` } });
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    secretKey,
    webhookSecret,
    customers,
    invoices,
    invoiceItems,
    requests,
    async sendWebhook(url, event, secret = webhookSecret) {
      const payload = JSON.stringify({
        id: event.id,
        object: "event",
        api_version: "2025-01-01",
        created: Math.floor(Date.now() / 1000),
        livemode: false,
        type: event.type,
        data: { object: event.object },
      });
      const header = await stripe.webhooks.generateTestHeaderStringAsync({ payload, secret });
      return fetch(url, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": header }, body: payload });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
