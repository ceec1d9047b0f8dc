import { ok, type ProxyOperation, type Result, type RouteTarget } from "../../../shared/src";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import type { Model } from "../../../shared/src/openai";
import type { ModelRegistry } from "../registry";
import { withinAllowList } from "./allow-list";

/** Every model the token's tenant can address, in OpenAI's model shape (the gateway filters by key). */
export async function listModels(principalToken: string, env: { PRINCIPAL_VERIFY_JWK: string }, registry: () => ModelRegistry): Promise<Result<Model[]>> {
  const claims = await verifyPrincipalToken(principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  const entries = await registry().list(claims.value);
  return ok(entries.map((e) => ({ id: e.id, object: "model" as const, created: e.created, owned_by: e.ownedBy })));
}

/**
 * One model by the name a client sends. Listed names answer from the list; a pinned
 * `<provider>/<model>` of a provider that serves any model (no `models` list) is not listable but
 * is usable, so it is described when it resolves for chat or embeddings.
 */
export async function getModel(
  principalToken: string,
  id: string,
  env: { PRINCIPAL_VERIFY_JWK: string },
  registry: () => ModelRegistry,
): Promise<Result<Model>> {
  const claims = await verifyPrincipalToken(principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  const reg = registry();
  const listed = (await reg.list(claims.value)).find((e) => e.id === id);
  if (listed) return ok({ id, object: "model" as const, created: listed.created, owned_by: listed.ownedBy });
  let resolved = await reg.resolve(id, "chat", claims.value);
  if (!resolved.ok) resolved = await reg.resolve(id, "embeddings", claims.value);
  if (!resolved.ok) return resolved;
  const owner = resolved.value.targets[0]?.provider.name ?? "unknown";
  return ok({ id, object: "model" as const, created: 0, owned_by: owner });
}

/**
 * The upstreams `model` may be served by for the token's tenant and operation (every target of a
 * route, or the one provider/model it names) that the key may use, or the error a dispatch would
 * answer. Same resolution and allow-list as dispatch, so the gateway reserves against exactly what
 * can serve the request.
 */
export async function routeTargets(
  principalToken: string,
  model: string,
  operation: ProxyOperation,
  env: { PRINCIPAL_VERIFY_JWK: string },
  registry: () => ModelRegistry,
): Promise<Result<RouteTarget[]>> {
  const claims = await verifyPrincipalToken(principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  const found = await registry().resolve(model, operation, claims.value);
  if (!found.ok) return found;
  const resolved = withinAllowList(model, found.value, claims.value);
  if (!resolved.ok) return resolved;
  return ok(resolved.value.targets.map((t) => ({ provider: t.provider.name, type: t.provider.type, model: t.model })));
}
