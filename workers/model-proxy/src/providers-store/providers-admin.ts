import { ApiError, fail, newId, ok, validationError, type ApiErrorInit, type Result } from "../../../shared/src";
import {
  AZURE_DEFAULT_API_VERSION,
  PROVIDER_PRESETS,
  ProviderCreateSchema,
  ProviderRotateSchema,
  ProviderTestSchema,
  ProviderUpdateSchema,
  type DeletedView,
  type ListView,
  type ProviderTestReport,
  type ProviderView,
  workersAiBaseUrl,
} from "../../../shared/src/contracts/providers";
import { checkUpstreamUrl, type UpstreamPolicy } from "../../../shared/src/ssrf";
import { adapterFor } from "../providers";
import { readErrorText } from "../providers/upstream-errors";
import type { ConfigCache } from "./config-cache";
import type { CredentialCache } from "./credentials";
import { MAX_PROVIDERS_PER_OWNER } from "./limits";
import { effectiveBaseUrl, providerView, type ProviderRecord } from "./records";
import { providerConfigOf } from "./registry";
import { ProviderRepository } from "./repository";
import { log } from "../../../shared/src/log";

/** The secrets Worker's RPC as model-proxy uses it. */
export type Secrets = ModelProxyEnv["SECRETS"];

export interface AdminDeps {
  db: D1Database;
  secrets: Secrets;
  policy: UpstreamPolicy;
  cache: ConfigCache;
  credentials: CredentialCache;
  now?: () => number;
}

/** Longest a `/test` call may take. */
const TEST_TIMEOUT_MS = 30_000;

/**
 * Provider management for one owner (the platform or a tenant). The credential goes to the
 * secrets Worker on create/rotate and only its reference, last four characters and rotation time
 * are written to D1. Every change drops the owner's cached configuration in this isolate.
 */
export class ProviderAdmin {
  private readonly repo: ProviderRepository;
  private readonly now: () => number;

  constructor(private readonly deps: AdminDeps) {
    this.repo = new ProviderRepository(deps.db);
    this.now = deps.now ?? Date.now;
  }

  async list(owner: string): Promise<Result<ListView<ProviderView>>> {
    return ok({ object: "list", data: (await this.repo.list(owner)).map(providerView) });
  }

  async get(owner: string, id: string): Promise<Result<ProviderView>> {
    const found = await this.repo.get(owner, id);
    return found ? ok(providerView(found)) : notFound(id);
  }

  async create(owner: string, input: unknown): Promise<Result<ProviderView>> {
    const parsed = ProviderCreateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const body = parsed.data;
    const preset = PROVIDER_PRESETS[body.type];
    if (body.account_id !== undefined && body.type !== "workers-ai") {
      return fail({ code: "invalid_request", param: "account_id", message: "Invalid value for 'account_id': only providers of type 'workers-ai' take one." });
    }
    const record: ProviderRecord = {
      id: newId("prv"),
      owner,
      name: body.name,
      type: body.type,
      baseUrl: body.base_url ?? (body.account_id !== undefined ? workersAiBaseUrl(body.account_id) : null),
      credentialRef: null,
      last4: null,
      rotatedAt: null,
      models: body.models ?? null,
      headers: body.headers ?? {},
      timeoutMs: body.timeout_ms ?? null,
      apiVersion: body.api_version ?? (body.type === "azure-openai" ? AZURE_DEFAULT_API_VERSION : null),
      enabled: body.enabled ?? true,
      createdAt: this.now(),
      updatedAt: this.now(),
      source: null,
      credentialEnv: null,
    };
    const invalid = this.checkEndpoint(record);
    if (invalid) return fail(invalid);
    if (!body.api_key && !preset.keyless) {
      return fail({
        code: "invalid_request",
        param: "api_key",
        message: `Missing required parameter: 'api_key' (providers of type '${body.type}' need a credential).`,
      });
    }
    if ((await this.repo.count(owner)) >= MAX_PROVIDERS_PER_OWNER) {
      return fail({ code: "invalid_request", message: `At most ${MAX_PROVIDERS_PER_OWNER} providers can be configured; delete one first.` });
    }
    if (await this.repo.byName(owner, body.name)) return fail(nameTaken(body.name));

    if (body.api_key) {
      const stored = await this.deps.secrets.store({ provider: body.name, plaintext: body.api_key });
      if (!stored.ok) return fail(credentialStoreFailed(stored.error));
      record.credentialRef = stored.value.ref;
      record.last4 = stored.value.last4;
      record.rotatedAt = stored.value.rotated_at;
    }
    if (!(await this.repo.insert(record))) {
      if (record.credentialRef) await this.deps.secrets.delete(record.credentialRef);
      return fail(nameTaken(body.name));
    }
    this.deps.cache.invalidate(owner);
    return ok(providerView(record));
  }

