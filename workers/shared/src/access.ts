import type { Principal, Scope } from "./contracts/principal";
import { ApiError } from "./errors";

/**
 * What an authenticated key may do: scopes and model globs. The gateway checks these before any
 * work (403 in OpenAI's shape, which the SDKs raise as `PermissionDeniedError`).
 *
 * Model globs: `*` matches any run of characters (including `/`), everything else is literal and
 * case-sensitive. Patterns are matched against the model name exactly as the client sent it, so
 * `gpt-4o*` allows `gpt-4o-mini` but not `openai/gpt-4o` (a pinned provider is a different name);
 * allow both with `["gpt-4o*", "openai/gpt-4o*"]` or `"*gpt-4o*"`. The globs travel signed in the
 * principal token, and model-proxy applies them again to every target a name resolves to (a route
 * or alias): a target is usable if its pinned or its bare model name matches.
 */

export function hasScope(principal: Pick<Principal, "scopes">, scope: Scope): boolean {
  return principal.scopes.includes(scope);
}

/** Throws 403 `permission_denied` unless the key holds `scope`. */
export function requireScope(principal: Pick<Principal, "scopes">, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new ApiError({
      code: "permission_denied",
      message: `This API key does not have the '${scope}' scope required for this endpoint.`,
    });
  }
}

/** Scopes that send requests to models: only a key holding one of them may list the models. */
export const MODEL_SCOPES: readonly Scope[] = ["chat", "embeddings", "batch", "agentic"];

/**
 * Throws 403 `permission_denied` unless the key holds a scope that uses models: a key made only to
 * manage keys, providers or read usage learns nothing about the model catalogue.
 */
export function requireModelScope(principal: Pick<Principal, "scopes">): void {
  if (!MODEL_SCOPES.some((scope) => hasScope(principal, scope))) {
    throw new ApiError({
      code: "permission_denied",
      message: `This API key has no scope that uses models (${MODEL_SCOPES.join(", ")}), so it cannot list them.`,
    });
  }
}

const compiled = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const source = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${source}$`, "s");
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** Does glob `pattern` match `value`? (`*` = any run of characters; nothing else is special.) */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  return globRegExp(pattern).test(value);
}

/**
 * Is every model matched by glob `child` also matched by glob `parent`? True when `child`, read
 * as a literal string, matches `parent`: each `*` of the child then falls inside a `*` of the
 * parent, which absorbs whatever the child's `*` expands to. Used so that a self-service key can
 * never be given models its creator could not use.
 */
export function globCovers(parent: string, child: string): boolean {
  return globMatch(parent, child);
}

/** Whether the key may use `model`; `/v1/models` uses this to filter the list. */
export function modelAllowed(principal: Pick<Principal, "models">, model: string): boolean {
  if (principal.models === null) return true;
  return principal.models.some((pattern) => globMatch(pattern, model));
}

/** Throws 403 `model_not_allowed` (param `model`) unless the key may use `model`. */
export function assertModelAllowed(principal: Pick<Principal, "models">, model: string): void {
  if (!modelAllowed(principal, model)) {
    throw new ApiError({
      code: "model_not_allowed",
      message: `This API key is not allowed to use the model '${model}'.`,
      param: "model",
    });
  }
}
