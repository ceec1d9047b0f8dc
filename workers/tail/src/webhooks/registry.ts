import { fail, newId, ok, validationError, type Result } from "../../../shared/src";
import {
  MAX_WEBHOOKS_PER_TENANT,
  WEBHOOK_ID_PREFIX,
  WebhookCreateSchema,
  WebhookIdSchema,
  type CreatedWebhookEndpoint,
  type DeletedWebhook,
  type WebhookEndpoint,
  type WebhookList,
} from "../../../shared/src/contracts/webhooks";
import { checkUpstreamUrl, upstreamPolicy } from "../../../shared/src/ssrf";
import { ALL_EVENTS, subscribes, type TenantEventType } from "../../../shared/src/webhooks/events";
import { newWebhookSecret } from "../../../shared/src/webhooks/signature";

/** A stored endpoint as tail reads it for delivery (the secret still sealed). */
export interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  events: string;
  description: string | null;
  secret_envelope: string;
  created_by: string;
  created_at: number;
}

type Env = Pick<TailEnv, "TAIL_DB" | "WEBHOOK_SECRETS"> & { ALLOW_PRIVATE_UPSTREAMS?: string };

const VIEW_COLUMNS = "id, tenant_id, url, events, description, created_at";

/**
 * A tenant's webhook endpoints in D1 `tail`: registration (SSRF-guarded URL, a bounded number per
 * tenant, a fresh `whsec_` secret sealed by the secrets Worker and returned once), listing and
 * deletion, always within one tenant: another tenant's id is not found.
 */
export class WebhookRegistry {
  readonly #env: Env;
  readonly #now: () => number;

  constructor(env: Env, now: () => number = Date.now) {
    this.#env = env;
    this.#now = now;
  }

  async create(tenantId: string, keyId: string, input: unknown): Promise<Result<CreatedWebhookEndpoint>> {
    const parsed = WebhookCreateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const url = checkUpstreamUrl(parsed.data.url, upstreamPolicy(this.#env));
    if (!url.ok) return fail({ code: "invalid_request", param: "url", message: `The webhook URL ${url.reason}.` });

    const id = newId(WEBHOOK_ID_PREFIX);
    const secret = newWebhookSecret();
    const sealed = await this.#env.WEBHOOK_SECRETS.seal({ tenant_id: tenantId, endpoint_id: id, secret });
    if (!sealed.ok) return fail({ code: "service_unavailable", message: "The webhook's signing secret could not be stored; nothing was registered. Retry." });
    const events = parsed.data.events ?? [ALL_EVENTS];
    const createdAt = Math.floor(this.#now() / 1000);
    // One statement: the count and the insert cannot be split by a concurrent registration.
    const inserted = await this.#env.TAIL_DB.prepare(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, secret_envelope, created_by, created_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
       WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = ?2) < ?9`,
    )
      .bind(
        id,
        tenantId,
        url.url.href,
        JSON.stringify(events),
        parsed.data.description ?? null,
        sealed.value.envelope,
        `key:${keyId}`,
        createdAt,
        MAX_WEBHOOKS_PER_TENANT,
      )
      .run();
    if (inserted.meta.changes !== 1) {
      return fail({ code: "conflict", message: `This tenant already has ${MAX_WEBHOOKS_PER_TENANT} webhook endpoints, the most allowed; delete one first.` });
    }
    const view: WebhookEndpoint = {
      id,
      object: "webhook_endpoint",
      url: url.url.href,
      events,
      description: parsed.data.description ?? null,
      created_at: createdAt,
    };
    return ok({ ...view, secret });
  }

  async list(tenantId: string): Promise<Result<WebhookList>> {
    // At most MAX_WEBHOOKS_PER_TENANT rows, so one page holds them all.
    const rows = await this.#env.TAIL_DB.prepare(`SELECT ${VIEW_COLUMNS} FROM webhook_endpoints WHERE tenant_id = ? ORDER BY created_at, id LIMIT ?`)
      .bind(tenantId, MAX_WEBHOOKS_PER_TENANT)
      .all<EndpointRow>();
    return ok({ object: "list", data: rows.results.map(viewOf) });
  }

  async get(tenantId: string, id: string): Promise<Result<WebhookEndpoint>> {
    const row = await this.#row(tenantId, id, VIEW_COLUMNS);
    return row ? ok(viewOf(row)) : notFound(id);
  }

  async delete(tenantId: string, id: string): Promise<Result<DeletedWebhook>> {
    if (!WebhookIdSchema.safeParse(id).success) return notFound(id);
    const deleted = await this.#env.TAIL_DB.prepare("DELETE FROM webhook_endpoints WHERE id = ? AND tenant_id = ?").bind(id, tenantId).run();
    return deleted.meta.changes === 1 ? ok({ id, object: "webhook_endpoint", deleted: true }) : notFound(id);
  }

  /** The endpoint with its sealed secret, for delivery; null once deleted. */
  async forDelivery(tenantId: string, id: string): Promise<EndpointRow | null> {
    return this.#row(tenantId, id, "*");
  }

  /** The tenant's endpoint registered for exactly this URL (a `webhook` tool of /v1/agentic is signed with its secret); null if none. */
  async forUrl(tenantId: string, url: string): Promise<EndpointRow | null> {
    return this.#env.TAIL_DB.prepare("SELECT * FROM webhook_endpoints WHERE tenant_id = ? AND url = ? ORDER BY created_at LIMIT 1")
      .bind(tenantId, url)
      .first<EndpointRow>();
  }

  /** Re-wrapped under the current master key (see WebhookSecrets.open); only if still the same row. */
  async replaceEnvelope(row: EndpointRow, envelope: string): Promise<void> {
    await this.#env.TAIL_DB.prepare("UPDATE webhook_endpoints SET secret_envelope = ? WHERE id = ? AND tenant_id = ? AND secret_envelope = ?")
      .bind(envelope, row.id, row.tenant_id, row.secret_envelope)
      .run();
  }

  async #row(tenantId: string, id: string, columns: string): Promise<EndpointRow | null> {
    if (!WebhookIdSchema.safeParse(id).success) return null;
    return this.#env.TAIL_DB.prepare(`SELECT ${columns} FROM webhook_endpoints WHERE id = ? AND tenant_id = ?`).bind(id, tenantId).first<EndpointRow>();
  }
}

/** Ids of the tenant's endpoints subscribed to `type` (what the emitter queues deliveries for). */
export async function subscribedEndpoints(db: D1Database, tenantId: string, type: TenantEventType): Promise<string[]> {
  const rows = await db
    .prepare("SELECT id, events FROM webhook_endpoints WHERE tenant_id = ? LIMIT ?")
    .bind(tenantId, MAX_WEBHOOKS_PER_TENANT)
    .all<Pick<EndpointRow, "id" | "events">>();
  return rows.results.filter((r) => subscribes(parseEvents(r.events), type)).map((r) => r.id);
}

function parseEvents(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

function viewOf(row: Pick<EndpointRow, "id" | "url" | "events" | "description" | "created_at">): WebhookEndpoint {
  return { id: row.id, object: "webhook_endpoint", url: row.url, events: parseEvents(row.events), description: row.description, created_at: row.created_at };
}

const notFound = (id: string): Result<never> => fail({ code: "not_found", param: "id", message: `No webhook endpoint '${id.slice(0, 64)}' was found.` });
