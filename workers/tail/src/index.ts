import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ProxyRequest, type ServiceHealth } from "../../shared/src";
import { forwardHttp } from "./proxy/forward";
import { BatchCoordinator } from "../../../durable-objects/batch-coordinator";
import { AgentRun } from "../../../durable-objects/agent-run";
import { handleApi } from "./api/router";
import { coordinatorOf } from "./batches/api";
import { batchesInFlight } from "./batches/in-flight";
import { agentRunsInFlight, type AgentRunInFlight } from "./responses/in-flight";
import type { BatchObject } from "./batches/model";
import { consumeChunks, consumeDeadLetters, type ConsumerEnv } from "./batches/consumer";
import type { CreatedWebhookEndpoint, DeletedWebhook, EmittedTenantEvent, WebhookEndpoint, WebhookList } from "../../shared/src/contracts/webhooks";
import type { Result } from "../../shared/src";
import type { TenantEventData } from "../../shared/src/webhooks/events";
import { WebhookApi } from "./webhooks/api";
import { WebhookDeliverer } from "./webhooks/delivery";
import { TenantEventEmitter } from "./webhooks/emitter";
import { HttpFetchAllowlistApi } from "./responses/fetch-allowlist";
import type { HttpFetchAllowlist } from "../../shared/src/contracts/http-fetch";
import { batchMetrics } from "./batches/metrics";
import type { BatchMetrics } from "../../shared/src/contracts/metrics";

export { AgentRun, BatchCoordinator };

/** tail: the main service (chat, completions, embeddings, batch, agentic). Bindings only. */
export class TailService extends WorkerEntrypoint<TailEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("tail", {
      d1: () => this.env.TAIL_DB.prepare("SELECT 1").first(),
      r2: () => this.env.FILES.head("health:probe"),
      durable_object: () => this.env.BATCH_COORDINATOR.get(this.env.BATCH_COORDINATOR.idFromName("health:probe")).ping(),
      queue_batch_requests: async () => {
        if (typeof this.env.BATCH_REQUESTS?.send !== "function") throw new Error("BATCH_REQUESTS binding missing");
      },
      queue_usage_events: async () => {
        if (typeof this.env.USAGE_EVENTS?.send !== "function") throw new Error("USAGE_EVENTS binding missing");
      },
      queue_webhooks: async () => {
        if (typeof this.env.WEBHOOKS?.send !== "function") throw new Error("WEBHOOKS binding missing");
      },
    });
  }

  /**
   * Every proxied operation (shared/src/proxy/operations.ts), streamed or not, encoded as HTTP
   * (contracts/proxy-http.ts). Reached only through the gateway's service binding.
   */
  override async fetch(request: Request): Promise<Response> {
    return forwardHttp(this.env, request);
  }

  /** The console's batches in flight of the tenant whose principal token this is (`usage:read`): live counts. */
  async batchesInFlight(token: string): Promise<Result<{ object: "list"; data: BatchObject[] }>> {
    return batchesInFlight(this.env, token);
  }

  /** GET /metrics's batch part: batches by status and pending lines (aggregates only, no tenant data). */
  async batchMetrics(): Promise<BatchMetrics> {
    return batchMetrics(this.env.TAIL_DB);
  }

  /** The console's agent runs in flight (`/v1/responses`, `/v1/agentic`) of the principal token's tenant: live states. */
  async agentRunsInFlight(token: string): Promise<Result<{ object: "list"; data: AgentRunInFlight[] }>> {
    return agentRunsInFlight(this.env, token);
  }

  /** `POST /v1/webhooks` for the key whose principal token this is: the secret is in this answer only. */
  async createWebhook(token: string, input: unknown): Promise<Result<CreatedWebhookEndpoint>> {
    return new WebhookApi(this.env).create(token, input);
  }

  async listWebhooks(token: string): Promise<Result<WebhookList>> {
    return new WebhookApi(this.env).list(token);
  }

  async getWebhook(token: string, id: string): Promise<Result<WebhookEndpoint>> {
    return new WebhookApi(this.env).get(token, id);
  }

  async deleteWebhook(token: string, id: string): Promise<Result<DeletedWebhook>> {
    return new WebhookApi(this.env).delete(token, id);
  }

  /** `GET /v1/agentic/http_fetch/allowlist` for the key whose principal token this is. */
  async getHttpFetchAllowlist(token: string): Promise<Result<HttpFetchAllowlist>> {
    return new HttpFetchAllowlistApi(this.env).get(token);
  }

  /** `PUT /v1/agentic/http_fetch/allowlist`: replaces the tenant's list. */
  async setHttpFetchAllowlist(token: string, input: unknown): Promise<Result<HttpFetchAllowlist>> {
    return new HttpFetchAllowlistApi(this.env).set(token, input);
  }
}

/**
 * Files and batches (`/v1/files…`, `/v1/batches…`, `/v1/batch`), forwarded by the gateway as HTTP
 * with the caller's principal token (api/router.ts): a separate entrypoint, so an upload streams
 * through untouched and the inference `fetch` above keeps its one contract.
 */
export class TailApiService extends WorkerEntrypoint<TailEnv> {
  override async fetch(request: Request): Promise<Response> {
    return handleApi(this.env, request);
  }
}

function consumerEnv(env: TailEnv): ConsumerEnv {
  return { FILES: env.FILES, BATCH_REQUESTS: env.BATCH_REQUESTS, coordinator: (batchId) => coordinatorOf(env, batchId) };
}

/**
 * Tenant events for other Workers (billing's alerts): `emit` queues the event for every endpoint of
 * the tenant subscribed to its type. A separate entrypoint, so a Worker bound to it can emit events
 * and do nothing else of tail's.
 */
export class TenantEvents extends WorkerEntrypoint<TailEnv> {
  async emit(input: { tenant_id: string; type: string; data: TenantEventData; dedupe_key?: string }): Promise<Result<EmittedTenantEvent>> {
    return new TenantEventEmitter(this.env).emit(input);
  }
}

/** The webhook deliveries Queue (wrangler.toml `[[queues.consumers]]`; webhooks/delivery.ts). */
const WEBHOOKS_QUEUE = "webhooks";

export default {
  fetch: privateWorkerFetch,
  /**
   * `webhooks` (tenant webhook deliveries, webhooks/delivery.ts); `batch-requests` (chunks of batch
   * lines) and its dead-letter queue (batches/consumer.ts).
   */
  async queue(batch, env) {
    if (batch.queue === WEBHOOKS_QUEUE) return new WebhookDeliverer(env).deliverBatch(batch);
    if (batch.queue.endsWith("-dlq")) return consumeDeadLetters(batch, consumerEnv(env));
    return consumeChunks(batch, consumerEnv(env), env.GATEWAY_BATCH);
  },
} satisfies ExportedHandler<TailEnv>;
