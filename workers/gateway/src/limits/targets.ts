import { ApiError, type Principal, type ProxyOperation, type RouteTarget } from "../../../shared/src";
import { TARGETS_TTL_MS } from "../../../shared/src/contracts/propagation";
import { cacheNow } from "../middleware/test-clock";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * What a model name may be served by, asked of model-proxy (`routeTargets`) only for principals
 * with limits or budgets, and kept in isolate memory for `TARGETS_TTL_MS` so a limited key's hot
 * path makes the extra RPC about once a minute per model. A route edited meanwhile is reserved
 * by its old targets until then; settlement always prices what actually served the request.
 */
export { TARGETS_TTL_MS };
/** Entries kept per isolate: model names are client-chosen, so the cache is bounded (oldest out). */
const MAX_ENTRIES = 2_000;

const cache = new Map<string, { targets: RouteTarget[]; at: number }>();

export async function routeTargets(
  env: Pick<GatewayEnv, "MODEL_PROXY">,
  principal: Principal,
  model: string,
  operation: ProxyOperation,
  now = cacheNow(),
): Promise<RouteTarget[]> {
  // Routes are per tenant and the key's model globs filter their targets; the operation decides
  // which targets can serve.
  const key = `${principal.keyId}\n${operation}\n${model}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < TARGETS_TTL_MS) return hit.targets;
  let result;
  try {
    result = await env.MODEL_PROXY.routeTargets(principal.token, model, operation);
  } catch (err) {
    log.error("gateway", "route targets unavailable", {
      op: "routeTargets",
      tenantId: principal.tenantId,
      keyId: principal.keyId,
      model,
      message: errorMessage(err),
    });
    throw new ApiError({
      code: "service_unavailable",
      message: "The model's routes cannot be read right now, so a limit cannot be checked. Please retry.",
      headers: { "retry-after": "1" },
    });
  }
  // The error a dispatch would answer (unknown model, unsupported operation), before anything is reserved.
  if (!result.ok) throw ApiError.from(result.error);
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { targets: result.value, at: now });
  return result.value;
}

/** For tests: forget cached targets. */
export function resetTargetCache(): void {
  cache.clear();
}
