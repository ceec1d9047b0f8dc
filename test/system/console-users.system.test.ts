import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_CLOCK_OBJECT } from "../../workers/shared/src/test-clock";
import {
  acceptRequest,
  adminInvite,
  authState,
  createOperator,
  loginRequest,
  member,
  PASSWORD,
  sessionCookieOf,
  signIn,
  uniqueEmail,
  type ConsoleClient,
} from "../support/console";
import { expectError } from "../support/errors";
import { advanceLimiterClock } from "../support/limiter";
import { startStack, type Stack } from "../support/stack";
import { d1 } from "../support/stores";
import { createTenant, type ApiKey, type CreatedApiKey } from "../support/tenants";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const moveClock = (ms: number) => advanceLimiterClock(stack, GATEWAY_CLOCK_OBJECT, ms);

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  const db = await d1(stack, "auth");
  const row = await db
    .prepare(sql)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
const keysOf = (tenantId: string) => count("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?1", tenantId);
/** auth's stored people and keys (test/support/console.ts): what a refusal must leave exactly as it was. */
const stored = async () => authState(await d1(stack, "auth"));
const sessionsOf = (email: string) => count("SELECT COUNT(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?1", email);

describe("operators, sign-in and sessions", () => {
  it("the admin token bootstraps an operator, who signs in with an HttpOnly, Secure, SameSite=Strict session cookie", async () => {
    const { user, email } = await createOperator(stack);
    expect(user).toMatchObject({ object: "user", email, operator: true, memberships: [] });
    const res = await loginRequest(stack, email, PASSWORD);
    expect(res.status).toBe(200);
    const line = res.headers.getSetCookie().find((l) => l.startsWith("__Host-gw_session="))!;
    expect(line).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=900$/);
    const body = (await res.json()) as { user: { email: string; operator: boolean }; csrf_token: string };
    expect(body.user).toMatchObject({ email, operator: true });
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9]{43}$/);
    // The password is stored as a PBKDF2 hash only.
    const db = await d1(stack, "auth");
    const stored = await db.prepare("SELECT password_hash FROM users WHERE email = ?1").bind(email).first<{ password_hash: string }>();
    expect(stored!.password_hash).toMatch(/^pbkdf2-sha256\$6x100000\$/);
    expect(stored!.password_hash).not.toContain(PASSWORD);
    // The operator creation is audited, without the password.
    const audit = await db
      .prepare("SELECT * FROM audit_log WHERE action = 'operator.create' AND target_id = ?1")
      .bind(user.id)
      .first<{ actor: string; details: string }>();
    expect(audit).toMatchObject({ actor: "admin" });
    expect(audit!.details).not.toContain(PASSWORD);
  });

  it("a wrong password and an unknown user get the same 401, and no session is opened", async () => {
    const { email } = await createOperator(stack);
    const before = await stored();
    const wrongRes = await loginRequest(stack, email, "not the password at all");
    expect(wrongRes.headers.getSetCookie()).toEqual([]);
    const wrong = await expectError(wrongRes, 401, "invalid_credentials");
    const unknown = await expectError(await loginRequest(stack, uniqueEmail("nobody"), PASSWORD), 401, "invalid_credentials");
    expect(unknown.message).toBe(wrong.message);
    expect(await sessionsOf(email)).toBe(0);
    // Nothing changed: no user, session, membership or audit row (only the failure counters moved).
    expect(await stored()).toEqual(before);
  });

  it("repeated failures slow the account down: refused with retry-after even with the right password, doubling, until the clock passes", async () => {
    const { email } = await createOperator(stack);
    for (let i = 0; i < 3; i++) await expectError(await loginRequest(stack, email, "wrong password!"), 401, "invalid_credentials");
    // The third failure blocks the account for 1 s: the right password is refused too, and opens nothing.
    const before = await stored();
    const blocked = await loginRequest(stack, email, PASSWORD);
    expect(blocked.headers.get("retry-after")).toBe("1");
    await expectError(blocked, 429, "rate_limit_exceeded");
    expect(await sessionsOf(email)).toBe(0);
    expect(await stored()).toEqual(before);
    await moveClock(1_000);
    // One more failure (the fourth) doubles the delay.
    await expectError(await loginRequest(stack, email, "wrong password!"), 401, "invalid_credentials");
    const again = await loginRequest(stack, email, PASSWORD);
    expect(again.headers.get("retry-after")).toBe("2");
    await expectError(again, 429, "rate_limit_exceeded");
    await moveClock(2_000);
    const client = await signIn(stack, email);
    expect(client.session.user.email).toBe(email);
    expect(await sessionsOf(email)).toBe(1);
  });

  it("failures from one address slow that address down, whichever accounts they try; other addresses are unaffected", async () => {
    const { email } = await createOperator(stack);
    const from = { "cf-connecting-ip": "203.0.113.7" };
    // 20 failures, each against a different unknown account (no account reaches its own threshold).
    for (let i = 0; i < 20; i++) await expectError(await loginRequest(stack, uniqueEmail("spray"), "guess-guess-guess", from), 401, "invalid_credentials");
    const blocked = await loginRequest(stack, email, PASSWORD, from);
    expect(blocked.headers.get("retry-after")).toBe("1");
    await expectError(blocked, 429, "rate_limit_exceeded");
    expect((await loginRequest(stack, email, PASSWORD, { "cf-connecting-ip": "198.51.100.9" })).status).toBe(200);
  });

  it("a tampered session cookie is a 401 and changes nothing; logout ends the session for every copy of its cookie", async () => {
    const tenant = await createTenant(stack);
    const owner = await member(stack, tenant.id, "owner");
    const [name, token] = owner.cookie.split("=") as [string, string];
    const parts = token.split(".");
    const sig = parts[2]!;
    const tampered = `${name}=${parts[0]}.${parts[1]}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`;
    const before = await stored();
    await expectError(await owner.fetch("/console/api/session", { cookie: tampered }), 401, "invalid_session");
    // A payload naming another session id, re-using the signature, is refused too.
    const forged = `${name}=${parts[0]}.${Buffer.from(JSON.stringify({ sid: "ses_x", sub: "usr_x" })).toString("base64url")}.${sig}`;
    await expectError(await owner.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "x" }, cookie: forged }), 401, "invalid_session");
    await expectError(await owner.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "x" }, cookie: tampered }), 401, "invalid_session");
    expect(await keysOf(tenant.id)).toBe(0);
    expect(await stored()).toEqual(before);

    const copy = owner.cookie;
    const out = await owner.fetch("/console/api/logout", { method: "POST" });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((l) => /^__Host-gw_session=; .*Max-Age=0/.test(l))).toBe(true);
    await expectError(await owner.fetch("/console/api/session", { cookie: copy }), 401, "invalid_session");
    const row = await (
      await d1(stack, "auth")
    )
      .prepare("SELECT revoked_at FROM sessions WHERE user_id = ?1")
      .bind(owner.session.user.id)
      .first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).not.toBeNull();
    // A token past its 15 minutes is refused too, even for a live session: nothing is extended by an old cookie.
    const other = await member(stack, tenant.id, "viewer");
    await moveClock(15 * 60_000);
    await expectError(await other.fetch("/console/api/session"), 401, "invalid_session");
  });

  it("rotates the session token once it is five minutes old; the session stays the same", async () => {
    const tenant = await createTenant(stack);
    const owner = await member(stack, tenant.id, "viewer");
    const first = owner.cookie;
    const unchanged = await owner.fetch("/console/api/session");
    expect(sessionCookieOf(unchanged)).toBeNull();
    await moveClock(5 * 60_000);
    const rotated = await owner.fetch("/console/api/session");
    expect(rotated.status).toBe(200);
    expect(sessionCookieOf(rotated)).not.toBeNull();
    expect(owner.cookie).not.toBe(first);
    expect(((await rotated.json()) as { csrf_token: string }).csrf_token).toBe(owner.csrf);
  });
});

