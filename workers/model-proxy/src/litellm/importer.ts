import { fail, newId, ok, type ApiErrorInit, type Result } from "../../../shared/src";
import { DEFAULT_ROUTE_RETRIES, PROVIDER_PRESETS, type ProviderKind, type RouteStrategy } from "../../../shared/src/contracts/providers";
import type { UpstreamPolicy } from "../../../shared/src/ssrf";
import type { ConfigCache } from "../providers-store/config-cache";
import type { CredentialCache } from "../providers-store/credentials";
import { MAX_PROVIDERS_PER_OWNER, MAX_ROUTES_PER_OWNER } from "../providers-store/limits";
import { credentialStoreFailed, endpointProblem, originOf, type Secrets } from "../providers-store/providers-admin";
import { effectiveBaseUrl, type ProviderRecord, type RouteRecord, type RouteSettings, type RouteTargetRecord } from "../providers-store/records";
import { ProviderRepository, RouteRepository } from "../providers-store/repository";
import type { ImportPlan } from "../../../shared/src/contracts/litellm";
import { parseLiteLLMConfig, type Deployment, type LiteLLMConfig } from "./config";

type Action = ImportPlan["providers"][number]["action"];

export interface ImportDeps {
  db: D1Database;
  secrets: Secrets;
  policy: UpstreamPolicy;
  cache: ConfigCache;
  credentials: CredentialCache;
  /** The Worker's environment: `os.environ/NAME` reads its string secrets (platform imports only). */
  env: Readonly<Record<string, unknown>>;
  now?: () => number;
}

/** Worker bindings an `os.environ/` reference may never read, whoever imports. */
const RESERVED_ENV = new Set(["PRINCIPAL_VERIFY_JWK", "GATEWAY_VERIFY_JWK", "PLATFORM_PROVIDER_KEYS", "PLATFORM_PROVIDERS"]);

