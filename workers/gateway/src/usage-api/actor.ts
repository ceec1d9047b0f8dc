import type { Context } from "hono";
import type { GatewayBindings } from "../types";

/** Who reads usage, as billing is told: the key's principal token, which billing verifies. */
export function keyActor(c: Context<GatewayBindings>): { type: "key"; token: string } {
  return { type: "key", token: c.get("principal").token };
}
