import { WorkerEntrypoint } from "cloudflare:workers";
import { fail, ok, validationError, type Result } from "../../../shared/src";
import { ContextWindowImportRequestSchema, type ContextWindowImportResult } from "../../../shared/src/contracts/price-import";
import { ContextWindowStore } from "./context-windows";
import type { ImportPlan, LiteLLMExport } from "../../../shared/src/contracts/litellm";
import { LiteLLMExporter } from "../litellm/exporter";
import { LiteLLMImporter } from "../litellm/importer";
import type { DeletedView, ListView, ProviderTestReport, ProviderView, RewrapSummary, RouteView } from "../../../shared/src/contracts/providers";
import { upstreamPolicy } from "../../../shared/src/ssrf";
import { configCache } from "./config-cache";
import { credentialCache } from "./credentials";
import { resolveOwner, type Access } from "./owner";
import { configuredProviders } from "./platform-config";
import { ProviderAdmin } from "./providers-admin";
import { PLATFORM } from "./records";
import { RouteAdmin } from "./routes-admin";
import { errorMessage, log } from "../../../shared/src/log";
import type { CircuitStateView } from "../../../shared/src/contracts/metrics";
import { circuitStates } from "../metrics/circuits";

/**
 * The providers API's back end, an RPC entrypoint of model-proxy (which owns the `proxy` D1
 * database and is the only Worker bound to the secrets Worker). The gateway is its only caller:
 * it passes its signed admin context (`{kind:"platform", adminToken}`) after checking the admin
 * token, or the tenant's signed principal token; either is verified here (a tenant's with its
 * scopes) before anything is read or written.
 *
 * Every method returns a `Result`; nothing throws across RPC and no response holds a credential.
 */
export class ProvidersService extends WorkerEntrypoint<ModelProxyEnv> {
  listProviders(owner: unknown): Promise<Result<ListView<ProviderView>>> {
    return this.as(owner, "read", (o) => this.providers().list(o));
  }

  /** The circuit states the owner may see (a tenant: the platform's and its own, never another tenant's): metrics/circuits.ts. */
  circuits(owner: unknown): Promise<Result<ListView<CircuitStateView>>> {
    return this.as(owner, "read", async (o) => ok({ object: "list" as const, data: await circuitStates(this.env.PROXY_DB, o) }));
  }

  getProvider(owner: unknown, id: string): Promise<Result<ProviderView>> {
    return this.as(owner, "read", (o) => this.providers().get(o, String(id)));
  }

  createProvider(owner: unknown, input: unknown): Promise<Result<ProviderView>> {
    return this.as(owner, "write", (o) => this.providers().create(o, input));
  }

  updateProvider(owner: unknown, id: string, input: unknown): Promise<Result<ProviderView>> {
    return this.as(owner, "write", (o) => this.providers().update(o, String(id), input));
  }

  rotateProviderKey(owner: unknown, id: string, input: unknown): Promise<Result<ProviderView>> {
    return this.as(owner, "write", (o) => this.providers().rotate(o, String(id), input));
  }

  deleteProvider(owner: unknown, id: string): Promise<Result<DeletedView>> {
    return this.as(owner, "write", (o) => this.providers().delete(o, String(id)));
  }

  testProvider(owner: unknown, id: string, input: unknown, requestId: string): Promise<Result<ProviderTestReport>> {
    return this.as(owner, "write", (o) => this.providers().test(o, String(id), input, String(requestId)));
  }

  listRoutes(owner: unknown): Promise<Result<ListView<RouteView>>> {
    return this.as(owner, "read", (o) => this.routes().list(o));
  }

  getRoute(owner: unknown, id: string): Promise<Result<RouteView>> {
    return this.as(owner, "read", (o) => this.routes().get(o, String(id)));
  }

  createRoute(owner: unknown, input: unknown): Promise<Result<RouteView>> {
    return this.as(owner, "write", (o) => this.routes().create(o, input));
  }