describe("invites", () => {
  it("an invite is single-use: the second acceptance is a 410 and adds nobody", async () => {
    const tenant = await createTenant(stack);
    const email = uniqueEmail("dev");
    const invite = await adminInvite(stack, { email, role: "developer", tenant_id: tenant.id });
    expect(invite.url).toBe(`${stack.url}/console/#/invite/${invite.token}`);
    const first = await acceptRequest(stack, invite.token);
    expect(first.status).toBe(201);
    expect(((await first.json()) as { user: { memberships: unknown[] } }).user.memberships).toEqual([
      { tenant_id: tenant.id, tenant_name: tenant.name, role: "developer" },
    ]);
    const before = await stored();
    await expectError(await acceptRequest(stack, invite.token, "another password 123", "Mallory"), 410, "invite_unavailable");
    expect(await stored()).toEqual(before);
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE email = ?1", email)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM memberships WHERE tenant_id = ?1", tenant.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'invite.accept' AND target_id = ?1", invite.id)).toBe(1);
  });

  it("an expired invite is a 410 and creates no user", async () => {
    const tenant = await createTenant(stack);
    const email = uniqueEmail("late");
    const invite = await adminInvite(stack, { email, role: "viewer", tenant_id: tenant.id, expires_in: 60 });
    await moveClock(60_000);
    const before = await stored();
    await expectError(await acceptRequest(stack, invite.token), 410, "invite_unavailable");
    expect(await stored()).toEqual(before);
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE email = ?1", email)).toBe(0);
    await expectError(await acceptRequest(stack, `inv_${"A".repeat(43)}`), 404, "not_found");
  });
});

