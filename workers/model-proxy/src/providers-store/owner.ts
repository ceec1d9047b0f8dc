import { z } from "zod";
import { fail, ok, PrincipalTokenSchema, verifyPrincipalToken, type Result } from "../../../shared/src";
import type { OwnerRef } from "../../../shared/src/contracts/providers";
import { PLATFORM } from "./records";

const OwnerRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("platform") }).strict(),
  z.object({ kind: z.literal("tenant"), principalToken: PrincipalTokenSchema }).strict(),
]);

export type Access = "read" | "write";

/**
 * Who a management call acts for, as the owner column's value. The platform is asserted by the
 * gateway after checking the admin token (only the gateway is bound to this entrypoint); a tenant
 * is proven by its signed principal token, verified here, which must carry `providers:write` to
 * change anything and `providers:read` (or write) to look.
 */
export async function resolveOwner(ref: unknown, access: Access, verifyJwk: string): Promise<Result<string>> {
  const parsed = OwnerRefSchema.safeParse(ref);
  if (!parsed.success) return fail({ code: "invalid_api_key", message: "The caller of the providers API is not identified." });
  const owner: OwnerRef = parsed.data;
  if (owner.kind === "platform") return ok(PLATFORM);
  const claims = await verifyPrincipalToken(owner.principalToken, verifyJwk);
  if (!claims.ok) return claims;
  const scopes = claims.value.scopes;
  const allowed = access === "read" ? scopes.includes("providers:read") || scopes.includes("providers:write") : scopes.includes("providers:write");
  if (!allowed) {
    return fail({
      code: "permission_denied",
      message: `This API key does not have the '${access === "read" ? "providers:read" : "providers:write"}' scope required for this endpoint.`,
    });
  }
  return ok(claims.value.tenantId);
}
