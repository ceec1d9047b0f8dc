import type { Hono } from "hono";
import { BatchLineRequestSchema, type BatchLineOutcome } from "../../../shared/src/contracts/batch-line";
import type { Principal, Result } from "../../../shared/src";
import { PRINCIPAL_CACHE_TTL_MS, TOKEN_REFRESH_MARGIN_MS } from "../middleware/api-key";
import { cacheNow } from "../middleware/test-clock";
import type { GatewayBindings } from "../types";
import { ZERO_USAGE } from "../../../shared/src/token-usage";
import { registerInternalCall, type InternalCall } from "./line-call";

/** The request id of a batch line: server-made from the batch id and line (tail's `lineRequestId`). */
export const batchLineRequestId = (batchId: string, line: number): string => `req_${batchId.replace(/^batch_/, "")}_${line}`;

/**
 * A batch key's principal, remembered by this isolate as briefly as the API-key middleware
 * remembers one (PRINCIPAL_CACHE_TTL_MS, 2 s) and never past its token's refresh margin: a
 * batch runs thousands of lines as one key, and one D1 read per line would be most of their cost.
 * A revoked or changed key therefore stops its batch's lines within the same bound as its
 * interactive requests.
 */
const principals = new Map<string, { principal: Principal; freshUntil: number }>();
const MAX_PRINCIPALS = 1_000;

export async function principalOf(env: GatewayEnv, keyId: string): Promise<Result<Principal>> {
  const now = cacheNow();
  const hit = principals.get(keyId);
  if (hit && hit.freshUntil > now) return { ok: true, value: hit.principal };
  const result = await env.AUTH.principalForKey(keyId);
  if (!result.ok) {
    principals.delete(keyId);
    return result;
  }
  if (principals.size >= MAX_PRINCIPALS) principals.clear();
  const p = result.value;
  principals.set(keyId, {
    principal: p,
    freshUntil: Math.min(now + PRINCIPAL_CACHE_TTL_MS, p.tokenExpiresAt - TOKEN_REFRESH_MARGIN_MS, p.keyExpiresAt ?? Infinity),
  });
  return result;
}

const BAD_LINE: BatchLineOutcome = {
  kind: "done",
  status: 400,
  requestId: "",
  usage: { ...ZERO_USAGE },
  body: JSON.stringify({ error: { message: "The batch line is malformed.", type: "invalid_request_error", param: null, code: "invalid_request" } }),
};

/**
 * Runs one batch line through the gateway's own app — the same route, validation, model check,
 * limits, routing/fallbacks (model-proxy) and metering as an interactive request — as the key that
 * created the batch, re-authenticated by id when the line runs. Differences, all by design:
 * - the request id is derived from batch id + line, so a line run twice is billed once;
 * - the usage event has operation `batch` and tags `batch_id`, `custom_id` (usage/event.ts);
 * - limits apply at batch priority (limits/index.ts `BATCH_SHARE`): a line the limits refuse is
 *   `deferred` (tail re-queues it), not an error line.
 */
export class BatchLines {
  readonly #app: Hono<GatewayBindings>;
  readonly #env: GatewayEnv;
  readonly #ctx: ExecutionContext;

  constructor(app: Hono<GatewayBindings>, env: GatewayEnv, ctx: ExecutionContext) {
    this.#app = app;
    this.#env = env;
    this.#ctx = ctx;
  }

  async run(input: unknown): Promise<BatchLineOutcome> {
    const parsed = BatchLineRequestSchema.safeParse(input);
    if (!parsed.success) return BAD_LINE;
    const line = parsed.data;
    const requestId = batchLineRequestId(line.batchId, line.line);
    const principal = await principalOf(this.#env, line.keyId);
    if (!principal.ok || principal.value.tenantId !== line.tenantId) {
      const error = principal.ok ? { code: "invalid_api_key", message: "The batch's key does not belong to its tenant." } : principal.error;
      const status = principal.ok ? 401 : (principal.error.status ?? (principal.error.code === "internal_error" ? 500 : 401));
      if (status >= 500) throw new Error("auth could not resolve the batch's key");
      return {
        kind: "done",
        status,
        requestId,
        body: JSON.stringify({ error: { message: error.message, type: "authentication_error", param: null, code: error.code } }),
        usage: { ...ZERO_USAGE },
      };
    }
    const request = new Request(`https://gateway.internal${line.endpoint}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: line.body,
    });
    const call: InternalCall = { principal: principal.value, requestId, batch: { batchId: line.batchId, customId: line.customId } };
    registerInternalCall(request, call);
    const response = await this.#app.fetch(request, this.#env, this.#ctx);
    const body = await response.text();
    if (response.status === 429 && isLimiterRefusal(body)) {
      return { kind: "deferred", retryAfterMs: Number(response.headers.get("retry-after-ms")) || 1000 };
    }
    if (response.status >= 500 && response.status !== 502 && response.status !== 504 && isGatewayUnavailable(body)) {
      // The gateway itself could not run the line now (limiter or tail unreachable): the chunk retries.
      throw new Error(`batch line not run: ${response.status}`);
    }
    // The body is read: the route has metered the line (a refusal before the upstream meters nothing).
    return {
      kind: "done",
      status: response.status,
      requestId: response.headers.get("x-request-id") ?? requestId,
      body,
      usage: call.usage ?? { ...ZERO_USAGE },
    };
  }
}

function errorCodeOf(body: string): string | null {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

/** The key's or tenant's own rate limits (not an upstream 429, not an exhausted budget). */
function isLimiterRefusal(body: string): boolean {
  return errorCodeOf(body) === "rate_limit_exceeded";
}

function isGatewayUnavailable(body: string): boolean {
  return errorCodeOf(body) === "service_unavailable";
}
