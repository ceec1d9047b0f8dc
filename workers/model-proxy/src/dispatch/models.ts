import { ok, type Result } from "../../../shared/src";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import type { Model } from "../../../shared/src/openai";
import type { ModelRegistry } from "../registry";

/** Every model the token's tenant can address, in OpenAI's model shape (the gateway filters by key). */
export async function listModels(principalToken: string, env: { PRINCIPAL_VERIFY_JWK: string }, registry: () => ModelRegistry): Promise<Result<Model[]>> {
  const claims = await verifyPrincipalToken(principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  const entries = await registry().list(claims.value);
  return ok(entries.map((e) => ({ id: e.id, object: "model" as const, created: e.created, owned_by: e.ownedBy })));
}
