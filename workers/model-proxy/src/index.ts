import { WorkerEntrypoint } from "cloudflare:workers";
import {
  errorResponse,
  fail,
  ok,
  privateWorkerFetch,
  verifyActor,
  runChecks,
  type ProxyOperation,
  type MessageTokenCount,
  type ProxyRequest,
  type Result,
  type RouteTarget,
  type ServiceHealth,
} from "../../shared/src";
import { proxyRequestOf } from "../../shared/src/contracts/proxy-http";
import type { Model } from "../../shared/src/openai";
import { dispatch } from "./dispatch/dispatcher";
import { countMessageTokens } from "./dispatch/count-tokens";
import { getModel, listModels, routeTargets } from "./dispatch/models";
import { registryFor } from "./registry";
import { routingFor } from "./routing/route-request";
import { CircuitBreaker } from "../../../durable-objects/circuit-breaker";
import { ProvidersService } from "./providers-store/service";
import { errorMessage, log } from "../../shared/src/log";
import { parseTraceparent, SpanExporter, type SpanData, type TraceEnv } from "../../shared/src/trace/span";
import { proxyMetrics } from "./metrics/read";
import type { ProxyMetrics } from "../../shared/src/contracts/metrics";

export { CircuitBreaker, ProvidersService };

/** This isolate's span batcher: one CLIENT span per provider attempt (shared/src/trace/span.ts). */
const attemptSpans = new SpanExporter("model-proxy");

/** model-proxy: provider adapters, routing and fallbacks. Reached only through service bindings. */
export class ModelProxyService extends WorkerEntrypoint<ModelProxyEnv> {
  async health(): Promise<ServiceHealth> {
    const [own, secrets] = await Promise.all([
      runChecks("model-proxy", { d1: () => this.env.PROXY_DB.prepare("SELECT 1").first() }),
      this.env.SECRETS.health().catch((err: unknown): ServiceHealth => ({
        service: "secrets",
        ok: false,
        checks: { binding: { ok: false, ms: 0, error: err instanceof Error ? err.message : String(err) } },
      })),
    ]);
    return { ...own, ok: own.ok && secrets.ok, dependencies: { secrets } };
  }

  /**
   * Runs one OpenAI operation for a verified principal: resolves the model, calls the provider
   * (with retries/fallbacks) and answers with the upstream's OpenAI-shaped Response, streamed
   * through unbuffered, or an OpenAI error Response. See dispatch/dispatcher.ts.
   */
  async dispatch(request: ProxyRequest): Promise<Response> {
    return dispatch(request, this.env, () => registryFor(this.env, this.ctx), routingFor(this.env, this.ctx));
  }

  /** `dispatch` for a request encoded as HTTP (contracts/proxy-http.ts), as tail passes it on. */
  override async fetch(request: Request): Promise<Response> {
    const decoded = await proxyRequestOf(request);
    if (!decoded.ok) return errorResponse(decoded.error, request.headers.get("x-request-id") ?? undefined);
    const routing = routingFor(this.env, this.ctx);
    // The gateway's span (W3C traceparent): each provider attempt is its child (routing/route-request.ts).
    const parent = parseTraceparent(request.headers.get("traceparent"));
    if (parent) {
      const env = this.env as TraceEnv;
      const record = env.OTEL_EXPORTER_OTLP_ENDPOINT ? (span: SpanData) => attemptSpans.add(env, (p) => this.ctx.waitUntil(p), span) : null;
      routing.trace = { traceId: parent.traceId, parentSpanId: parent.parentSpanId, sampled: parent.sampled, record };
    }
    return dispatch(decoded.value, this.env, () => registryFor(this.env, this.ctx), routing);
  }

  /**
   * Anthropic's token count of a Messages request (`POST /v1/messages/count_tokens`): exact from an
   * Anthropic upstream, the gateway's estimate for any other (dispatch/count-tokens.ts).
   */
  async countMessageTokens(request: ProxyRequest): Promise<Result<MessageTokenCount>> {
    try {
      return await countMessageTokens(request, this.env, () => registryFor(this.env, this.ctx), routingFor(this.env, this.ctx));
    } catch (err) {
      log.error("model-proxy", "token count failed", { requestId: request.requestId, op: "countMessageTokens", message: errorMessage(err) });
      return fail({ code: "internal_error", message: "model-proxy could not count the tokens. Quote the request id when reporting it." });
    }
  }

  /** GET /metrics's model-proxy part (admin context only): failed attempts and circuits, from D1. */
  async metrics(actor: unknown): Promise<Result<ProxyMetrics>> {
    const admin = await verifyActor(actor, { principal: this.env.PRINCIPAL_VERIFY_JWK, gateway: this.env.GATEWAY_VERIFY_JWK });
    if (!admin.ok) return admin;
    if (admin.value.kind !== "admin") return fail({ code: "permission_denied", message: "Only the platform admin reads the metrics." });
    return ok(await proxyMetrics(this.env.PROXY_DB));
  }

  /** The models the principal's tenant can address (`GET /v1/models`, before the key's own filter). */
  async listModels(principalToken: string): Promise<Result<Model[]>> {
    try {
      return await listModels(principalToken, this.env, () => registryFor(this.env, this.ctx));
    } catch (err) {
      log.error("model-proxy", "listing models failed", { op: "listModels", message: errorMessage(err) });
      return fail({ code: "internal_error", message: "model-proxy could not list models." });
    }
  }

  /** One model by the name a client sends (`GET /v1/models/{id}`), listed or resolvable. */
  async getModel(principalToken: string, id: string): Promise<Result<Model>> {
    try {
      return await getModel(principalToken, id, this.env, () => registryFor(this.env, this.ctx));
    } catch (err) {
      log.error("model-proxy", "describing a model failed", { op: "getModel", model: id, message: errorMessage(err) });
      return fail({ code: "internal_error", message: "model-proxy could not describe the model." });
    }
  }

  /** What `model` may be served by (see dispatch/models.ts): the gateway bounds a limited key's reservation with it. */
  async routeTargets(principalToken: string, model: string, operation: ProxyOperation): Promise<Result<RouteTarget[]>> {
    try {
      return await routeTargets(principalToken, model, operation, this.env, () => registryFor(this.env, this.ctx));
    } catch (err) {
      log.error("model-proxy", "resolving route targets failed", { op: "routeTargets", model, message: errorMessage(err) });
      return fail({ code: "internal_error", message: "model-proxy could not resolve the model." });
    }
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<ModelProxyEnv>;
