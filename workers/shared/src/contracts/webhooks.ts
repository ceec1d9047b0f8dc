import { z } from "zod";
import { EventFilterSchema, TenantEventDataSchema, TenantEventTypeSchema, TENANT_EVENT_TYPES, ALL_EVENTS } from "../webhooks/events";

/**
 * Tenant webhook endpoints (`/v1/webhooks`): what the API accepts and returns, and what the gateway,
 * tail (the owner: D1 `tail`, Queue `webhooks`) and emitting Workers exchange over RPC.
 *
 * Bounds on everything a tenant controls: the URL's length, the description's, the event list, and
 * how many endpoints one tenant may have.
 */
export const MAX_WEBHOOK_URL_CHARS = 2048;
export const MAX_WEBHOOK_DESCRIPTION_CHARS = 512;
export const MAX_WEBHOOKS_PER_TENANT = 20;

export const WEBHOOK_ID_PREFIX = "wh";
export const WebhookIdSchema = z.string().regex(/^wh_[0-9A-Za-z]{22}$/, "is not a webhook endpoint id");

const EventsSchema = z
  .array(EventFilterSchema)
  .min(1)
  .max(TENANT_EVENT_TYPES.length + 1)
  .refine((events) => new Set(events).size === events.length, "must not repeat an event type")
  .describe(
    `Event types to receive (${TENANT_EVENT_TYPES.join(", ")}), or "${ALL_EVENTS}" for every type, including ones added later. Default ["${ALL_EVENTS}"].`,
  );

export const WebhookCreateSchema = z
  .object({
    url: z
      .string()
      .min(1)
      .max(MAX_WEBHOOK_URL_CHARS)
      .describe("Where events are POSTed: https on a public host, port 443 or 8443 (the SSRF guard of upstream URLs)."),
    events: EventsSchema.optional(),
    description: z.string().max(MAX_WEBHOOK_DESCRIPTION_CHARS).optional(),
  })
  .strict();
export type WebhookCreate = z.infer<typeof WebhookCreateSchema>;

export const WebhookEndpointSchema = z.object({
  id: z.string(),
  object: z.literal("webhook_endpoint"),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  /** Unix seconds. */
  created_at: z.number().int(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpointSchema>;

/** The creation answer: the only time the signing secret is ever returned. */
export const CreatedWebhookEndpointSchema = WebhookEndpointSchema.extend({
  secret: z.string().describe("The signing secret (`whsec_…`), shown only in this answer: verify deliveries with it (Standard Webhooks)."),
});
export type CreatedWebhookEndpoint = z.infer<typeof CreatedWebhookEndpointSchema>;

export const WebhookListSchema = z.object({ object: z.literal("list"), data: z.array(WebhookEndpointSchema) });
export type WebhookList = z.infer<typeof WebhookListSchema>;

export const DeletedWebhookSchema = z.object({ id: z.string(), object: z.literal("webhook_endpoint"), deleted: z.literal(true) });
export type DeletedWebhook = z.infer<typeof DeletedWebhookSchema>;

/**
 * What an internal Worker emits (tail's `TenantEvents.emit`): the tenant, the event type, the
 * object it is about, and an optional de-duplication key chosen by that Worker (never a client's
 * value) that makes the event id stable when the emitter itself runs twice.
 */
export const EmitTenantEventSchema = z
  .object({
    tenant_id: z.string().min(1).max(64),
    type: TenantEventTypeSchema,
    data: TenantEventDataSchema,
    dedupe_key: z.string().min(1).max(256).optional(),
  })
  .strict();
export type EmitTenantEvent = z.infer<typeof EmitTenantEventSchema>;

export interface EmittedTenantEvent {
  event_id: string;
  /** How many endpoints the event was queued for (0: the tenant subscribes no endpoint to it). */
  deliveries: number;
}

/**
 * One Queue message per (event, endpoint). The body is serialised once, at emit time, so every
 * retry sends the same bytes under the same `webhook-id` (the event id).
 */
export const MAX_WEBHOOK_BODY_BYTES = 16 * 1024;
export const WebhookDeliverySchema = z
  .object({
    tenant_id: z.string().min(1).max(64),
    endpoint_id: WebhookIdSchema,
    event_id: z.string().min(1).max(128),
    body: z.string().min(2).max(MAX_WEBHOOK_BODY_BYTES),
  })
  .strict();
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;
