import type { OpenAPIHono } from "@hono/zod-openapi";
import { requireScope } from "../../../shared/src";
import { apiKeyAuth } from "../middleware/api-key";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, API_KEY_SECURITY } from "../admin/openapi";
import { adminActor } from "../admin/rpc";
import { keyActor } from "./actor";
import { registerCompletionsUsage } from "./completions";
import { registerCosts } from "./costs";
import { registerEmbeddingsUsage } from "./embeddings";
import { registerRequestUsage } from "./request";
import type { UsageSurface } from "./surface";

const TENANT: UsageSurface = {
  usagePath: "/v1/organization/usage",
  costsPath: "/v1/organization/costs",
  tags: ["usage"],
  security: API_KEY_SECURITY,
  credentialErrors: [401, 403],
  actor: keyActor,
  note: "Needs the `usage:read` scope; shows the key's own tenant only.",
};

/** The admin's twins under `/admin` (admin token, checked by the /admin middleware): every tenant. */
const ADMIN: UsageSurface = {
  usagePath: "/admin/usage",
  costsPath: "/admin/costs",
  tags: ["admin: usage"],
  security: ADMIN_SECURITY,
  credentialErrors: [401],
  actor: adminActor,
  note: "Every tenant's usage; `group_by` also takes `tenant_id`.",
};

/**
 * The usage API: one request's record (`/v1/usage/requests/{id}`) and OpenAI's organization Usage
 * and Costs API over the tenant's own usage, for keys with `usage:read`. Billing answers from its
 * rollups and checks the principal token again (the callee decides whose usage is shown). The
 * admin reads every tenant at `/admin/usage/*` and `/admin/costs` (registered after `/admin/*`'s
 * admin-token middleware, which signs the admin context billing verifies).
 */
export function registerUsageApi(app: OpenAPIHono<GatewayBindings>): void {
  usageReadersOnly(app, ["/v1/usage/*", "/v1/organization/*"]);
  registerRequestUsage(app);
  for (const register of [registerCompletionsUsage, registerEmbeddingsUsage, registerCosts]) {
    register(app, TENANT);
    register(app, ADMIN);
  }
}

/** API-key auth and the `usage:read` scope on `paths`, checked before query validation so a key without it learns nothing more. */
export function usageReadersOnly(app: OpenAPIHono<GatewayBindings>, paths: readonly string[]): void {
  for (const path of paths) {
    app.use(path, apiKeyAuth());
    app.use(path, async (c, next) => {
      requireScope(c.get("principal"), "usage:read");
      await next();
    });
  }
}
