import { z } from "zod";
import { newId } from "../ids";
import { utf8 } from "../bytes";

/**
 * Tenant events: what the gateway tells a tenant's registered webhook endpoints. The payload is
 * OpenAI's webhook event, `{id, object: "event", type, created_at, data: {id}}` (the `openai` SDK's
 * `UnwrapWebhookEvent`), so a receiver written for OpenAI's batch webhooks works unchanged.
 *
 * New event types (billing's alerts, issue 14) are added to `TENANT_EVENT_TYPES`; everything else
 * (registration, subscription filters, signing, delivery) already handles them.
 */
export const TENANT_EVENT_TYPES = [
  "batch.completed",
  "batch.failed",
  "batch.expired",
  "batch.cancelled",
  /** A key's or the tenant's month spend reached 50, 80 or 100 % of its monthly budget (once per threshold, subject and UTC month). */
  "billing.budget_threshold",
  /** A prepaid tenant's credit balance fell below its floor (once per grant: a new grant re-arms it). */
  "billing.credits_low",
] as const;
export const TenantEventTypeSchema = z.enum(TENANT_EVENT_TYPES);
export type TenantEventType = z.infer<typeof TenantEventTypeSchema>;

/** A subscription entry: one event type, or `*` for every type (including ones added later). */
export const ALL_EVENTS = "*";
export const EventFilterSchema = z.union([TenantEventTypeSchema, z.literal(ALL_EVENTS)]);
export type EventFilter = z.infer<typeof EventFilterSchema>;

/**
 * The event's `data`: `{id}` of the object it is about (OpenAI's shape: a batch id; for billing's
 * alerts the alert id), and for billing's alerts the facts a receiver acts on without a second
 * call. Every field is set by the emitting Worker from its own records, never by a client.
 */
export const TenantEventDataSchema = z
  .object({
    id: z.string().min(1).max(256),
    /** `tenant:<id>` or `key:<id>`: whose budget or credits. */
    subject: z.string().min(1).max(200).optional(),
    /** budget_threshold: 50, 80 or 100 (percent of the budget reached). */
    threshold_pct: z.number().int().min(1).max(100).optional(),
    /** budget_threshold: the UTC month 'YYYY-MM'; credits_low: the id of the grant whose balance fell below the floor. */
    period: z.string().min(1).max(64).optional(),
    budget_micros: z.number().int().nonnegative().optional(),
    spend_micros: z.number().int().nonnegative().optional(),
    /** credits_low: the balance when it was seen below the floor, and the floor. */
    balance_micros: z.number().int().optional(),
    floor_micros: z.number().int().nonnegative().optional(),
  })
  .strict();
export type TenantEventData = z.infer<typeof TenantEventDataSchema>;

export const TenantEventSchema = z
  .object({
    id: z.string().regex(/^evt_[0-9A-Za-z]{22,64}$/),
    object: z.literal("event"),
    type: TenantEventTypeSchema,
    /** Unix seconds at which the event happened. */
    created_at: z.number().int().nonnegative(),
    data: TenantEventDataSchema,
  })
  .strict();
export type TenantEvent = z.infer<typeof TenantEventSchema>;

/** Does a subscription list (`["*"]` or event types) include `type`? */
export function subscribes(filters: readonly string[], type: TenantEventType): boolean {
  return filters.includes(ALL_EVENTS) || filters.includes(type);
}

/**
 * The event id. With a `dedupeKey` (chosen by the emitting Worker, never by a client: e.g. the
 * batch id for a batch's terminal event, which happens once) the id is derived from tenant, type
 * and key, so an emitter that runs twice (a retried Queue message, a restarted Durable Object)
 * produces the same event id and receivers de-duplicate it. Without one, a random id.
 */
export async function tenantEventId(tenantId: string, type: TenantEventType, dedupeKey?: string): Promise<string> {
  if (dedupeKey === undefined) return newId("evt", 32);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(`${tenantId}\n${type}\n${dedupeKey}`)));
  return `evt_${[...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export async function buildTenantEvent(input: {
  tenantId: string;
  type: TenantEventType;
  data: TenantEventData;
  createdAt: number;
  dedupeKey?: string;
}): Promise<TenantEvent> {
  return {
    id: await tenantEventId(input.tenantId, input.type, input.dedupeKey),
    object: "event",
    type: input.type,
    created_at: Math.floor(input.createdAt),
    data: TenantEventDataSchema.parse(input.data),
  };
}
