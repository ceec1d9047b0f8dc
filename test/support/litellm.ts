import type { ImportPlan } from "../../workers/shared/src/contracts/litellm";
import type { PriceImportPlan } from "../../workers/shared/src/contracts/price-import";
import type { Caller } from "./providers";
import type { Stack } from "./stack";
import { gatewayFetch } from "./fetch";

/**
 * `/v1/config/litellm` in system tests: a LiteLLM config.yaml goes to the gateway as the user's
 * file would (YAML text), with the admin token or a tenant key.
 */
export type { ImportPlan, PriceImportPlan };

/** POST the file as YAML; `dryRun` adds `?dry_run=true`. */
export function postLiteLLM(stack: Pick<Stack, "url">, caller: Caller, yaml: string, dryRun = false): Promise<Response> {
  return gatewayFetch(stack, `/v1/config/litellm${dryRun ? "?dry_run=true" : ""}`, {
    key: caller.token,
    rawBody: yaml,
    headers: { "content-type": "application/yaml" },
  });
}

/** Imports the file and returns the plan (throws with the answer unless 200). */
export async function importLiteLLM(stack: Pick<Stack, "url">, caller: Caller, yaml: string, dryRun = false): Promise<ImportPlan> {
  const res = await postLiteLLM(stack, caller, yaml, dryRun);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`import LiteLLM config: expected 200, got ${res.status}: ${text}`);
  return JSON.parse(text) as ImportPlan;
}

/** GET the export as YAML text. */
export async function exportLiteLLM(stack: Pick<Stack, "url">, caller: Caller): Promise<string> {
  const res = await gatewayFetch(stack, "/v1/config/litellm", { key: caller.token });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`export LiteLLM config: expected 200, got ${res.status}: ${text}`);
  if (!res.headers.get("content-type")?.startsWith("application/yaml")) throw new Error(`export is not YAML: ${res.headers.get("content-type")}`);
  return text;
}

/** POST LiteLLM's model_prices_and_context_window.json (its text, as the file is) to /admin/prices/import. */
export function postPriceFile(stack: Pick<Stack, "url" | "adminToken">, json: string, dryRun = false): Promise<Response> {
  return gatewayFetch(stack, `/admin/prices/import${dryRun ? "?dry_run=true" : ""}`, {
    admin: true,
    rawBody: json,
    headers: { "content-type": "application/json" },
  });
}

/** Imports the price file and returns the plan (throws with the answer unless 200). */
export async function importPriceFile(stack: Pick<Stack, "url" | "adminToken">, json: string, dryRun = false): Promise<PriceImportPlan> {
  const res = await postPriceFile(stack, json, dryRun);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`import price file: expected 200, got ${res.status}: ${text}`);
  return JSON.parse(text) as PriceImportPlan;
}
