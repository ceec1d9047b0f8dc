import type { D1Database, KVNamespace } from "@cloudflare/workers-types";
import { D1_BINDINGS, type Stack } from "./stack";
import { eventually } from "./wait";

/**
 * The one store reader for system tests: typed access to the stack's D1 databases and KV
 * namespaces (what a test checks was stored), instead of ad-hoc casts of `getEnv()` in each file.
 */

export type D1Worker = keyof typeof D1_BINDINGS;

/** A Worker's D1 database (its one D1 binding from `D1_BINDINGS`, unless another is named). */
export async function d1(stack: Pick<Stack, "harness">, worker: D1Worker, binding: string = D1_BINDINGS[worker].binding): Promise<D1Database> {
  return binding_(await stack.harness.getWorker(worker).getEnv(), worker, binding) as D1Database;
}

/** A Worker's KV namespace. */
export async function kv(stack: Pick<Stack, "harness">, worker: string, binding: string): Promise<KVNamespace> {
  return binding_(await stack.harness.getWorker(worker).getEnv(), worker, binding) as KVNamespace;
}

function binding_(env: Record<string, unknown>, worker: string, binding: string): unknown {
  const value = env[binding];
  if (!value) throw new Error(`${worker} has no binding ${binding}`);
  return value;
}

/** The billing D1 row of a request's usage event, once the queue consumer stored it. */
export async function usageRow(stack: Pick<Stack, "harness">, requestId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const db = await d1(stack, "billing");
  return eventually(
    () => db.prepare("SELECT * FROM usage_events WHERE request_id = ?").bind(requestId).first<Record<string, unknown>>(),
    timeoutMs,
    `usage row ${requestId}`,
  );
}

/** Every value in every KV namespace and every row of every D1 database of the stack, as text. */
export async function dumpAllStores(stack: Stack): Promise<string> {
  const parts: string[] = [];
  const kvs: [string, string][] = [
    ["secrets", "SECRETS"],
    ["auth", "AUTH_CACHE"],
  ];
  for (const [worker, binding] of kvs) {
    const ns = await kv(stack, worker, binding);
    let cursor: string | undefined;
    do {
      const page = await ns.list({ cursor });
      for (const key of page.keys) {
        const { value, metadata } = await ns.getWithMetadata(key.name);
        parts.push(key.name, value ?? "", JSON.stringify(metadata));
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  for (const worker of ["model-proxy", "auth", "billing", "tail"] as const) {
    const db = await d1(stack, worker);
    const tables = await db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .all<{ name: string }>();
    for (const { name } of tables.results) {
      const rows = await db.prepare(`SELECT * FROM "${name}"`).all();
      parts.push(name, JSON.stringify(rows.results));
    }
  }
  return parts.join("\n");
}
