import type { Context } from "hono";
import type { GatewayBindings } from "../types";

/**
 * Where the organization usage routes are mounted and who reads through them: a tenant's key at
 * `/v1/organization/…` (its own tenant) or the admin at `/admin/…` (every tenant, plus
 * `group_by=tenant_id`). The routes are the same; billing decides what the actor sees.
 */
export interface UsageSurface {
  /** Path of the usage routes (`…/completions`, `…/embeddings`). */
  usagePath: string;
  costsPath: string;
  tags: string[];
  security: Record<string, string[]>[];
  /** The credential errors documented: 401, and 403 where a key's scope can refuse. */
  credentialErrors: (401 | 403)[];
  /** Who reads, as billing is told (a signed token billing verifies). */
  actor: (c: Context<GatewayBindings>) => unknown;
  /** What the admin's twin adds to the description. */
  note: string;
}
