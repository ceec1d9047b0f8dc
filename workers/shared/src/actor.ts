import { verifyAdminContext } from "./admin-context";
import { ActorSchema } from "./contracts/actor";
import type { PrincipalClaims } from "./contracts/principal";
import { verifyPrincipalToken } from "./principal-token";
import { fail, ok, type Result } from "./result";

export type VerifiedActor = { kind: "admin" } | { kind: "key"; claims: PrincipalClaims };

/** Verifies an `Actor` (admin context or principal token) with the callee's public keys; never throws. */
export async function verifyActor(actor: unknown, keys: { principal: string; gateway: string }): Promise<Result<VerifiedActor>> {
  const parsed = ActorSchema.safeParse(actor);
  if (!parsed.success) return fail({ code: "invalid_api_key", message: "The caller is not identified by a signed token." });
  if (parsed.data.type === "admin") {
    const admin = await verifyAdminContext(parsed.data.token, keys.gateway);
    return admin.ok ? ok({ kind: "admin" }) : admin;
  }
  const claims = await verifyPrincipalToken(parsed.data.token, keys.principal);
  return claims.ok ? ok({ kind: "key", claims: claims.value }) : claims;
}