  async update(owner: string, id: string, input: unknown): Promise<Result<ProviderView>> {
    const parsed = ProviderUpdateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const existing = await this.repo.get(owner, id);
    if (!existing) return notFound(id);
    const patch = parsed.data;
    const next: ProviderRecord = {
      ...existing,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.type !== undefined ? { type: patch.type } : {}),
      ...(patch.base_url !== undefined ? { baseUrl: patch.base_url } : {}),
      ...(patch.models !== undefined ? { models: patch.models } : {}),
      ...(patch.headers !== undefined ? { headers: patch.headers } : {}),
      ...(patch.timeout_ms !== undefined ? { timeoutMs: patch.timeout_ms } : {}),
      ...(patch.api_version !== undefined ? { apiVersion: patch.api_version } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      updatedAt: this.now(),
    };
    if (patch.type !== undefined || patch.base_url !== undefined) {
      const invalid = this.checkEndpoint(next);
      if (invalid) return fail(invalid);
    }
    if (patch.api_key === undefined) {
      if (existing.credentialRef && originOf(effectiveBaseUrl(next)) !== originOf(effectiveBaseUrl(existing))) {
        return fail({
          code: "invalid_request",
          param: "api_key",
          message: `Missing required parameter: 'api_key'. This change moves the provider to another host (${originOf(effectiveBaseUrl(next))}); its stored credential is never sent to a new host, so send the credential for the new host in 'api_key' with the change.`,
        });
      }
      if (!next.credentialRef && !PROVIDER_PRESETS[next.type].keyless) {
        return fail({
          code: "invalid_request",
          param: "api_key",
          message: `Providers of type '${next.type}' need a credential: send 'api_key' with this change.`,
        });
      }
      if (!(await this.repo.update(next))) return fail(nameTaken(next.name));
      this.deps.cache.invalidate(owner);
      return ok(providerView(next));
    }
    // A new credential: stored under a fresh reference, so a refused update leaves the old one intact.
    const stored = await this.deps.secrets.store({ provider: next.name, plaintext: patch.api_key });
    if (!stored.ok) return fail(credentialStoreFailed(stored.error));
    const withKey: ProviderRecord = { ...next, credentialRef: stored.value.ref, last4: stored.value.last4, rotatedAt: stored.value.rotated_at };
    if (!(await this.repo.update(withKey))) {
      await this.deps.secrets.delete(stored.value.ref).catch(() => null);
      return fail(nameTaken(next.name));
    }
    if (existing.credentialRef) await this.dropCredential(existing.credentialRef, id);
    this.deps.cache.invalidate(owner);
    return ok(providerView(withKey));
  }

  /** Replaces the credential (a keyless provider gets its first one). */
  async rotate(owner: string, id: string, input: unknown): Promise<Result<ProviderView>> {
    const parsed = ProviderRotateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const existing = await this.repo.get(owner, id);
    if (!existing) return notFound(id);
    const stored = existing.credentialRef
      ? await this.deps.secrets.rotate({ ref: existing.credentialRef, plaintext: parsed.data.api_key })
      : await this.deps.secrets.store({ provider: existing.name, plaintext: parsed.data.api_key });
    if (!stored.ok) {
      // The ciphertext vanished (deleted by hand?): store a fresh one rather than failing forever.
      if (stored.error.code !== "not_found") return fail(credentialStoreFailed(stored.error));
      const fresh = await this.deps.secrets.store({ provider: existing.name, plaintext: parsed.data.api_key });
      if (!fresh.ok) return fail(credentialStoreFailed(fresh.error));
      return this.saveCredential(existing, fresh.value);
    }
    return this.saveCredential(existing, stored.value);
  }

  async delete(owner: string, id: string): Promise<Result<DeletedView>> {
    const existing = await this.repo.get(owner, id);
    if (!existing || !(await this.repo.delete(owner, id))) return notFound(id);
    if (existing.credentialRef) await this.dropCredential(existing.credentialRef, id);
    this.deps.cache.invalidate(owner);
    return ok({ id, object: "provider", deleted: true });
  }

  /** Forgets and deletes a credential no provider refers to any more (a leftover is only logged). */
  private async dropCredential(ref: string, providerId: string): Promise<void> {
    this.deps.credentials.forget(ref);
    const removed = await this.deps.secrets.delete(ref).catch(() => null);
    if (!removed?.ok) log.warn("model-proxy", "orphaned credential after provider change", { op: "providers", detail: providerId });
  }

