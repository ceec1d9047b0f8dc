import { fail, ok, type Result } from "../../../shared/src";
import { errorMessage, log } from "../../../shared/src/log";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import type { RunIndex } from "./engine";
import { TERMINAL, type RunRecord } from "./items";

/** The most unfinished runs one answer lists (newest first). */
export const MAX_RUNS_IN_FLIGHT = 50;

/** One run in flight as the console shows it: no input, output or instructions (never prompt text). */
export interface AgentRunInFlight {
  id: string;
  object: "response";
  surface: RunRecord["surface"];
  model: string;
  status: "queued" | "in_progress";
  background: boolean;
  created_at: number;
}

export function inFlightView(run: RunRecord): AgentRunInFlight | null {
  if (run.status !== "queued" && run.status !== "in_progress") return null;
  return {
    id: run.id,
    object: "response",
    surface: run.surface,
    model: run.request.model,
    status: run.status,
    background: run.request.background === true,
    created_at: Math.floor(run.createdAt / 1000),
  };
}

/**
 * The `agent_runs` index in tail's D1 (migrations/tail/0004), told by each AgentRun object: a row
 * when the run is created, deleted when it ends. Both writes go through `waitUntil`, off the reply
 * path; a lost write is harmless, since the listing asks each listed run for its live state.
 */
export function d1RunIndex(db: D1Database, waitUntil: (p: Promise<unknown>) => void): RunIndex {
  const write = (what: string, stmt: D1PreparedStatement) =>
    waitUntil(stmt.run().catch((err: unknown) => log.error("tail", `agent run not ${what} in the index`, { op: "agent_runs", message: errorMessage(err) })));
  return {
    started: (run) =>
      write(
        "listed",
        db
          .prepare("INSERT OR IGNORE INTO agent_runs (id, tenant_id, surface, created_at) VALUES (?1, ?2, ?3, ?4)")
          .bind(run.id, run.tenantId, run.surface, run.createdAt),
      ),
    ended: (run) => write("removed", db.prepare("DELETE FROM agent_runs WHERE id = ?1").bind(run.id)),
  };
}

/**
 * The console's "agent runs in flight": a tenant's queued or in-progress `/v1/responses` and
 * `/v1/agentic` runs, each read live from its AgentRun object (the authority). Read-only, so a
 * reader's token with `usage:read` (the console's signed reader) or `chat` suffices.
 */
export async function agentRunsInFlight(env: TailEnv, token: unknown): Promise<Result<{ object: "list"; data: AgentRunInFlight[] }>> {
  if (typeof token !== "string") return fail({ code: "invalid_api_key", message: "The caller is not identified by a signed token." });
  const claims = await verifyPrincipalToken(token, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  if (!claims.value.scopes.includes("usage:read") && !claims.value.scopes.includes("chat")) {
    return fail({ code: "permission_denied", message: "This API key does not have the 'usage:read' scope required to read agent runs in flight." });
  }
  const tenantId = claims.value.tenantId;
  const { results } = await env.TAIL_DB.prepare(`SELECT id FROM agent_runs WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ${MAX_RUNS_IN_FLIGHT}`)
    .bind(tenantId)
    .all<{ id: string }>();
  const runs = await Promise.all(results.map(async (row) => env.AGENT_RUN.get(env.AGENT_RUN.idFromName(row.id)).inFlight(tenantId)));
  const data = runs.flatMap((r): AgentRunInFlight[] =>
    r && !TERMINAL.has(r.status)
      ? [{ id: r.id, object: "response", surface: r.surface, model: r.model, status: r.status, background: r.background, created_at: r.created_at }]
      : [],
  );
  return ok({ object: "list", data });
}
