import type { Context } from "hono";
import {
  ABANDONED_ATTEMPTS_HEADER,
  ApiError,
  assertModelAllowed,
  decodeAbandonedAttempts,
  parseOrThrow,
  readBoundedBytes,
  requireScope,
  upstreamTooLarge,
  type AbandonedAttempt,
  type ProxyRequest,
} from "../../../shared/src";
import { acquireLimits, limitHeaders, settleLimits, type Lease } from "../limits";
import { readJsonRequest } from "../middleware/body";
import { proxyHttpRequest } from "../../../shared/src/contracts/proxy-http";
import { CLIENT_LEFT, unlessClientLeaves } from "../streaming/client-gone";
import { emptyObservation, type Observation } from "../../../shared/src/proxy/observation";
import { DIALECTS } from "../../../shared/src/proxy/dialects";
import { GATEWAY_HEADERS, PASSED_ANSWER_HEADERS } from "../../../shared/src/proxy/headers";
import { proxiedOperation, type ProxyOperation } from "../../../shared/src/proxy/operations";
import { ClientDeparture } from "../../../shared/src/proxy/client-departure";
import { pumpSse } from "../../../shared/src/proxy/sse-pump";
import { abandonedAttemptEvents, usageEvent, meteredUsage, type RequestFacts, type ResponseFacts } from "../usage/event";
import { answerCostUsd } from "../usage/cost";
import { recordUsage } from "../usage/record";
import type { GatewayBindings } from "../types";
import { internalCallOf } from "../batch/line-call";
import type { Correlation } from "../../../shared/src/contracts/langchain";
import { errorMessage, log } from "../../../shared/src/log";
import { traceparentOf } from "../../../shared/src/trace-context";
import { countRefusal } from "../metrics/refusals";

/** One proxied request: its row of the operations table, and what its surface adds to it. */
export interface OperationCall {
  operation: ProxyOperation;
  /**
   * Streams end with the usage chunk even when the client did not ask for it (`/v1/langchain`:
   * LangChain's `usage_metadata` comes from it). model-proxy asks every upstream for it anyway.
   */
  alwaysReturnUsage?: boolean;
  /** The request's correlation labels (`/v1/langchain`), stored with its usage event. */
  correlation?: Correlation | null;
}

/** nginx's status for a request whose client closed the connection before the answer: recorded, never sent. */
const CLIENT_CLOSED_REQUEST = 499;

/**
 * The hot path of `/v1/chat/completions`, `/v1/completions` and `/v1/embeddings`: scope → parse and
 * validate once → model allowed → one limiter call (only for principals with limits) → tail over
 * RPC → the Response streams back through a tap. After the last byte (or when the client goes
 * away) the tap's observation settles the lease and becomes one usage event and one Analytics
 * Engine datapoint, in `waitUntil`, off the client's path.
 */