describe("roles, enforced by the API", () => {
  let tenant: { id: string };
  let owner: ConsoleClient;
  beforeAll(async () => {
    tenant = await createTenant(stack);
    owner = await member(stack, tenant.id, "owner");
  });

  it("a state-changing call without the CSRF token, or from another origin, is a 403 and creates nothing", async () => {
    const before = await stored();
    await expectError(await owner.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "no csrf" }, csrf: null }), 403, "csrf_failed");
    await expectError(await owner.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "bad csrf" }, csrf: "x".repeat(43) }), 403, "csrf_failed");
    await expectError(
      await owner.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "cross-site" }, headers: { origin: "https://evil.example" } }),
      403,
      "csrf_failed",
    );
    await expectError(await owner.fetch("/console/api/logout", { method: "POST", csrf: null }), 403, "csrf_failed");
    expect(await keysOf(tenant.id)).toBe(0);
    expect(await stored()).toEqual(before);
    const created = await owner.json<CreatedApiKey>(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "with csrf" } }, 201);
    expect(created).toMatchObject({ tenant_id: tenant.id, name: "with csrf", created_by: `user:${owner.session.user.id}` });
    expect(created.key).toMatch(/^sk-dev-/);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'key.create' AND target_id = ?1 AND actor = ?2",
        created.id,
        `user:${owner.session.user.id}`,
      ),
    ).toBe(1);
  });

  it("a viewer reads keys but cannot create or revoke one (403); a developer revokes only their own keys", async () => {
    const viewer = await member(stack, tenant.id, "viewer");
    const developer = await member(stack, tenant.id, "developer");
    const ownersKey = await owner.json<CreatedApiKey>(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "owner's" } }, 201);
    const before = await keysOf(tenant.id);
    await expectError(await viewer.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "viewer's" } }), 403, "permission_denied");
    await expectError(await viewer.fetch(`/console/api/keys/${ownersKey.id}/revoke`, { method: "POST" }), 403, "permission_denied");
    expect(await keysOf(tenant.id)).toBe(before);
    const list = await viewer.json<{ data: ApiKey[] }>(`/console/api/tenants/${tenant.id}/keys`);
    expect(list.data.map((k) => k.id)).toContain(ownersKey.id);

    const devKey = await developer.json<CreatedApiKey>(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "dev's" } }, 201);
    await expectError(await developer.fetch(`/console/api/keys/${ownersKey.id}/revoke`, { method: "POST" }), 403, "permission_denied");
    const revoked = await developer.json<ApiKey>(`/console/api/keys/${devKey.id}/revoke`, { method: "POST" });
    expect(revoked).toMatchObject({ id: devKey.id, status: "revoked" });
    const ownerRow = await (
      await d1(stack, "auth")
    )
      .prepare("SELECT revoked_at FROM api_keys WHERE id = ?1")
      .bind(ownersKey.id)
      .first<{ revoked_at: number | null }>();
    expect(ownerRow!.revoked_at).toBeNull();
  });

  it("a user of tenant B never sees tenant A: A's keys, usage and key ids are 404s", async () => {
    const tenantB = await createTenant(stack);
    const userB = await member(stack, tenantB.id, "owner");
    const aKey = await owner.json<CreatedApiKey>(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "A's" } }, 201);
    await expectError(await userB.fetch(`/console/api/tenants/${tenant.id}/keys`), 404, "not_found");
    await expectError(
      await userB.fetch(`/console/api/tenants/${tenant.id}/usage/completions?start_time=${Math.floor(Date.now() / 1000) - 3600}`),
      404,
      "not_found",
    );
    await expectError(await userB.fetch(`/console/api/keys/${aKey.id}/revoke`, { method: "POST" }), 404, "not_found");
    await expectError(await userB.fetch(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "into A" } }), 404, "not_found");
    const tenants = await userB.json<{ data: { tenant_id: string }[] }>("/console/api/tenants");
    expect(tenants.data.map((t) => t.tenant_id)).toEqual([tenantB.id]);
    expect(userB.session.user.memberships.map((m) => m.tenant_id)).toEqual([tenantB.id]);
  });

  it("only an owner (or operator) invites members", async () => {
    const admin = await member(stack, tenant.id, "admin");
    await expectError(
      await admin.fetch("/console/api/invites", { body: { email: uniqueEmail("x"), role: "viewer", tenant_id: tenant.id } }),
      403,
      "permission_denied",
    );
    const invite = await owner.json<{ token: string; role: string }>(
      "/console/api/invites",
      { body: { email: uniqueEmail("y"), role: "viewer", tenant_id: tenant.id } },
      201,
    );
    expect(invite.role).toBe("viewer");
    await expectError(await owner.fetch("/console/api/invites", { body: { email: uniqueEmail("z"), role: "operator" } }), 403, "permission_denied");
  });
});

