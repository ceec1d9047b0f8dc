import { WebhookDeliverySchema } from "../../../shared/src/contracts/webhooks";
import { checkUpstreamUrl, upstreamPolicy } from "../../../shared/src/ssrf";
import { signWebhook } from "../../../shared/src/webhooks/signature";
import { WebhookRegistry } from "./registry";
import { log } from "../../../shared/src/log";

/**
 * The `webhooks` Queue consumer: one message is one event for one endpoint. Each attempt re-checks
 * the endpoint (deleted since? then the message is dropped), re-applies the SSRF guard to its URL,
 * opens the signing secret, signs the stored body afresh (Standard Webhooks: a new
 * `webhook-timestamp` per attempt, the same `webhook-id` = event id on every one, which is what
 * receivers de-duplicate on) and POSTs it:
 *
 * - a 2xx answer acknowledges the message; the answer's body is never read (cancelled unread, so
 *   no size cap is needed and a hostile receiver cannot make tail buffer anything);
 * - anything else — another status, a redirect (never followed: a public URL must not bounce tail
 *   to an internal one), a timeout (`WEBHOOK_TIMEOUT_MS`), a connection error — retries the message
 *   with exponential backoff (`retryDelaySeconds`); after the consumer's `max_retries` the Queue
 *   moves it to `webhooks-dlq`. So delivery is at least once, and never blocks other messages.
 */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Default first retry delay; each later one doubles, up to `MAX_RETRY_DELAY_SECONDS`. */
export const DEFAULT_RETRY_BASE_SECONDS = 30;
export const MAX_RETRY_DELAY_SECONDS = 3600;

/** Delay before the next attempt after `attempts` failed ones (Queue `message.attempts`, from 1). */
export function retryDelaySeconds(attempts: number, baseSeconds: number = DEFAULT_RETRY_BASE_SECONDS): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 20));
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(baseSeconds * 2 ** exponent));
}

type Env = ConstructorParameters<typeof WebhookRegistry>[0] & { WEBHOOK_RETRY_BASE_SECONDS?: string };
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/** What happened to one message, for logs and tests (never the URL: it may carry the tenant's token). */
export type DeliveryOutcome =
  { result: "delivered"; status: number } | { result: "retry"; delaySeconds: number; reason: string } | { result: "dropped"; reason: string };

export class WebhookDeliverer {
  readonly #env: Env;
  readonly #registry: WebhookRegistry;
  readonly #fetch: Fetcher;
  readonly #now: () => number;

  constructor(env: Env, fetcher: Fetcher = (url, init) => fetch(url, init), now: () => number = Date.now) {
    this.#env = env;
    this.#registry = new WebhookRegistry(env, now);
    this.#fetch = fetcher;
    this.#now = now;
  }

  /** Handles a Queue batch: every message is acknowledged or retried on its own. */
  async deliverBatch(batch: MessageBatch<unknown>): Promise<void> {
    await Promise.all(batch.messages.map((message) => this.deliver(message)));
  }

  async deliver(message: Message<unknown>): Promise<DeliveryOutcome> {
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.#attempt(message);
    } catch (err) {
      outcome = this.#retry(message, err instanceof Error ? err.message : "delivery failed");
    }
    if (outcome.result === "delivered") message.ack();
    else if (outcome.result === "dropped") message.ack();
    else message.retry({ delaySeconds: outcome.delaySeconds });
    const parsed = WebhookDeliverySchema.safeParse(message.body);
    (outcome.result === "delivered" ? log.info : log.warn)("tail", `webhook ${outcome.result}`, {
      op: "webhook",
      tenantId: parsed.success ? parsed.data.tenant_id : null,
      attempts: message.attempts,
      status: outcome.result === "delivered" ? outcome.status : null,
      detail: `${parsed.success ? `event ${parsed.data.event_id} endpoint ${parsed.data.endpoint_id}` : "invalid message"}${outcome.result === "retry" ? `; retry in ${outcome.delaySeconds} s` : ""}`,
      message: outcome.result === "delivered" ? null : outcome.reason,
    });
    return outcome;
  }

  async #attempt(message: Message<unknown>): Promise<DeliveryOutcome> {
    const parsed = WebhookDeliverySchema.safeParse(message.body);
    if (!parsed.success) return { result: "dropped", reason: "malformed delivery message" };
    const delivery = parsed.data;
    const endpoint = await this.#registry.forDelivery(delivery.tenant_id, delivery.endpoint_id);
    if (!endpoint) return { result: "dropped", reason: "the endpoint was deleted" };
    // Registration checked the URL; the policy may have changed since (a deploy without
    // ALLOW_PRIVATE_UPSTREAMS), so every attempt checks it again.
    const url = checkUpstreamUrl(endpoint.url, upstreamPolicy(this.#env));
    if (!url.ok) return { result: "dropped", reason: `the endpoint's URL ${url.reason}` };

    const opened = await this.#env.WEBHOOK_SECRETS.open({ tenant_id: endpoint.tenant_id, endpoint_id: endpoint.id, envelope: endpoint.secret_envelope });
    if (!opened.ok) return this.#retry(message, "the signing secret could not be opened");
    if (opened.value.rewrapped !== null) await this.#registry.replaceEnvelope(endpoint, opened.value.rewrapped);

    const signed = await signWebhook({ secret: opened.value.secret, id: delivery.event_id, body: delivery.body, timestamp: this.#now() / 1000 });
    let response: Response;
    try {
      response = await this.#fetch(url.url.href, {
        method: "POST",
        headers: { ...signed.headers, "user-agent": "edge-llm-gateway-webhooks/1" },
        body: delivery.body,
        redirect: "manual",
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return this.#retry(message, timedOut ? `no answer within ${WEBHOOK_TIMEOUT_MS} ms` : "the endpoint could not be reached");
    }
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { result: "delivered", status: response.status };
    if (response.status >= 300 && response.status < 400) return this.#retry(message, `redirect ${response.status} not followed`);
    return this.#retry(message, `status ${response.status}`);
  }

  #retry(message: Message<unknown>, reason: string): DeliveryOutcome {
    const base = Number(this.#env.WEBHOOK_RETRY_BASE_SECONDS ?? DEFAULT_RETRY_BASE_SECONDS);
    return {
      result: "retry",
      delaySeconds: retryDelaySeconds(message.attempts, Number.isFinite(base) && base >= 0 ? base : DEFAULT_RETRY_BASE_SECONDS),
      reason,
    };
  }
}
