import { fail, type Result, type Scope } from "../../../shared/src";
import type { CreatedWebhookEndpoint, DeletedWebhook, WebhookEndpoint, WebhookList } from "../../../shared/src/contracts/webhooks";
import type { PrincipalClaims } from "../../../shared/src/contracts/principal";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import { WebhookRegistry } from "./registry";

type Env = ConstructorParameters<typeof WebhookRegistry>[0] & Pick<TailEnv, "PRINCIPAL_VERIFY_JWK">;

/**
 * `/v1/webhooks` as tail serves it to the gateway: every call carries the key's principal token,
 * verified here (the callee) before anything is read, and acts only on that token's tenant. Reading
 * needs `webhooks:read` or `webhooks:write`; registering and deleting need `webhooks:write`.
 */
export class WebhookApi {
  readonly #env: Env;
  readonly #registry: WebhookRegistry;

  constructor(env: Env) {
    this.#env = env;
    this.#registry = new WebhookRegistry(env);
  }

  async create(token: string, input: unknown): Promise<Result<CreatedWebhookEndpoint>> {
    return this.#as(token, ["webhooks:write"], (c) => this.#registry.create(c.tenantId, c.keyId, input));
  }

  async list(token: string): Promise<Result<WebhookList>> {
    return this.#as(token, ["webhooks:read", "webhooks:write"], (c) => this.#registry.list(c.tenantId));
  }

  async get(token: string, id: string): Promise<Result<WebhookEndpoint>> {
    return this.#as(token, ["webhooks:read", "webhooks:write"], (c) => this.#registry.get(c.tenantId, String(id)));
  }

  async delete(token: string, id: string): Promise<Result<DeletedWebhook>> {
    return this.#as(token, ["webhooks:write"], (c) => this.#registry.delete(c.tenantId, String(id)));
  }

  async #as<T>(token: unknown, anyOf: Scope[], run: (claims: PrincipalClaims) => Promise<Result<T>>): Promise<Result<T>> {
    return asTokenCaller(this.#env, token, anyOf, run);
  }
}

/**
 * Runs `run` as the caller a principal token names (verified here, the callee) when it holds one of
 * `anyOf`: what every token-carrying RPC of tail's management APIs does before reading anything.
 */
export async function asTokenCaller<T>(
  env: Pick<TailEnv, "PRINCIPAL_VERIFY_JWK">,
  token: unknown,
  anyOf: Scope[],
  run: (claims: PrincipalClaims) => Promise<Result<T>>,
): Promise<Result<T>> {
  if (typeof token !== "string") return fail({ code: "invalid_api_key", message: "The caller is not identified by a signed token." });
  const claims = await verifyPrincipalToken(token, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  if (!anyOf.some((s) => claims.value.scopes.includes(s))) {
    return fail({ code: "permission_denied", message: `This API key does not have the '${anyOf[0]}' scope required for this endpoint.` });
  }
  return run(claims.value);
}
