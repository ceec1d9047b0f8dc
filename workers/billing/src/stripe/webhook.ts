import Stripe from "stripe";
import { fail, ok, type Result } from "../../../shared/src";

const STATUS: Record<string, string> = { "invoice.paid": "paid", "invoice.payment_failed": "failed", "invoice.voided": "void" };
/** Largest webhook body accepted (Stripe's events are a few KB). */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

/**
 * `POST /webhooks/stripe`: verified with the endpoint secret by the SDK's async verification (Web
 * Crypto), then processed once by event id: the event id and its effect are written in one D1 batch,
 * and a replay (the id already stored) changes nothing.
 */
export async function stripeWebhook(env: BillingEnv, body: unknown, signature: unknown, now: number): Promise<Result<{ processed: boolean }>> {
  if (!env.STRIPE_WEBHOOK_SECRET) return fail({ code: "not_found", message: "Payment collection is off: no Stripe webhook secret is configured." });
  if (typeof body !== "string" || typeof signature !== "string" || body.length > MAX_WEBHOOK_BYTES) {
    return fail({ code: "invalid_request", message: "Missing or invalid Stripe-Signature.", param: "stripe-signature" });
  }
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(body, signature, env.STRIPE_WEBHOOK_SECRET, undefined, Stripe.createSubtleCryptoProvider());
  } catch {
    return fail({ code: "invalid_request", message: "The Stripe-Signature does not verify.", param: "stripe-signature" });
  }
  const db = env.BILLING_DB;
  const record = db.prepare("INSERT INTO stripe_events (id, type, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING").bind(event.id, event.type, now);
  const effects: D1PreparedStatement[] = [];
  const object = event.data.object as { id?: unknown };
  const id = typeof object.id === "string" ? object.id : null;
  const status = STATUS[event.type];
  // Each effect runs only if this batch's insert of the event id happened (changes() of the insert).
  if (status && id) {
    effects.push(
      db
        .prepare(
          `UPDATE invoices SET payment_status = ?, status = CASE WHEN ? = 'void' THEN 'void' ELSE status END
           WHERE stripe_invoice_id = ? AND (SELECT received_at FROM stripe_events WHERE id = ?) = ?`,
        )
        .bind(status, status, id, event.id, now),
    );
  } else if (event.type === "customer.deleted" && id) {
    effects.push(
      db.prepare("DELETE FROM stripe_customers WHERE customer_id = ? AND (SELECT received_at FROM stripe_events WHERE id = ?) = ?").bind(id, event.id, now),
    );
  }
  const [inserted] = await db.batch([record, ...effects]);
  return ok({ processed: (inserted?.meta.changes ?? 0) > 0 });
}