  /** A cheap real call (one-token chat) through the provider's adapter, with its stored credential. */
  async test(owner: string, id: string, input: unknown, requestId: string): Promise<Result<ProviderTestReport>> {
    const parsed = ProviderTestSchema.safeParse(input ?? {});
    if (!parsed.success) return fail(validationError(parsed.error));
    const existing = await this.repo.get(owner, id);
    if (!existing) return notFound(id);
    const model = parsed.data.model ?? existing.models?.[0];
    if (!model)
      return fail({ code: "invalid_request", param: "model", message: "Missing required parameter: 'model' (the provider lists no models to test with)." });
    const adapter = adapterFor(existing.type);
    const started = this.now();
    const report = (error: ApiErrorInit | null, status: number | null = null): Result<ProviderTestReport> =>
      ok({
        object: "provider.test",
        id,
        ok: error === null,
        model,
        latency_ms: this.now() - started,
        reachable: status !== null,
        status,
        error: error ? { code: error.code, message: error.message } : null,
      });
    if (!adapter?.supports("chat"))
      return report({ code: "invalid_request", message: `Providers of type '${existing.type}' cannot be tested with a chat call.` });
    const provider = providerConfigOf(existing, this.deps.policy);
    if (existing.credentialRef) {
      const revealed = await this.deps.credentials.reveal(this.deps.secrets, existing.name, { ref: existing.credentialRef, rotatedAt: existing.rotatedAt });
      if (!revealed.ok) return report(revealed.error);
      provider.apiKey = revealed.value;
    }
    const timeoutMs = Math.min(provider.timeoutMs, TEST_TIMEOUT_MS);
    provider.timeoutMs = timeoutMs;
    try {
      const res = await adapter.call(
        "chat",
        { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1, stream: false },
        { provider, model },
        { requestId, signal: AbortSignal.timeout(timeoutMs), forceStreamUsage: false },
      );
      await readErrorText(res, 1024);
      return report(null, res.status);
    } catch (err) {
      if (!(err instanceof ApiError)) return report({ code: "upstream_error", message: `The provider '${existing.name}' could not be called.` });
      // An answer's text is the upstream's (any host's) words: the report says only what it means.
      if (err.upstreamStatus !== null) return report({ code: err.code, message: answerSummary(err.code, err.upstreamStatus, model) }, err.upstreamStatus);
      return report(err.toInit());
    }
  }

  private async saveCredential(existing: ProviderRecord, info: { ref: string; last4: string | null; rotated_at: number }): Promise<Result<ProviderView>> {
    const next: ProviderRecord = { ...existing, credentialRef: info.ref, last4: info.last4, rotatedAt: info.rotated_at, updatedAt: this.now() };
    await this.repo.update(next);
    if (existing.credentialRef) this.deps.credentials.forget(existing.credentialRef);
    this.deps.cache.invalidate(existing.owner);
    return ok(providerView(next));
  }

  private checkEndpoint(p: ProviderRecord): ApiErrorInit | null {
    return endpointProblem(p, this.deps.policy);
  }
}

/** The upstream root must exist and pass the SSRF guard (the preset's too: ollama's is loopback). */
export function endpointProblem(p: Pick<ProviderRecord, "type" | "baseUrl">, policy: UpstreamPolicy, param = "base_url"): ApiErrorInit | null {
  const url = effectiveBaseUrl(p);
  if (!url) return { code: "invalid_request", param, message: `Missing required parameter: '${param}' (providers of type '${p.type}' have no default).` };
  const check = checkUpstreamUrl(url, policy);
  if (check.ok) return null;
  const which = p.baseUrl ? `'${param}'` : `The default base_url of type '${p.type}' (${url})`;
  return { code: "invalid_request", param, message: `Invalid value for ${which}: it ${check.reason}.${p.baseUrl ? "" : ` Set '${param}'.`}` };
}

/** Scheme, host and port: where a credential is sent. Null for no or an unreadable URL. */
export function originOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** A failed test call's answer, in the gateway's words (the status and what the gateway made of it). */
function answerSummary(code: ApiErrorInit["code"], status: number, model: string): string {
  switch (code) {
    case "upstream_auth_error":
      return `The provider rejected the credential (HTTP ${status}); rotate it with POST /v1/providers/{id}/rotate.`;
    case "upstream_rate_limited":
      return `The provider is rate limiting requests (HTTP ${status}).`;
    case "upstream_timeout":
      return `The provider timed out (HTTP ${status}).`;
    case "model_not_found":
      return `The provider does not serve the model '${model}' (HTTP ${status}).`;
    default:
      return `The provider answered HTTP ${status}.`;
  }
}

const notFound = (id: string): Result<never> => fail({ code: "not_found", message: `No provider with id '${id}'.` });
const nameTaken = (name: string): ApiErrorInit => ({ code: "conflict", param: "name", message: `A provider named '${name}' already exists.` });
export const credentialStoreFailed = (error: ApiErrorInit): ApiErrorInit => ({
  code: error.code === "invalid_request" ? "invalid_request" : "service_unavailable",
  param: error.code === "invalid_request" ? "api_key" : null,
  message:
    error.code === "invalid_request"
      ? `Invalid value for 'api_key': ${error.message}`
      : "The credential could not be stored; nothing was changed. Retry the request.",
});
