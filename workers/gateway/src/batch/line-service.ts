import type { Hono } from "hono";
import { BatchLineRequestSchema, type BatchLineOutcome } from "../../../shared/src/contracts/batch-line";
import type { GatewayBindings } from "../types";
import { ZERO_USAGE } from "../../../shared/src/token-usage";
import { runInternalCall, type InternalCall } from "./line-call";

/** The request id of a batch line: server-made from the batch id and line (tail's `lineRequestId`). */
export const batchLineRequestId = (batchId: string, line: number): string => `req_${batchId.replace(/^batch_/, "")}_${line}`;

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
    const call: Omit<InternalCall, "principal"> = { requestId, batch: { batchId: line.batchId, customId: line.customId } };
    const run = await runInternalCall(this.#app, this.#env, this.#ctx, {
      keyId: line.keyId,
      tenantId: line.tenantId,
      path: line.endpoint,
      body: line.body,
      call,
    });
    if (!run.ok) {
      if (run.status >= 500) throw new Error("auth could not resolve the batch's key");
      return {
        kind: "done",
        status: run.status,
        requestId,
        body: JSON.stringify({ error: { message: run.error.message, type: "authentication_error", param: null, code: run.error.code } }),
        usage: { ...ZERO_USAGE },
      };
    }
    const { response } = run;
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
