import { fail, newId, ok, validationError, type Result } from "../../../shared/src";
import {
  AuditRecordSchema,
  BillingAuditRecordSchema,
  type AUDITED_TARGETS,
  type AuditEntry,
  type AuditQuery,
  type ListPage,
} from "../../../shared/src/contracts/auth";
import { nowSeconds, parseJson } from "../db/rows";
import { identifyActor, type Acting } from "./actor";

/**
 * The audit log: who (admin or `key:<id>`), what (action, target, changed fields), when, under
 * which request id. auth's own changes (tenants, keys) write it in the same D1 batch as the change,
 * so there is no change without its row; other Workers' changes (providers, routes, prices,
 * credentials) reach it through `recordAudit`, called by the gateway route after the change
 * succeeded. Callers pass only non-secret details: never a key, hash or token.
 */
export interface AuditFact {
  action: string;
  tenantId: string | null;
  targetType: "tenant" | "api_key" | "user" | "invite" | (typeof AUDITED_TARGETS)[number];
  targetId: string;
  details?: Record<string, unknown>;
}

/** Who wrote the row: an `Acting` (auth's own admin operations) or an identified actor (`recordAudit`). */
type Author = { actor: Pick<Acting["actor"], "label">; requestId: string };

/** `id`: the row's id when the caller derives it (an idempotent write: a row with that id already there is kept, nothing added). */
export function auditStatement(db: D1Database, acting: Author, fact: AuditFact, nowSec: number, id?: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_log (id, at, actor, action, tenant_id, target_type, target_id, request_id, details)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING`,
    )
    .bind(
      id ?? newId("aud"),
      nowSec,
      acting.actor.label,
      fact.action,
      fact.tenantId,
      fact.targetType,
      fact.targetId,
      acting.requestId,
      JSON.stringify(fact.details ?? {}),
    );
}

/**
 * Records a change another Worker made. The actor and tenant come from the verified call context
 * (a tenant's key can only write rows of its own tenant), never from the input.
 */
export async function recordAudit(env: AuthEnv, context: unknown, input: unknown): Promise<Result<true>> {
  const author = await identifyActor(env, context);
  if (!author.ok) return author;
  const parsed = AuditRecordSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { action, target_type, target_id, details } = parsed.data;
  const fact: AuditFact = { action, tenantId: author.value.tenantId, targetType: target_type, targetId: target_id, details: details ?? {} };
  await auditStatement(env.AUTH_DB, author.value, fact, nowSeconds()).run();
  return ok(true);
}

/** The actor of billing's rows: no person or key acted, billing's own rule did (its alerts). */
export const BILLING_ACTOR = "system:billing";

/**
 * Records a fact billing established itself (a budget or credit alert), reached only through the
 * `BillingAudit` entrypoint, i.e. by a Worker bound to it (billing): the binding is the authority,
 * the actor is always `system:billing`. Idempotent: the row id is derived from billing's `ref`.
 */
export async function recordBillingAudit(env: AuthEnv, input: unknown): Promise<Result<{ id: string; written: boolean }>> {
  const parsed = BillingAuditRecordSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { action, target_type, target_id, details, tenant_id, ref } = parsed.data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`billing\n${ref}`)));
  const id = `aud_${[...digest.subarray(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const fact: AuditFact = { action, tenantId: tenant_id, targetType: target_type, targetId: target_id, details: details ?? {} };
  const res = await auditStatement(env.AUTH_DB, { actor: { label: BILLING_ACTOR }, requestId: ref }, fact, nowSeconds(), id).run();
  return ok({ id, written: (res.meta.changes ?? 0) > 0 });
}

interface AuditRow {
  id: string;
  at: number;
  actor: string;
  action: string;
  tenant_id: string | null;
  target_type: string;
  target_id: string;
  request_id: string;
  details: string;
}

/** Newest first (insertion order, so ties within a second keep their order); `after` = previous `last_id`. */
export async function listAudit(db: D1Database, query: AuditQuery): Promise<ListPage<AuditEntry>> {
  const limit = query.limit ?? 20;
  const where: string[] = [];
  const binds: unknown[] = [];
  if (query.tenant_id) {
    binds.push(query.tenant_id);
    where.push(`tenant_id = ?${binds.length}`);
  }
  if (query.after) {
    binds.push(query.after);
    const n = binds.length;
    where.push(`rowid < (SELECT rowid FROM audit_log WHERE id = ?${n})`);
  }
  binds.push(limit + 1);
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY rowid DESC LIMIT ?${binds.length}`;
  const { results } = await db
    .prepare(sql)
    .bind(...binds)
    .all<AuditRow>();
  const rows = results.slice(0, limit);
  const data = rows.map((r): AuditEntry => ({
    id: r.id,
    object: "audit_log_entry",
    at: r.at,
    actor: r.actor,
    action: r.action,
    tenant_id: r.tenant_id,
    target_type: r.target_type,
    target_id: r.target_id,
    request_id: r.request_id,
    details: parseJson<Record<string, unknown>>(r.details, {}),
  }));
  return { object: "list", data, has_more: results.length > limit, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
