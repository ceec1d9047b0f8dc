import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { ApiError } from "../../../shared/src";
import { errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";

const MAX_BYTES = 256 * 1024;

const route = createRoute({
  tags: ["invoices"],
  method: "post",
  path: "/webhooks/stripe",
  summary: "Stripe's webhook endpoint (invoice.paid, invoice.payment_failed, invoice.voided, customer.deleted)",
  description:
    "Verified with the endpoint secret (`STRIPE_WEBHOOK_SECRET`) from the `Stripe-Signature` header; a bad signature is a 400 and changes nothing. " +
    "Each event is processed once by its id: a replay is answered 200 and changes nothing. 404 when payment collection is off.",
  responses: {
    200: jsonResponse(z.object({ received: z.literal(true), processed: z.boolean() }).openapi("StripeWebhookAck"), "Received"),
    ...errorResponses(400, 404, 413, 503),
  },
});

/** `POST /webhooks/stripe`: the raw body goes to billing, which verifies the signature with the Stripe SDK. */
export function registerStripeWebhook(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(route, async (c) => {
    const body = await c.req.text();
    if (body.length > MAX_BYTES) throw new ApiError({ code: "payload_too_large", message: "The webhook body is larger than 256 KB." });
    const res = unwrap(await c.env.BILLING.stripeWebhook(body, c.req.header("stripe-signature") ?? ""));
    return c.json({ received: true as const, processed: res.processed }, 200);
  });
}
