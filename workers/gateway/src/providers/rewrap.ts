import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { parseOrThrow } from "../../../shared/src";
import { RewrapRequestSchema } from "../../../shared/src/contracts/providers";
import { ADMIN_SECURITY, errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import { recordAudit } from "../admin/audit";
import { adminContext } from "../admin/rpc";
import { optionalJson } from "../keys";
import type { GatewayBindings } from "../types";
import { RewrapSummary } from "./schemas";

const rewrap = createRoute({
  tags: ["admin"],
  security: ADMIN_SECURITY,
  method: "post",
  path: "/admin/credentials/rewrap",
  summary: "Re-wrap provider credentials under the current master key (master-key rotation)",
  description:
    "Rotating the master key: add a new version to the secrets Worker's MASTER_KEYS and make it `current` (credentials under older versions keep working), then call this until `cursor` is null, passing back each answer's `cursor`. Once `failed` is empty and every page is done, the old version can be removed. Optional JSON body `{cursor, limit}`.",
  responses: { 200: jsonResponse(RewrapSummary, "One page re-wrapped"), ...errorResponses(400, 401, 503) },
});

/** Lives under `/admin`, behind the admin-token middleware registered there. */
export function registerRewrapRoute(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(rewrap, async (c) => {
    const body = parseOrThrow(RewrapRequestSchema, await optionalJson(c.req.raw));
    const page = unwrap(await c.env.PROVIDERS.rewrapCredentials({ kind: "platform", adminToken: c.get("adminContext") }, body));
    await recordAudit(c, adminContext(c), {
      action: "credentials.rewrap",
      target_type: "credentials",
      target_id: "master_key",
      details: { rewrapped: page.rewrapped, current: page.current, failed: page.failed.length, done: page.cursor === null },
    });
    return c.json(page, 200);
  });
}