/**
 * The console's management routes, one table: what each role gets from the API itself (the page is
 * never trusted). An allowed change writes its audit row as `user:<id>`; a refused one leaves auth's
 * stored state exactly as it was. `outsider` is an owner of another tenant: this tenant is a 404 to them.
 */
describe("role checks on every management route (table)", () => {
  type Who = "owner" | "admin" | "developer" | "viewer" | "operator" | "outsider";
  const WHO: Who[] = ["owner", "admin", "developer", "viewer", "operator", "outsider"];
  let tenant: { id: string };
  const users = {} as Record<Who, ConsoleClient>;
  beforeAll(async () => {
    tenant = await createTenant(stack);
    for (const role of ["owner", "admin", "developer", "viewer"] as const) users[role] = await member(stack, tenant.id, role);
    users.operator = await signIn(stack, (await createOperator(stack)).email);
    users.outsider = await member(stack, (await createTenant(stack)).id, "owner");
  });

  interface Case {
    route: string;
    /** Makes the request's target (a key, a member) fresh for each actor; returns the call and the audit action an allowed call writes. */
    prepare: () => Promise<{
      path: string;
      method: string;
      body?: unknown;
      audit: { action: string; target: (answer: Record<string, unknown>) => string } | null;
    }>;
    expect: Record<Who, number>;
  }
  const freshKey = async () => (await users.owner.json<CreatedApiKey>(`/console/api/tenants/${tenant.id}/keys`, { body: { name: "target" } }, 201)).id;
  const freshMember = async () => (await member(stack, tenant.id, "viewer")).session.user.id;
  const CASES: Case[] = [
    {
      route: "POST /console/api/tenants/{id}/keys",
      prepare: async () => ({
        path: `/console/api/tenants/${tenant.id}/keys`,
        method: "POST",
        body: { name: "made by the table" },
        audit: { action: "key.create", target: (a) => String(a["id"]) },
      }),
      expect: { owner: 201, admin: 201, developer: 201, viewer: 403, operator: 201, outsider: 404 },
    },
    {
      route: "POST /console/api/keys/{id}/revoke (the owner's key)",
      prepare: async () => {
        const id = await freshKey();
        return { path: `/console/api/keys/${id}/revoke`, method: "POST", audit: { action: "key.revoke", target: () => id } };
      },
      expect: { owner: 200, admin: 200, developer: 403, viewer: 403, operator: 200, outsider: 404 },
    },
    {
      route: "POST /console/api/invites",
      prepare: async () => ({
        path: "/console/api/invites",
        method: "POST",
        body: { email: uniqueEmail("table"), role: "viewer", tenant_id: tenant.id },
        audit: { action: "invite.create", target: (a) => String(a["id"]) },
      }),
      expect: { owner: 201, admin: 403, developer: 403, viewer: 403, operator: 201, outsider: 404 },
    },
    {
      route: "PATCH /console/api/tenants/{id}/members/{user}",
      prepare: async () => {
        const id = await freshMember();
        return {
          path: `/console/api/tenants/${tenant.id}/members/${id}`,
          method: "PATCH",
          body: { role: "developer" },
          audit: { action: "member.update", target: () => id },
        };
      },
      expect: { owner: 200, admin: 403, developer: 403, viewer: 403, operator: 200, outsider: 404 },
    },
    {
      route: "DELETE /console/api/tenants/{id}/members/{user}",
      prepare: async () => {
        const id = await freshMember();
        return { path: `/console/api/tenants/${tenant.id}/members/${id}`, method: "DELETE", audit: { action: "member.remove", target: () => id } };
      },
      expect: { owner: 200, admin: 403, developer: 403, viewer: 403, operator: 200, outsider: 404 },
    },
    {
      route: "GET /console/api/tenants/{id}/members",
      prepare: async () => ({ path: `/console/api/tenants/${tenant.id}/members`, method: "GET", audit: null }),
      expect: { owner: 200, admin: 200, developer: 200, viewer: 200, operator: 200, outsider: 404 },
    },
    {
      route: "GET /console/api/tenants/{id}/report",
      prepare: async () => ({
        path: `/console/api/tenants/${tenant.id}/report?start_time=${Math.floor(Date.now() / 1000) - 3600}`,
        method: "GET",
        audit: null,
      }),
      expect: { owner: 200, admin: 200, developer: 200, viewer: 200, operator: 200, outsider: 404 },
    },
    {
      route: "GET /console/api/overview (every tenant)",
      prepare: async () => ({ path: `/console/api/overview?start_time=${Math.floor(Date.now() / 1000) - 3600}`, method: "GET", audit: null }),
      expect: { owner: 403, admin: 403, developer: 403, viewer: 403, operator: 200, outsider: 403 },
    },
  ];

  for (const c of CASES) {
    it(`${c.route}: ${WHO.map((w) => `${w} ${c.expect[w]}`).join(", ")}`, async () => {
      for (const who of WHO) {
        const call = await c.prepare();
        const before = await stored();
        const res = await users[who].fetch(call.path, { method: call.method, ...(call.body === undefined ? {} : { body: call.body }) });
        const want = c.expect[who];
        if (want >= 400) {
          await expectError(res, want, want === 403 ? "permission_denied" : "not_found");
          expect(await stored(), `${who}: a refused ${c.route} changes nothing`).toEqual(before);
          continue;
        }
        const text = await res.text();
        expect(res.status, `${who}: ${text}`).toBe(want);
        if (call.audit) {
          const answer = JSON.parse(text) as Record<string, unknown>;
          const rows = await count(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = ?1 AND target_id = ?2 AND actor = ?3",
            call.audit.action,
            call.audit.target(answer),
            `user:${users[who].session.user.id}`,
          );
          expect(rows, `${who}: ${call.audit.action} audited`).toBe(1);
        }
      }
    });
  }

  it("a tenant never loses its last owner (409, unchanged); a removed member loses the tenant at once", async () => {
    const solo = await createTenant(stack);
    const owner = await member(stack, solo.id, "owner");
    const me = owner.session.user.id;
    const before = await stored();
    await expectError(await owner.fetch(`/console/api/tenants/${solo.id}/members/${me}`, { method: "PATCH", body: { role: "viewer" } }), 409, "conflict");
    await expectError(await owner.fetch(`/console/api/tenants/${solo.id}/members/${me}`, { method: "DELETE" }), 409, "conflict");
    expect(await stored()).toEqual(before);
    const dev = await member(stack, solo.id, "developer");
    expect((await owner.fetch(`/console/api/tenants/${solo.id}/members/${dev.session.user.id}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await dev.fetch(`/console/api/tenants/${solo.id}/keys`), 404, "not_found");
    await expectError(await owner.fetch(`/console/api/tenants/${solo.id}/members/usr_nobody`, { method: "DELETE" }), 404, "not_found");
    await expectError(await owner.fetch(`/console/api/tenants/${solo.id}/members/${me}`, { method: "PATCH", body: { role: "root" } }), 400, "invalid_request");
  });
});
