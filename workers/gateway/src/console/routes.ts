import type { Context, Hono } from "hono";
import { ApiError } from "../../../shared/src";
import type { Actor } from "../../../shared/src/contracts/actor";
import type { Membership } from "../../../shared/src/contracts/users";
import { unwrap } from "../admin/openapi";
import { adminContextToken } from "../middleware/admin-token";
import { evictCachedPrincipals } from "../middleware/api-key";
import { boundedBody, readJsonBody } from "../middleware/body";
import { cacheNow } from "../middleware/test-clock";
import type { GatewayBindings } from "../types";
import { registerConsolePage } from "./page";
import { applyGrant, CLEARED_COOKIE, consoleSession, sessionContext } from "./session";

/**
 * The console's API (`/console/api/*`), used by the single-page app at `/console` and callable by
 * anything holding a session cookie. Every check is made here or in the Worker that owns the data,
 * never in the page: auth decides who may change keys (by role), billing and model-proxy verify the
 * principal token auth signed for the user's tenant. Another tenant's id is a 404.
 */
type C = Context<GatewayBindings>;

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

function tenantParam(c: C): string {
  const id = c.req.param("tenant") ?? "";
  if (!TENANT_ID.test(id)) throw new ApiError({ code: "not_found", message: `No tenant with id '${id.slice(0, 64)}'.`, param: "tenant" });
  return id;
}

/** The signed reader's token auth mints for this user in this tenant (404 if they are not a member): read-only scopes. */
async function readerToken(c: C, tenantId: string): Promise<string> {
  return unwrap(await c.env.AUTH.consolePrincipal(sessionContext(c), tenantId)).token;
}
/** The same reader as the actor billing verifies. */
async function tenantReader(c: C, tenantId: string): Promise<Actor> {
  return { type: "key", token: await readerToken(c, tenantId) };
}

const query = (c: C): Record<string, string | string[]> => {
  const out: Record<string, string | string[]> = {};
  const url = new URL(c.req.url);
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    out[key] = all.length > 1 ? all : all[0]!;
  }
  return out;
};

const anonymousContext = (c: C) => ({ requestId: c.get("requestId"), nowMs: cacheNow() });
/** The client's address, one of the two subjects failed sign-ins are counted against. */
const clientAddress = (c: C) => c.req.header("cf-connecting-ip") ?? "unknown";

