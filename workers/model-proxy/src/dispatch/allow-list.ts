import { modelAllowed, type PrincipalClaims, type Result } from "../../../shared/src";
import type { Target } from "../providers/types";
import type { Resolution } from "../registry";

/**
 * The key's model globs applied to what a name resolves to, not only to the name the client typed
 * (which the gateway checks): a route or alias — possibly created by the tenant's own key — must
 * not reach a model the key may not use. A target is usable when the key may use its pinned name
 * (`<provider>/<model>`) or its bare model name (the name that reaches it without pinning);
 * unusable targets are skipped, and a name none of whose targets remain is a 403.
 */
export function withinAllowList(asked: string, resolution: Resolution, claims: PrincipalClaims): Result<Resolution> {
  if (!claims.models) return { ok: true, value: resolution };
  const key = { models: claims.models };
  const usable = (t: Target) => modelAllowed(key, `${t.provider.name}/${t.model}`) || modelAllowed(key, t.model);
  const targets = resolution.targets.filter(usable);
  if (targets.length === resolution.targets.length) return { ok: true, value: resolution };
  if (targets.length === 0) {
    return {
      ok: false,
      error: {
        code: "model_not_allowed",
        param: "model",
        message: `This API key is not allowed to use the model(s) that '${asked}' routes to.`,
      },
    };
  }
  return { ok: true, value: { ...resolution, targets } };
}