  updateRoute(owner: unknown, id: string, input: unknown): Promise<Result<RouteView>> {
    return this.as(owner, "write", (o) => this.routes().update(o, String(id), input));
  }

  deleteRoute(owner: unknown, id: string): Promise<Result<DeletedView>> {
    return this.as(owner, "write", (o) => this.routes().delete(o, String(id)));
  }

  /** Imports a LiteLLM proxy config (parsed by the gateway) into the owner's providers and routes; `dryRun` only plans. */
  importLiteLLM(owner: unknown, doc: unknown, dryRun: boolean): Promise<Result<ImportPlan>> {
    return this.as(owner, "write", (o) =>
      new LiteLLMImporter({
        db: this.env.PROXY_DB,
        secrets: this.env.SECRETS,
        policy: upstreamPolicy(this.env),
        cache: configCache,
        credentials: credentialCache,
        env: this.env as unknown as Record<string, unknown>,
      }).import(o, o === PLATFORM, doc, dryRun === true),
    );
  }

  /** The owner's providers and routes as a LiteLLM config (credentials as os.environ references only). */
  exportLiteLLM(owner: unknown): Promise<Result<LiteLLMExport>> {
    return this.as(owner, "read", async (o) => ok(await new LiteLLMExporter(this.env.PROXY_DB).export(o)));
  }

  /**
   * Imports context windows read from a price file (`POST /admin/prices/import`): platform only
   * (they apply to every tenant's route deployments without a `max_input_tokens` of their own).
   */
  importContextWindows(owner: unknown, input: unknown): Promise<Result<ContextWindowImportResult>> {
    return this.as(owner, "write", async (o): Promise<Result<ContextWindowImportResult>> => {
      if (o !== PLATFORM) return fail({ code: "permission_denied", message: "Only the platform administrator can import context windows." });
      const parsed = ContextWindowImportRequestSchema.safeParse(input);
      if (!parsed.success) return fail(validationError(parsed.error));
      return ok(await new ContextWindowStore(this.env.PROXY_DB, configCache).import(parsed.data.windows, parsed.data.dry_run));
    });
  }

  /** Master-key rotation: re-wraps a page of credentials under the current key. Platform only. */
  rewrapCredentials(owner: unknown, input: unknown): Promise<Result<RewrapSummary>> {
    return this.as(owner, "write", async (o): Promise<Result<RewrapSummary>> => {
      if (o !== PLATFORM) return fail({ code: "permission_denied", message: "Only the platform administrator can re-wrap credentials." });
      const result = await this.env.SECRETS.rewrapAll((input ?? {}) as { cursor?: string | null; limit?: number });
      return result.ok ? { ok: true, value: { ...result.value, failed: result.value.failed.map((f) => ({ ...f })) } } : { ok: false, error: result.error };
    });
  }

  private providers(): ProviderAdmin {
    return new ProviderAdmin({
      db: this.env.PROXY_DB,
      secrets: this.env.SECRETS,
      policy: upstreamPolicy(this.env),
      cache: configCache,
      credentials: credentialCache,
    });
  }

  private routes(): RouteAdmin {
    return new RouteAdmin({ db: this.env.PROXY_DB, cache: configCache, configured: configuredProviders(this.env) });
  }

  private async as<T>(owner: unknown, access: Access, run: (owner: string) => Promise<Result<T>>): Promise<Result<T>> {
    try {
      const resolved = await resolveOwner(owner, access, { principal: this.env.PRINCIPAL_VERIFY_JWK, gateway: this.env.GATEWAY_VERIFY_JWK });
      if (!resolved.ok) return resolved;
      return await run(resolved.value);
    } catch (err) {
      log.error("model-proxy", "providers API failed", { op: "providers", message: errorMessage(err) });
      return fail({ code: "internal_error", message: "The providers API had an internal error." });
    }
  }
}