export function registerConsoleApi(app: Hono<GatewayBindings>): void {
  registerConsolePage(app);
  app.use("/console/api/*", boundedBody());
  app.use("/console/api/*", async (c, next) => {
    await next();
    c.header("cache-control", "no-store");
  });

  // ---- no session yet ----
  app.post("/console/api/login", async (c) => {
    const body = await readJsonBody(c.req.raw, c.env);
    const grant = unwrap(await c.env.AUTH.login(anonymousContext(c), { email: body["email"], password: body["password"], address: clientAddress(c) }));
    return c.json(applyGrant(c, grant), 200);
  });
  app.post("/console/api/invites/accept", async (c) => {
    const body = await readJsonBody(c.req.raw, c.env);
    const grant = unwrap(await c.env.AUTH.acceptInvite(anonymousContext(c), body));
    return c.json(applyGrant(c, grant), 201);
  });

  // ---- signed in ----
  for (const path of [
    "/console/api/session",
    "/console/api/logout",
    "/console/api/invites",
    "/console/api/tenants",
    "/console/api/tenants/*",
    "/console/api/keys/*",
    "/console/api/overview",
  ]) {
    app.use(path, consoleSession());
  }

  app.get("/console/api/session", (c) => c.json(c.get("consoleSession"), 200));

  app.post("/console/api/logout", async (c) => {
    unwrap(await c.env.AUTH.logout(sessionContext(c)));
    c.header("set-cookie", CLEARED_COOKIE);
    return c.body(null, 204);
  });

  app.post("/console/api/invites", async (c) => {
    const invite = unwrap(await c.env.AUTH.createInvite(sessionContext(c), await readJsonBody(c.req.raw, c.env)));
    return c.json({ ...invite, url: `${new URL(c.req.url).origin}/console/#/invite/${invite.token}` }, 201);
  });

  /** The tenants this user can open: an operator's are every tenant (a page of 100), a member's their memberships. */
  app.get("/console/api/tenants", async (c) => {
    const session = c.get("consoleSession");
    if (!session.user.operator) return c.json({ object: "list", data: session.user.memberships }, 200);
    const page = unwrap(await c.env.AUTH.listTenants(sessionContext(c), { limit: 100 }));
    const data: Membership[] = page.data.filter((t) => t.status === "active").map((t) => ({ tenant_id: t.id, tenant_name: t.name, role: "owner" }));
    return c.json({ object: "list", data }, 200);
  });

  // Usage and costs of one tenant: the usage API's own answers (billing, D1 rollups), read with the user's signed reader.
  app.get("/console/api/tenants/:tenant/usage/:kind{completions|embeddings}", async (c) => {
    const reader = await tenantReader(c, tenantParam(c));
    const kind = c.req.param("kind") === "embeddings" ? "embeddings" : "completions";
    return c.json(unwrap(await c.env.BILLING.usageBuckets(reader, kind, query(c))), 200);
  });
  app.get("/console/api/tenants/:tenant/costs", async (c) => {
    const reader = await tenantReader(c, tenantParam(c));
    return c.json(unwrap(await c.env.BILLING.costBuckets(reader, query(c))), 200);
  });
  // The overview's figures (totals, series, error rate, p50/p95, breakdowns, recent requests): billing's usage ledger.
  app.get("/console/api/tenants/:tenant/report", async (c) => {
    const reader = await tenantReader(c, tenantParam(c));
    return c.json(unwrap(await c.env.BILLING.consoleReport(reader, query(c))), 200);
  });
  app.get("/console/api/tenants/:tenant/batches", async (c) => {
    return c.json(unwrap(await c.env.TAIL.batchesInFlight(await readerToken(c, tenantParam(c)))), 200);
  });
  app.get("/console/api/tenants/:tenant/agent-runs", async (c) => {
    return c.json(unwrap(await c.env.TAIL.agentRunsInFlight(await readerToken(c, tenantParam(c)))), 200);
  });
  app.get("/console/api/tenants/:tenant/invoices", async (c) => {
    const reader = await tenantReader(c, tenantParam(c));
    return c.json(unwrap(await c.env.BILLING.invoices(reader, query(c))), 200);
  });
  app.get("/console/api/tenants/:tenant/providers", async (c) => {
    const principalToken = await readerToken(c, tenantParam(c));
    return c.json(unwrap(await c.env.PROVIDERS.listProviders({ kind: "tenant", principalToken })), 200);
  });
  // Circuit states (model-proxy's circuit_states, written by each CircuitBreaker): the platform's and this tenant's only.
  app.get("/console/api/tenants/:tenant/circuits", async (c) => {
    const principalToken = await readerToken(c, tenantParam(c));
    return c.json(unwrap(await c.env.PROVIDERS.circuits({ kind: "tenant", principalToken })), 200);
  });

  // Members: every member reads them; auth lets only owners (and operators) change a role or remove someone.
  app.get("/console/api/tenants/:tenant/members", async (c) => {
    return c.json(unwrap(await c.env.AUTH.listMembers(sessionContext(c), tenantParam(c))), 200);
  });
  app.patch("/console/api/tenants/:tenant/members/:user", async (c) => {
    const member = unwrap(await c.env.AUTH.updateMember(sessionContext(c), tenantParam(c), c.req.param("user"), await readJsonBody(c.req.raw, c.env)));
    return c.json(member, 200);
  });
  app.delete("/console/api/tenants/:tenant/members/:user", async (c) => {
    return c.json(unwrap(await c.env.AUTH.removeMember(sessionContext(c), tenantParam(c), c.req.param("user"))), 200);
  });

  // Keys: auth enforces the role (viewer: none; developer: create, manage own; admin/owner: all).
  app.get("/console/api/tenants/:tenant/keys", async (c) => {
    return c.json(unwrap(await c.env.AUTH.listKeys(sessionContext(c), tenantParam(c), query(c))), 200);
  });
  app.post("/console/api/tenants/:tenant/keys", async (c) => {
    const created = unwrap(await c.env.AUTH.createKey(sessionContext(c), tenantParam(c), await readJsonBody(c.req.raw, c.env)));
    return c.json(created, 201);
  });
  app.post("/console/api/keys/:key/revoke", async (c) => {
    const id = c.req.param("key");
    const key = unwrap(await c.env.AUTH.revokeKey(sessionContext(c), id));
    evictCachedPrincipals({ keyId: id });
    return c.json(key, 200);
  });

  /**
   * An operator's report across tenants (by-tenant breakdown; `tenant_id` narrows it to one): the
   * admin context reads billing's ledger; anyone else is refused (403) by this route, whatever the page shows.
   */
  app.get("/console/api/overview", async (c) => {
    if (!c.get("consoleSession").user.operator) throw new ApiError({ code: "permission_denied", message: "Only operators see every tenant." });
    const actor: Actor = { type: "admin", token: await adminContextToken(c.env) };
    return c.json(unwrap(await c.env.BILLING.consoleReport(actor, query(c))), 200);
  });
}
