import type { Hono } from "hono";
import { cacheNow } from "../middleware/test-clock";
import { readJsonBody } from "../middleware/body";
import type { GatewayBindings } from "../types";
import { unwrap } from "./openapi";
import { adminContext } from "./rpc";

/**
 * People, for the holder of the admin token: `POST /admin/operators` creates a platform operator —
 * the console's bootstrap (the first operator then invites everyone else from the console) — and
 * `POST /admin/invites` makes an invite link into a tenant (or to become an operator). Both audited.
 */
export function registerUserAdminRoutes(app: Hono<GatewayBindings>): void {
  app.post("/admin/operators", async (c) => {
    const user = unwrap(await c.env.AUTH.createOperator({ ...adminContext(c), nowMs: cacheNow() }, await readJsonBody(c.req.raw, c.env)));
    return c.json(user, 201);
  });
  app.post("/admin/invites", async (c) => {
    const invite = unwrap(await c.env.AUTH.createInvite({ ...adminContext(c), nowMs: cacheNow() }, await readJsonBody(c.req.raw, c.env)));
    return c.json({ ...invite, url: `${new URL(c.req.url).origin}/console/#/invite/${invite.token}` }, 201);
  });
}