/** The `os.environ/NAME` a stored credential is exported as when it was not imported from one. */
export function exportedEnvName(providerName: string): string {
  return `GATEWAY_KEY_${providerName.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** A deployment's credential, resolved: a value to store, or a provider's stored credential kept as it is. */
type Credential = { kind: "value"; value: string; env: string } | { kind: "stored"; from: ProviderRecord; env: string } | { kind: "none" };

interface DesiredProvider {
  name: string;
  type: ProviderKind;
  baseUrl: string | null;
  apiVersion: string | null;
  timeoutMs: number | null;
  credential: Credential;
  /** The first deployment that asked for it (errors name its path). */
  path: string;
}

interface ProviderStep {
  desired: DesiredProvider;
  existing: ProviderRecord | null;
  action: Action;
  changes: string[];
}

interface RouteStep {
  record: RouteRecord;
  existing: RouteRecord | null;
  action: Action;
  changes: string[];
}

/**
 * Imports a LiteLLM config into one owner's providers and routes (the platform's, or a tenant's own:
 * every read and write is scoped by `owner`, so a tenant's import never sees another's rows).
 *
 * Deployments become providers (one per distinct endpoint × credential × api_version × timeout,
 * named by `model_info.gateway_provider` when an export wrote it, else by the LiteLLM prefix) and
 * model groups become routes carrying the router settings. Credentials go to the secrets Worker as
 * provider create does; `os.environ/NAME` reads the Worker secret NAME (platform only) or names a
 * credential this owner already stores (what an export writes). Rows an earlier import created and
 * the file no longer names are deleted; rows made through the providers API are never deleted.
 *
 * The plan is computed first and compared field by field with what is stored, so importing the
 * same file again changes nothing; `dryRun` returns the plan without writing.
 */
export class LiteLLMImporter {
  readonly #providers: ProviderRepository;
  readonly #routes: RouteRepository;
  readonly #now: () => number;

  constructor(private readonly deps: ImportDeps) {
    this.#providers = new ProviderRepository(deps.db);
    this.#routes = new RouteRepository(deps.db);
    this.#now = deps.now ?? Date.now;
  }

  async import(owner: string, platform: boolean, doc: unknown, dryRun: boolean): Promise<Result<ImportPlan>> {
    const parsed = parseLiteLLMConfig(doc);
    if (!parsed.ok) return parsed;
    const config = parsed.value;
    const [existingProviders, existingRoutes] = await Promise.all([this.#providers.list(owner), this.#routes.list(owner)]);

    const desired = this.#desiredProviders(config, existingProviders, platform);
    if (!desired.ok) return desired;
    const providerSteps: ProviderStep[] = [];
    for (const d of desired.value.providers) {
      const step = await this.#providerStep(d, existingProviders);
      if (!step.ok) return step;
      providerSteps.push(step.value);
    }
    const keptProviders = new Set(providerSteps.map((s) => s.desired.name));
    const deletedProviders = existingProviders.filter((p) => p.source === "litellm" && !keptProviders.has(p.name));
    const finalCount = existingProviders.length - deletedProviders.length + providerSteps.filter((s) => s.action === "create").length;
    if (finalCount > MAX_PROVIDERS_PER_OWNER)
      return fail({
        code: "invalid_request",
        param: "model_list",
        message: `The import would leave ${finalCount} providers; at most ${MAX_PROVIDERS_PER_OWNER}.`,
      });

    const routeSteps = this.#routeSteps(owner, config, desired.value.byDeployment, existingRoutes);
    const keptRoutes = new Set(routeSteps.map((s) => s.record.name));
    const deletedRoutes = existingRoutes.filter((r) => r.source === "litellm" && !keptRoutes.has(r.name));
    const routeCount = existingRoutes.length - deletedRoutes.length + routeSteps.filter((s) => s.action === "create").length;
    if (routeCount > MAX_ROUTES_PER_OWNER)
      return fail({ code: "invalid_request", param: "model_list", message: `The import would leave ${routeCount} routes; at most ${MAX_ROUTES_PER_OWNER}.` });

    const plan: ImportPlan = {
      object: "litellm.import",
      dry_run: dryRun,
      changed: false,
      providers: [
        ...providerSteps.map((s) => ({
          name: s.desired.name,
          type: s.desired.type,
          base_url: effectiveBaseUrl(s.desired),
          action: s.action,
          changes: s.changes,
        })),
        ...deletedProviders.map((p) => ({ name: p.name, type: p.type, base_url: effectiveBaseUrl(p), action: "delete" as const, changes: [] })),
      ],
      routes: [
        ...routeSteps.map((s) => ({
          name: s.record.name,
          strategy: s.record.strategy,
          deployments: deploymentsOf(s.record),
          action: s.action,
          changes: s.changes,
        })),
        ...deletedRoutes.map((r) => ({ name: r.name, strategy: r.strategy, deployments: deploymentsOf(r), action: "delete" as const, changes: [] })),
      ],
      unsupported: config.unsupported,
    };
    plan.changed = [...plan.providers, ...plan.routes].some((e) => e.action !== "unchanged");
    if (dryRun || !plan.changed) return ok(plan);

    const applied = await this.#apply(owner, providerSteps, routeSteps, deletedRoutes, deletedProviders);
    this.deps.cache.invalidate(owner);
    return applied.ok ? ok(plan) : applied;
  }

  /** Deployments → the providers they need (shared where endpoint, credential and settings agree). */
  #desiredProviders(
    config: LiteLLMConfig,
    existing: readonly ProviderRecord[],
    platform: boolean,
  ): Result<{ providers: DesiredProvider[]; byDeployment: Map<Deployment, string> }> {
    const byKey = new Map<string, DesiredProvider>();
    const byName = new Map<string, { desired: DesiredProvider; key: string }>();
    const byDeployment = new Map<Deployment, string>();
    const existingByName = new Map(existing.map((p) => [p.name, p]));
    for (const d of config.deployments) {
      const credential = this.#credential(d, existing, platform);
      if (!credential.ok) return credential;
      const cred = credential.value;
      const endpoint = [d.type, d.baseUrl ?? "", d.apiVersion ?? "", d.timeoutMs ?? ""].join("|");
      const credKey = cred.kind === "none" ? "" : cred.kind === "stored" ? `stored:${cred.from.id}` : `value:${cred.env}:${cred.value}`;
      const key = `${d.providerName ?? ""}|${endpoint}|${credKey}`;
      let found = byKey.get(key);
      if (!found) {
        let name = d.providerName;
        if (name !== null) {
          if (byName.has(name)) {
            return fail(invalid(`${d.path}.model_info.gateway_provider`, `provider '${name}' is named by deployments with different endpoints or keys`));
          }
        } else {
          const base = (d.baseUrl === null && d.apiVersion === null && d.timeoutMs === null ? d.prefix : `${d.prefix}-${hash6(endpoint)}`)
            .toLowerCase()
            .replace(/[^a-z0-9._-]/g, "-")
            .slice(0, 56);
          name = base;
          // A provider made through the API keeps its name; a second key for the same endpoint gets -2, -3, ….
          for (let n = 2; byName.has(name) || (existingByName.has(name) && existingByName.get(name)!.source !== "litellm"); n++) name = `${base}-${n}`;
        }
        const problem = endpointProblem({ type: d.type, baseUrl: d.baseUrl }, this.deps.policy, `${d.path}.litellm_params.api_base`);
        if (problem) return fail(problem);
        if (cred.kind === "none" && !PROVIDER_PRESETS[d.type].keyless) {
          return fail(invalid(`${d.path}.litellm_params.api_key`, `'${d.prefix}/' deployments need an api_key (the key, or os.environ/NAME)`));
        }
        const withName: Credential = cred.kind === "value" && cred.env === "" ? { ...cred, env: exportedEnvName(name) } : cred;
        found = { name, type: d.type, baseUrl: d.baseUrl, apiVersion: d.apiVersion, timeoutMs: d.timeoutMs, credential: withName, path: d.path };
        byKey.set(key, found);
        byName.set(name, { desired: found, key });
      }
      byDeployment.set(d, found.name);
    }
    return ok({ providers: [...byKey.values()], byDeployment });
  }

  /** `api_key`: the key itself, a Worker secret (platform only), or a credential this owner stores under that name. */
  #credential(d: Deployment, existing: readonly ProviderRecord[], platform: boolean): Result<Credential> {
    const source = d.credential;
    if (source === null) return ok({ kind: "none" });
    if ("plaintext" in source) return ok({ kind: "value", value: source.plaintext, env: "" });
    const name = source.env;
    const path = `${d.path}.litellm_params.api_key`;
    if (RESERVED_ENV.has(name)) return fail(invalid(path, `os.environ/${name} is one of the gateway's own bindings and cannot be used as a provider key`));
    const secret = platform ? this.deps.env[name] : undefined;
    if (typeof secret === "string" && secret.length > 0) return ok({ kind: "value", value: secret, env: name });
    const stored = existing.find((p) => p.credentialRef !== null && (p.credentialEnv ?? exportedEnvName(p.name)) === name);
    if (stored) return ok({ kind: "stored", from: stored, env: name });
    return fail(
      invalid(
        path,
        platform
          ? `os.environ/${name} is neither a Worker secret of model-proxy nor the name of a credential stored here`
          : `os.environ/${name} names no credential of yours (tenants cannot read the gateway's Worker secrets: give the key itself, stored encrypted, or a name your export wrote)`,
      ),
    );
  }

  async #providerStep(d: DesiredProvider, existing: readonly ProviderRecord[]): Promise<Result<ProviderStep>> {
    const current = existing.find((p) => p.name === d.name) ?? null;
    if (!current) return ok({ desired: d, existing: null, action: "create", changes: [] });
    const changes: string[] = [];
    if (current.type !== d.type) changes.push("type");
    if (current.baseUrl !== d.baseUrl) changes.push("base_url");
    if (current.apiVersion !== d.apiVersion) changes.push("api_version");
    if (current.timeoutMs !== d.timeoutMs) changes.push("timeout_ms");
    if (current.models !== null) changes.push("models");
    if (Object.keys(current.headers).length > 0) changes.push("headers");
    if (!current.enabled) changes.push("enabled");
    const credChange = await this.#credentialChanges(current, d);
    if (!credChange.ok) return credChange;
    changes.push(...credChange.value);
    // A stored credential is never sent to a new host (as PATCH /v1/providers refuses it).
    if (d.credential.kind === "stored" && originOf(effectiveBaseUrl(d.credential.from)) !== originOf(effectiveBaseUrl(d))) {
      return fail(
        invalid(
          `${d.path}.litellm_params.api_key`,
          `the stored credential of '${d.credential.from.name}' was given for another host; give the key for this api_base`,
        ),
      );
    }
    return ok({ desired: d, existing: current, action: changes.length ? "update" : "unchanged", changes });
  }

  async #credentialChanges(current: ProviderRecord, d: DesiredProvider): Promise<Result<string[]>> {
    const cred = d.credential;
    if (cred.kind === "none") return ok(current.credentialRef === null ? [] : ["api_key"]);
    const envChange = current.credentialEnv !== cred.env ? ["api_key_env"] : [];
    if (cred.kind === "stored") return ok(cred.from.id === current.id ? envChange : ["api_key", ...envChange]);
    if (current.credentialRef === null) return ok(["api_key", ...envChange]);
    const revealed = await this.deps.credentials.reveal(this.deps.secrets, current.name, { ref: current.credentialRef, rotatedAt: current.rotatedAt });
    if (!revealed.ok) return revealed;
    return ok(revealed.value === cred.value ? envChange : ["api_key", ...envChange]);
  }

  #routeSteps(owner: string, config: LiteLLMConfig, providerOf: Map<Deployment, string>, existing: readonly RouteRecord[]): RouteStep[] {
    const s = config.settings;
    const groups = new Map<string, RouteTargetRecord[]>();
    for (const d of config.deployments) {
      const targets = groups.get(d.group) ?? [];
      targets.push(targetOf(d, providerOf.get(d)!));
      groups.set(d.group, targets);
    }
    const common: RouteSettings = {
      ...(s.allowedFails !== null ? { allowedFails: s.allowedFails } : {}),
      ...(s.cooldownMs !== null ? { cooldownMs: s.cooldownMs } : {}),
    };
    const settingsOf = (group: string): RouteSettings => ({
      ...(s.fallbacks.has(group) ? { fallbacks: s.fallbacks.get(group)! } : {}),
      ...(s.contextWindowFallbacks.has(group) ? { contextWindowFallbacks: s.contextWindowFallbacks.get(group)! } : {}),
      ...(s.contentPolicyFallbacks.has(group) ? { contentPolicyFallbacks: s.contentPolicyFallbacks.get(group)! } : {}),
      ...common,
    });
    const wanted: { name: string; targets: RouteTargetRecord[]; settings: RouteSettings }[] = [...groups].map(([name, targets]) => ({
      name,
      targets,
      settings: settingsOf(name),
    }));
    for (const [alias, group] of s.aliases) wanted.push({ name: alias, targets: groups.get(group)!, settings: { ...settingsOf(group), aliasOf: group } });

    const now = this.#now();
    return wanted.map(({ name, targets, settings }) => {
      const current = existing.find((r) => r.name === name) ?? null;
      const record: RouteRecord = {
        id: current?.id ?? newId("rte"),
        owner,
        name,
        strategy: s.strategy,
        targets,
        retries: s.retries ?? DEFAULT_ROUTE_RETRIES,
        timeoutMs: s.timeoutMs,
        enabled: true,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
        source: current ? current.source : "litellm",
        settings,
      };
      if (!current) return { record, existing: null, action: "create", changes: [] };
      const changes: string[] = [];
      if (current.strategy !== record.strategy) changes.push("strategy");
      if (JSON.stringify(current.targets) !== JSON.stringify(record.targets)) changes.push("targets");
      if (current.retries !== record.retries) changes.push("retries");
      if (current.timeoutMs !== record.timeoutMs) changes.push("timeout_ms");
      if (!current.enabled) changes.push("enabled");
      if (JSON.stringify(current.settings) !== JSON.stringify(record.settings)) changes.push("settings");
      return { record, existing: current, action: changes.length ? "update" : "unchanged", changes };
    });
  }

  async #apply(
    owner: string,
    providerSteps: readonly ProviderStep[],
    routeSteps: readonly RouteStep[],
    deletedRoutes: readonly RouteRecord[],
    deletedProviders: readonly ProviderRecord[],
  ): Promise<Result<void>> {
    const now = this.#now();
    const dropped: string[] = [];
    for (const step of providerSteps) {
      if (step.action === "unchanged") continue;
      const d = step.desired;
      const record: ProviderRecord = {
        id: step.existing?.id ?? newId("prv"),
        owner,
        name: d.name,
        type: d.type,
        baseUrl: d.baseUrl,
        credentialRef: step.existing?.credentialRef ?? null,
        last4: step.existing?.last4 ?? null,
        rotatedAt: step.existing?.rotatedAt ?? null,
        models: null,
        headers: {},
        timeoutMs: d.timeoutMs,
        apiVersion: d.apiVersion,
        enabled: true,
        createdAt: step.existing?.createdAt ?? now,
        updatedAt: now,
        source: step.existing ? step.existing.source : "litellm",
        credentialEnv: d.credential.kind === "none" ? null : d.credential.env,
      };
      const cred = d.credential;
      const needsStore = step.changes.includes("api_key") || (step.action === "create" && cred.kind !== "none");
      if (cred.kind === "none") {
        if (record.credentialRef) dropped.push(record.credentialRef);
        record.credentialRef = record.last4 = record.rotatedAt = null;
      } else if (needsStore) {
        const plaintext = cred.kind === "value" ? ok(cred.value) : await this.#reveal(cred.from);
        if (!plaintext.ok) return plaintext;
        const stored = await this.deps.secrets.store({ provider: d.name, plaintext: plaintext.value });
        if (!stored.ok) return fail({ ...credentialStoreFailed(stored.error), param: `${d.path}.litellm_params.api_key` });
        if (record.credentialRef) dropped.push(record.credentialRef);
        record.credentialRef = stored.value.ref;
        record.last4 = stored.value.last4;
        record.rotatedAt = stored.value.rotated_at;
      }
      const written = step.existing ? await this.#providers.update(record) : await this.#providers.insert(record);
      if (!written) return fail({ code: "conflict", param: `${d.path}`, message: `A provider named '${d.name}' was created meanwhile; import again.` });
    }
    for (const step of routeSteps) {
      if (step.action === "unchanged") continue;
      const written = step.existing ? await this.#routes.update(step.record) : await this.#routes.insert(step.record);
      if (!written) return fail({ code: "conflict", param: "model_list", message: `A route named '${step.record.name}' was created meanwhile; import again.` });
    }
    for (const r of deletedRoutes) await this.#routes.delete(owner, r.id);
    for (const p of deletedProviders) {
      await this.#providers.delete(owner, p.id);
      if (p.credentialRef) dropped.push(p.credentialRef);
    }
    for (const ref of dropped) {
      this.deps.credentials.forget(ref);
      await this.deps.secrets.delete(ref).catch(() => null);
    }
    return ok(undefined);
  }

  #reveal(p: ProviderRecord): Promise<Result<string>> {
    return this.deps.credentials.reveal(this.deps.secrets, p.name, { ref: p.credentialRef!, rotatedAt: p.rotatedAt });
  }
}

/** A deployment as a route target, its keys always in this order (so stored JSON compares equal). */
function targetOf(d: Deployment, provider: string): RouteTargetRecord {
  return {
    provider,
    model: d.model,
    weight: d.weight,
    ...(d.rpm !== null ? { rpm: d.rpm } : {}),
    ...(d.tpm !== null ? { tpm: d.tpm } : {}),
    ...(d.order !== null ? { order: d.order } : {}),
    ...(d.id !== null ? { id: d.id } : {}),
    ...(d.maxInputTokens !== null ? { maxInputTokens: d.maxInputTokens } : {}),
  };
}

const deploymentsOf = (r: RouteRecord) => r.targets.map((t) => ({ provider: t.provider, model: t.model }));

function invalid(path: string, detail: string): ApiErrorInit {
  return { code: "invalid_request", param: path, message: `Invalid LiteLLM config at '${path}': ${detail}.` };
}

/** Six hex digits of FNV-1a: a short stable suffix for a provider name. */
function hash6(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0").slice(0, 6);
}
