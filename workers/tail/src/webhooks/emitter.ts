import { fail, ok, validationError, type Result } from "../../../shared/src";
import { EmitTenantEventSchema, type EmittedTenantEvent, type WebhookDelivery } from "../../../shared/src/contracts/webhooks";
import { buildTenantEvent } from "../../../shared/src/webhooks/events";
import { subscribedEndpoints } from "./registry";

export type EmitterEnv = Pick<TailEnv, "TAIL_DB" | "WEBHOOKS">;

/**
 * Emits a tenant event: builds OpenAI's event payload once, and queues one delivery per subscribed
 * endpoint (the `webhooks` Queue; delivery.ts sends, signs and retries). The body is serialised
 * here, so every retry of a delivery sends the same bytes under the same event id.
 *
 * The one way any feature tells a tenant something happened: batch terminal states (the
 * BatchCoordinator, in this Worker), billing's alerts (over RPC, `TenantEvents.emit`).
 */
export class TenantEventEmitter {
  readonly #env: EmitterEnv;
  readonly #now: () => number;

  constructor(env: EmitterEnv, now: () => number = Date.now) {
    this.#env = env;
    this.#now = now;
  }

  async emit(input: unknown): Promise<Result<EmittedTenantEvent>> {
    const parsed = EmitTenantEventSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const { tenant_id, type, data, dedupe_key } = parsed.data;
    const event = await buildTenantEvent({ tenantId: tenant_id, type, data, createdAt: this.#now() / 1000, dedupeKey: dedupe_key });
    const endpoints = await subscribedEndpoints(this.#env.TAIL_DB, tenant_id, type);
    if (endpoints.length > 0) {
      const body = JSON.stringify(event);
      const messages: MessageSendRequest<WebhookDelivery>[] = endpoints.map((endpoint_id) => ({
        body: { tenant_id, endpoint_id, event_id: event.id, body },
        contentType: "json",
      }));
      await this.#env.WEBHOOKS.sendBatch(messages);
    }
    return ok({ event_id: event.id, deliveries: endpoints.length });
  }
}
