import { z } from "zod";
import { PrincipalTokenSchema } from "./principal";

/**
 * Who asks an internal Worker to act, always as a signed token: `admin` carries the gateway's admin
 * context (minted after it checked the admin token; see admin-context.ts), `key` a tenant key's
 * principal token (signed by auth). The callee verifies either before acting; nothing is taken on
 * the caller's word.
 */
export const ActorSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("admin"), token: z.string().min(1).max(4096) }),
  z.object({ type: z.literal("key"), token: PrincipalTokenSchema }),
]);
export type Actor = z.infer<typeof ActorSchema>;
