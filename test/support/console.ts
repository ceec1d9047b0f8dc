import type { D1Database } from "@cloudflare/workers-types";
import type { ConsoleSession, ConsoleUser, CreatedInvite, Role } from "../../workers/shared/src/contracts/users";
import { registerSecret } from "./log-scan";
import { adminFetch } from "./tenants";
import type { Stack } from "./stack";

/**
 * Console users for system and browser tests, made the way people are: the admin token bootstraps
 * an operator (`POST /admin/operators`), everyone else arrives by invite link. A `ConsoleClient`
 * holds what a browser would (the session cookie, the CSRF token) and sends both like the page does.
 */
export type { ConsoleSession, ConsoleUser, CreatedInvite, Role };

export const PASSWORD = "correct horse battery staple";

let n = 0;
export const uniqueEmail = (label: string) => `${label}-${process.pid}-${++n}@example.test`;

/** The session cookie's `name=value` from a Set-Cookie answer (null if none was set). */
export function sessionCookieOf(res: Response): string | null {
  for (const line of res.headers.getSetCookie()) {
    const m = /^(__Host-gw_session=[^;]*)/.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

export class ConsoleClient {
  constructor(
    private readonly stack: Pick<Stack, "url">,
    public cookie: string,
    public csrf: string,
    public readonly session: ConsoleSession,
  ) {}

  /** A console API call as the page makes it: cookie always, CSRF token on changes (unless `csrf: null`). */
  async fetch(
    path: string,
    init: { method?: string; body?: unknown; csrf?: string | null; cookie?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const method = init.method ?? (init.body === undefined ? "GET" : "POST");
    const csrf = init.csrf === undefined ? this.csrf : init.csrf;
    const res = await fetch(`${this.stack.url}${path}`, {
      method,
      headers: {
        cookie: init.cookie ?? this.cookie,
        ...(method !== "GET" && csrf !== null ? { "x-csrf-token": csrf } : {}),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const rotated = sessionCookieOf(res);
    if (rotated && init.cookie === undefined) this.cookie = rotated;
    return res;
  }

  async json<T>(path: string, init: Parameters<ConsoleClient["fetch"]>[1] = {}, status = 200): Promise<T> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    if (res.status !== status) throw new Error(`${init.method ?? "GET"} ${path}: expected ${status}, got ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}

/** POST /console/api/login; the raw answer (for tests of refusals). */
export function loginRequest(stack: Pick<Stack, "url">, email: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  registerSecret(password);
  return fetch(`${stack.url}/console/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ email, password }),
  });
}

async function clientFrom(stack: Pick<Stack, "url">, res: Response, status: number, what: string): Promise<ConsoleClient> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${text}`);
  const cookie = sessionCookieOf(res);
  if (!cookie) throw new Error(`${what}: no session cookie`);
  const session = JSON.parse(text) as ConsoleSession;
  return new ConsoleClient(stack, cookie, session.csrf_token, session);
}

export async function signIn(stack: Pick<Stack, "url">, email: string, password = PASSWORD): Promise<ConsoleClient> {
  return clientFrom(stack, await loginRequest(stack, email, password), 200, "sign in");
}

/** POST /admin/operators with the admin token. */
export async function createOperator(
  stack: Pick<Stack, "url" | "adminToken">,
  email = uniqueEmail("operator"),
  password = PASSWORD,
): Promise<{ user: ConsoleUser; email: string }> {
  registerSecret(password);
  const res = await adminFetch(stack, "/admin/operators", { body: { email, name: "Operator", password } });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create operator: expected 201, got ${res.status}: ${text}`);
  return { user: JSON.parse(text) as ConsoleUser, email };
}

/** POST /admin/invites with the admin token. */
export async function adminInvite(
  stack: Pick<Stack, "url" | "adminToken">,
  body: { email: string; role: Role | "operator"; tenant_id?: string; expires_in?: number },
): Promise<CreatedInvite & { url: string }> {
  const res = await adminFetch(stack, "/admin/invites", { body });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`invite: expected 201, got ${res.status}: ${text}`);
  return JSON.parse(text) as CreatedInvite & { url: string };
}

export function acceptRequest(stack: Pick<Stack, "url">, token: string, password = PASSWORD, name = "Member"): Promise<Response> {
  registerSecret(password);
  registerSecret(token);
  return fetch(`${stack.url}/console/api/invites/accept`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, name, password }),
  });
}

/** A member of a tenant with a role, signed in (invited by the admin token, accepted). */
export async function member(stack: Pick<Stack, "url" | "adminToken">, tenantId: string, role: Role, email = uniqueEmail(role)): Promise<ConsoleClient> {
  const invite = await adminInvite(stack, { email, role, tenant_id: tenantId });
  return clientFrom(stack, await acceptRequest(stack, invite.token), 201, "accept invite");
}

/**
 * Every row of auth's people-and-keys tables (users, memberships, invites, sessions, api_keys,
 * audit_log), in a stable order: a refused request must leave it exactly as it was. The failed
 * sign-in counters (`login_throttle`) are left out on purpose: counting a failure is the one
 * change a refused sign-in makes.
 */
export async function authState(db: D1Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of [
    ["users", "id"],
    ["memberships", "user_id, tenant_id"],
    ["invites", "id"],
    ["sessions", "id"],
    ["api_keys", "id"],
    ["audit_log", "id"],
  ] as const) {
    out[table] = (await db.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all()).results;
  }
  return out;
}