export async function proxyOperation(c: Context<GatewayBindings>, call: OperationCall): Promise<Response> {
  const startedAt = Date.now();
  const principal = c.get("principal");
  const spec = proxiedOperation(call.operation);
  requireScope(principal, spec.scope);
  const { text, value: raw } = await readJsonRequest(c.req.raw, c.env);
  // A common chat body is checked by hand (operations.ts `handCheck`); anything else by its zod schema.
  const body = (spec.handCheck?.(raw) ? raw : parseOrThrow(spec.schema, raw)) as {
    model: string;
    stream?: boolean | null;
    stream_options?: { include_usage?: boolean } | null;
  };
  assertModelAllowed(principal, body.model);

  const estimate = spec.estimate(body);
  const facts: RequestFacts = {
    requestId: c.get("requestId"),
    clientRequestId: c.get("clientRequestId"),
    principal,
    operation: call.operation,
    requestedModel: body.model,
    stream: body.stream === true,
    startedAt,
    promptEstimate: estimate.promptTokens,
    correlation: call.correlation ?? null,
  };
  const internal = internalCallOf(c.req.raw);
  if (internal?.batch) facts.batch = { ...internal.batch, onMetered: (usage) => (internal.usage = usage) };
  if (internal?.responseId) facts.responseId = internal.responseId;
  const lease = await acquireLimits(c.env, principal, {
    model: body.model,
    operation: call.operation,
    ...estimate,
    ...(internal?.batch ? { priority: "batch" as const } : {}),
    onRefused: countRefusal(c),
  });

  // The client's body as sent (vendor extensions included), not zod's re-built copy — with the
  // maximum the reservation relies on when the client set none (limited keys only).
  const sent = lease?.bodyOverrides ? { ...raw, ...lease.bodyOverrides } : raw;
  const sentText = sent === raw ? text : JSON.stringify(sent);
  const request: ProxyRequest = {
    principalToken: principal.token,
    requestId: facts.requestId,
    operation: call.operation,
    body: sent,
  };
  for (const name of spec.forwardHeaders) {
    const value = c.req.header(name);
    if (value !== undefined) (request.headers ??= {})[name] = value;
  }
  // Every operation, streamed or not, goes as HTTP over the binding (contracts/proxy-http.ts), with
  // the client's JSON as sent. Until the answer's first byte goes out, nothing tells the runtime
  // that a client left: watch its signal, so that a client who leaves now is metered and its lease
  // settled at once. The signal also cancels the HTTP call (tail and model-proxy stop with it);
  // once a stream runs, the SSE pump cancelling its reader (client gone, idle timeout) cancels the
  // response across both hops down to the upstream fetch (client-departure.system.test.ts).
  const gone = new ClientDeparture(c.req.raw.signal); // one listener for every wait and the pump
  const meter = (res: Omit<ResponseFacts, "endedAt">, abandoned: readonly AbandonedAttempt[] = []) =>
    c.executionCtx.waitUntil(finish(c.env, (p) => c.executionCtx.waitUntil(p), lease, facts, { ...res, endedAt: Date.now() }, abandoned));
  const left = (provider: string | null, model: string | null, abandoned: readonly AbandonedAttempt[] = []): Response => {
    meter({ status: CLIENT_CLOSED_REQUEST, provider, model, observation: { ...emptyObservation(), aborted: true } }, abandoned);
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  };
  let answer: Response;
  try {
    const first = await unlessClientLeaves(
      c.env.TAIL.fetch(proxyHttpRequest(request, sentText, traceparentOf(c.get("trace"))), { signal: gone.signal }),
      gone,
      (late) => void late.body?.cancel().catch(() => {}),
    );
    if (first === CLIENT_LEFT) return left(null, null);
    answer = first;
  } catch (err) {
    log.error("gateway", "tail unreachable", {
      requestId: facts.requestId,
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      model: body.model,
      latencyMs: Date.now() - startedAt,
      message: errorMessage(err),
    });
    const error = new ApiError({
      code: "service_unavailable",
      message: "The gateway could not reach its inference service. Retry the request.",
      headers: { "retry-after": "1" },
    });
    meter({ status: error.status, provider: null, model: null, observation: null });
    throw error;
  }

  const headers = new Headers(limitHeaders(lease));
  for (const name of PASSED_ANSWER_HEADERS) {
    const v = answer.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  const provider = answer.headers.get(GATEWAY_HEADERS.provider);
  const model = answer.headers.get(GATEWAY_HEADERS.model);
  const abandoned = decodeAbandonedAttempts(answer.headers.get(ABANDONED_ATTEMPTS_HEADER));
  const done = (observation: Observation | null, status = answer.status) => {
    meter({ status, provider, model, observation }, abandoned);
  };
  const isSse = (answer.headers.get("content-type") ?? "").startsWith("text/event-stream");
  const dialect = DIALECTS[spec.dialect];

  if (!answer.ok || !answer.body) {
    // An OpenAI error from tail/model-proxy: relay it (small, fully formed) and meter the attempt.
    done(null);
    return new Response(answer.body, { status: answer.status, headers: copyAll(answer.headers, headers) });
  }
  if (!isSse) {
    // A non-streamed answer is read whole before the client gets a byte, within the documented
    // MAX_UPSTREAM_JSON_BYTES: one that is larger, or that broke, is then still a clean 502 instead
    // of a cut JSON (or an isolate out of memory). A declared length is read natively in one go
    // (measured: −0.12 ms p50, +8% throughput against passing it through a tee).
    const read = await unlessClientLeaves(
      readBoundedBytes(answer).catch(() => undefined), // undefined: it broke
      gone,
      () => {},
    );
    if (read === CLIENT_LEFT) return left(provider, model, abandoned);
    const bytes = read;
    if (!bytes) {
      const broke = { code: "upstream_error", message: `The answer from provider '${provider ?? "unknown"}' broke before it was complete.` } as const;
      const error = new ApiError(bytes === null ? upstreamTooLarge(provider) : broke);
      done({ ...emptyObservation(), upstreamError: true }, error.status);
      throw error;
    }
    const observation = dialect.json(bytes);
    done(observation);
    // What this answer costs, from the usage it reported, priced as billing will price its event.
    const cost = await answerCostUsd(c.env, facts, { status: answer.status, provider, model, observation, endedAt: Date.now() });
    if (cost !== null) headers.set(GATEWAY_HEADERS.costUsd, cost);
    return new Response(bytes, { status: answer.status, headers });
  }
  // Every stream, whatever its dialect, reaches the client through the one SSE pump, which owns
  // its idle timeout (the provider's, as model-proxy reports it).
  const tapped = pumpSse(answer.body, {
    inspector: dialect.sse({ stripUsageChunk: facts.stream && call.alwaysReturnUsage !== true && body.stream_options?.include_usage !== true }),
    provider,
    onEnd: done,
    clientGone: gone,
    idleTimeoutMs: Number(answer.headers.get(GATEWAY_HEADERS.idleTimeout)) || undefined,
  });
  return new Response(tapped, { status: answer.status, headers });
}

function copyAll(from: Headers, into: Headers): Headers {
  for (const [k, v] of from) if (!into.has(k) && k !== ABANDONED_ATTEMPTS_HEADER) into.set(k, v);
  return into;
}

/**
 * After the response: meter it (and every attempt abandoned on the way, which the upstream bills)
 * and settle the lease with what the answer actually used. Never throws.
 */
function finish(
  env: GatewayEnv,
  waitUntil: (p: Promise<unknown>) => void,
  lease: Lease | null,
  req: RequestFacts,
  res: ResponseFacts,
  abandoned: readonly AbandonedAttempt[] = [],
): Promise<void> {
  const { usage, estimated } = meteredUsage(req, res);
  req.batch?.onMetered?.(usage);
  recordUsage(env, waitUntil, usageEvent(req, res, { usage, estimated }));
  for (const event of abandonedAttemptEvents(req, abandoned, res.endedAt)) recordUsage(env, waitUntil, event);
  if (!lease) return Promise.resolve();
  return settleLimits(env, lease, { ...usage, model: res.model, provider: res.provider }).catch((err: unknown) =>
    log.error("gateway", "settling the lease failed", {
      requestId: req.requestId,
      tenantId: req.principal.tenantId,
      keyId: req.principal.keyId,
      message: errorMessage(err),
    }),
  );
}
