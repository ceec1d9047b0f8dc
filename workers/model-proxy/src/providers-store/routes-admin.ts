import { fail, newId, ok, validationError, type ApiErrorInit, type Result } from "../../../shared/src";
import {
  DEFAULT_ROUTE_RETRIES,
  RouteCreateSchema,
  RouteUpdateSchema,
  type DeletedView,
  type ListView,
  type RouteTarget,
  type RouteView,
} from "../../../shared/src/contracts/providers";
import type { ConfigCache } from "./config-cache";
import { MAX_ROUTES_PER_OWNER } from "./limits";
import { PLATFORM, routeView, type RouteRecord, type RouteTargetRecord } from "./records";
import { ProviderRepository, RouteRepository } from "./repository";

export interface RoutesDeps {
  db: D1Database;
  cache: ConfigCache;
  /** Models of the platform providers configured outside D1 (PLATFORM_PROVIDERS), by name. */
  configured: ReadonlyMap<string, { models: string[] | null }>;
  now?: () => number;
}

/**
 * Route management: a public model name → targets with a strategy. A target names a provider the
 * owner can use — a tenant its own or the platform's, the platform only its own — and, when that
 * provider lists its models, one of them. Targets are checked when the route is written; a
 * provider deleted later simply drops out of the route at request time.
 */
export class RouteAdmin {
  private readonly routes: RouteRepository;
  private readonly providers: ProviderRepository;
  private readonly now: () => number;

  constructor(private readonly deps: RoutesDeps) {
    this.routes = new RouteRepository(deps.db);
    this.providers = new ProviderRepository(deps.db);
    this.now = deps.now ?? Date.now;
  }

  async list(owner: string): Promise<Result<ListView<RouteView>>> {
    return ok({ object: "list", data: (await this.routes.list(owner)).map(routeView) });
  }

  async get(owner: string, id: string): Promise<Result<RouteView>> {
    const found = await this.routes.get(owner, id);
    return found ? ok(routeView(found)) : notFound(id);
  }

  async create(owner: string, input: unknown): Promise<Result<RouteView>> {
    const parsed = RouteCreateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const body = parsed.data;
    const invalid = await this.checkTargets(owner, body.targets);
    if (invalid) return fail(invalid);
    if ((await this.routes.count(owner)) >= MAX_ROUTES_PER_OWNER) {
      return fail({ code: "invalid_request", message: `At most ${MAX_ROUTES_PER_OWNER} routes can be configured; delete one first.` });
    }
    const record: RouteRecord = {
      id: newId("rte"),
      owner,
      name: body.name,
      strategy: body.strategy ?? "fallback",
      targets: withWeights(body.targets),
      retries: body.retries ?? DEFAULT_ROUTE_RETRIES,
      timeoutMs: body.timeout_ms ?? null,
      enabled: body.enabled ?? true,
      createdAt: this.now(),
      updatedAt: this.now(),
      source: null,
      settings: {},
    };
    if (!(await this.routes.insert(record))) return fail(nameTaken(body.name));
    this.deps.cache.invalidate(owner);
    return ok(routeView(record));
  }

  async update(owner: string, id: string, input: unknown): Promise<Result<RouteView>> {
    const parsed = RouteUpdateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const existing = await this.routes.get(owner, id);
    if (!existing) return notFound(id);
    const patch = parsed.data;
    if (patch.targets) {
      const invalid = await this.checkTargets(owner, patch.targets);
      if (invalid) return fail(invalid);
    }
    const next: RouteRecord = {
      ...existing,
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.strategy !== undefined ? { strategy: patch.strategy } : {}),
      ...(patch.targets !== undefined ? { targets: withWeights(patch.targets) } : {}),
      ...(patch.retries !== undefined ? { retries: patch.retries } : {}),
      ...(patch.timeout_ms !== undefined ? { timeoutMs: patch.timeout_ms } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      updatedAt: this.now(),
    };
    if (!(await this.routes.update(next))) return fail(nameTaken(next.name));
    this.deps.cache.invalidate(owner);
    return ok(routeView(next));
  }

  async delete(owner: string, id: string): Promise<Result<DeletedView>> {
    if (!(await this.routes.delete(owner, id))) return notFound(id);
    this.deps.cache.invalidate(owner);
    return ok({ id, object: "route", deleted: true });
  }

  /** Each target must name a provider the owner can use and, if it lists models, one of them. */
  private async checkTargets(owner: string, targets: readonly RouteTarget[]): Promise<ApiErrorInit | null> {
    // A tenant's provider shadows the platform's of the same name, as at request time.
    const visible = new Map<string, { models: string[] | null }>(this.deps.configured);
    for (const p of await this.providers.list(PLATFORM)) visible.set(p.name, p);
    if (owner !== PLATFORM) for (const p of await this.providers.list(owner)) visible.set(p.name, p);
    for (const [i, t] of targets.entries()) {
      const provider = visible.get(t.provider);
      if (!provider) {
        return {
          code: "invalid_request",
          param: `targets[${i}].provider`,
          message: `Invalid value for 'targets[${i}].provider': no provider named '${t.provider}'.`,
        };
      }
      if (provider.models !== null && !provider.models.includes(t.model)) {
        return {
          code: "invalid_request",
          param: `targets[${i}].model`,
          message: `Invalid value for 'targets[${i}].model': provider '${t.provider}' does not serve '${t.model}' (it lists: ${provider.models.join(", ")}).`,
        };
      }
    }
    return null;
  }
}

const withWeights = (targets: readonly RouteTarget[]): RouteTargetRecord[] =>
  targets.map((t) => ({ provider: t.provider, model: t.model, weight: t.weight ?? 1 }));
const notFound = (id: string): Result<never> => fail({ code: "not_found", message: `No route with id '${id}'.` });
const nameTaken = (name: string): ApiErrorInit => ({ code: "conflict", param: "name", message: `A route named '${name}' already exists.` });
