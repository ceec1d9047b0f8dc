import { errorResponse } from "../../../shared/src";
import { proxyEnvelopeOf } from "../../../shared/src/contracts/proxy-http";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import { errorMessage, log } from "../../../shared/src/log";

export interface ForwardHttpEnv {
  PRINCIPAL_VERIFY_JWK: string;
  MODEL_PROXY: { fetch(request: Request): Promise<Response> };
}

/**
 * A proxied operation (any row of shared/src/proxy/operations.ts), as the gateway sends it: HTTP
 * over the binding (contracts/proxy-http.ts). tail checks who asks (the signed principal token,
 * verified once per token per isolate) from the envelope only, and the request itself — body
 * unread — goes on to model-proxy's `fetch`. The Response, JSON or an SSE stream, comes back as
 * model-proxy produced it; tail adds nothing to it and never reads its body.
 */
export async function forwardHttp(env: ForwardHttpEnv, request: Request): Promise<Response> {
  const envelope = proxyEnvelopeOf(request);
  if (!envelope.ok) return errorResponse(envelope.error, request.headers.get("x-request-id") ?? undefined);
  return verifiedThen(env, envelope.value, () => env.MODEL_PROXY.fetch(request));
}

async function verifiedThen(
  env: { PRINCIPAL_VERIFY_JWK: string },
  req: { principalToken: string; requestId: string },
  call: () => Promise<Response>,
): Promise<Response> {
  const claims = await verifyPrincipalToken(req.principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return errorResponse(claims.error, req.requestId);
  try {
    return await call();
  } catch (err) {
    log.error("tail", "model proxy unreachable", { requestId: req.requestId, message: errorMessage(err) });
    return errorResponse({ code: "service_unavailable", message: "The model proxy could not be reached. Retry the request." }, req.requestId);
  }
}
