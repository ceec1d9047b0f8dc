import type { Context } from "hono";
import type { Actor } from "../../../shared/src/contracts/actor";
import type { GatewayBindings } from "../types";

/** Who reads usage, as billing is told: the key's principal token, which billing verifies. */
export function keyActor(c: Context<GatewayBindings>): Actor {
  return { type: "key", token: c.get("principal").token };
}
