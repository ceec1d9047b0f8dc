import type { Hono, MiddlewareHandler } from "hono";
import type { Principal, Result } from "../../../shared/src";
import type { TokenUsage } from "../../../shared/src/token-usage";
import { PRINCIPAL_CACHE_TTL_MS, TOKEN_REFRESH_MARGIN_MS } from "../middleware/api-key";
import { cacheNow } from "../middleware/test-clock";
import type { GatewayBindings } from "../types";

/**
 * A request another Worker runs through the gateway's own app: a batch line (batch/line-service.ts)
 * or one model step of a Responses/agentic run (responses/step-service.ts). The Request object is
 * created in this isolate and registered here, so nothing a client sends can make a request count
 * as one of these: the registry is keyed by the object itself, not by a header.
 */
export interface InternalCall {
  principal: Principal;
  /** Server-made from the batch id and line, or the response id and step (its usage event's id). */
  requestId: string;
  /** A batch line: metered as `batch`, tagged with the batch and custom id, limited at batch priority. */
  batch?: { batchId: string; customId: string };
  /** A step of a Responses/agentic run: its usage is tagged with the response id. */
  responseId?: string;
  /** Set by the route when it meters the call (usage/event.ts `meteredUsage`): what its usage event carries. */
  usage?: TokenUsage;
}

const calls = new WeakMap<Request, InternalCall>();

export function registerInternalCall(request: Request, call: InternalCall): void {
  calls.set(request, call);
}

export function internalCallOf(request: Request): InternalCall | undefined {
  return calls.get(request);
}

/** Gives an internal call its principal (already re-authenticated by key id), so the API-key middleware has nothing to do. */
export function internalCaller(): MiddlewareHandler<GatewayBindings> {
  return async function internalCallerMiddleware(c, next) {
    const call = internalCallOf(c.req.raw);
    if (call) c.set("principal", call.principal);
    await next();
  };
}

/**
 * The principal of the key that started a batch or a run, remembered by this isolate as briefly as the API-key middleware
 * remembers one (PRINCIPAL_CACHE_TTL_MS, 2 s) and never past its token's refresh margin: a
 * batch runs thousands of lines as one key, and one D1 read per line would be most of their cost.
 * A revoked or changed key therefore stops its batch's lines within the same bound as its
 * interactive requests.
 */
const principals = new Map<string, { principal: Principal; freshUntil: number }>();
const MAX_PRINCIPALS = 1_000;

async function principalOf(env: GatewayEnv, keyId: string): Promise<Result<Principal>> {
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

/** What an internal call comes to: the app's answer, or why its key could not run it. */
export type InternalRun = { ok: true; response: Response } | { ok: false; status: number; error: { code: string; message: string } };

/**
 * Runs one internal call through the gateway's own app as the key that started it, re-authenticated
 * by id (cached above): the one path batch lines and run steps share. A key that no longer belongs
 * to the tenant is a 401; auth being unreachable is reported as its own status (5xx), so callers can
 * retry rather than fail the work for good.
 */
export async function runInternalCall(
  app: Hono<GatewayBindings>,
  env: GatewayEnv,
  ctx: ExecutionContext,
  input: { keyId: string; tenantId: string; path: string; body: string; call: Omit<InternalCall, "principal"> },
): Promise<InternalRun> {
  const principal = await principalOf(env, input.keyId);
  if (!principal.ok) {
    const { code, message } = principal.error;
    return { ok: false, status: principal.error.status ?? (code === "internal_error" ? 500 : 401), error: { code, message } };
  }
  if (principal.value.tenantId !== input.tenantId) {
    return { ok: false, status: 401, error: { code: "invalid_api_key", message: "The key that started this work does not belong to its tenant." } };
  }
  const request = new Request(`https://gateway.internal${input.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: input.body });
  const call: InternalCall = Object.assign(input.call, { principal: principal.value });
  registerInternalCall(request, call);
  return { ok: true, response: await app.fetch(request, env, ctx) };
}
