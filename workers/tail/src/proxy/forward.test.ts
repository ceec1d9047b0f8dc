import { describe, expect, it } from "vitest";
import type { ProxyRequest } from "../../../shared/src";
import { signPrincipalToken } from "../../../shared/src/principal-token";
import { proxyHttpRequest } from "../../../shared/src/contracts/proxy-http";
import { forwardHttp } from "./forward";

async function keys() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const { token } = await signPrincipalToken({ tenantId: "t", keyId: "k", scopes: ["chat"] }, JSON.stringify({ ...priv, alg: "EdDSA" }));
  return { token, verifyJwk: JSON.stringify({ ...pub, alg: "EdDSA" }) };
}

describe("forwardHttp (a request that does not stream, encoded as HTTP)", () => {
  const body = '{"model":"p/m","messages":[],"vendor_extra":true}';

  it("hands the request itself, body unread, to model-proxy's fetch and returns its Response untouched", async () => {
    const { token, verifyJwk } = await keys();
    const got: Request[] = [];
    const answer = Response.json({ id: "chatcmpl-1" }, { headers: { "x-gateway-provider": "p" } });
    const env = { PRINCIPAL_VERIFY_JWK: verifyJwk, MODEL_PROXY: { fetch: async (r: Request) => (got.push(r), answer) } };
    const request = proxyHttpRequest({ principalToken: token, requestId: "req_1", operation: "chat" }, body);
    const res = await forwardHttp(env, request);
    expect(res).toBe(answer);
    expect(got).toHaveLength(1);
    expect(got[0]!.bodyUsed).toBe(false);
    expect(await got[0]!.text()).toBe(body);
  });

  it("refuses a token it cannot verify, without calling model-proxy", async () => {
    const a = await keys();
    const b = await keys();
    let called = false;
    const env = { PRINCIPAL_VERIFY_JWK: b.verifyJwk, MODEL_PROXY: { fetch: async () => ((called = true), new Response()) } };
    const res = await forwardHttp(env, proxyHttpRequest({ principalToken: a.token, requestId: "req_1", operation: "chat" }, body));
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("req_1");
    expect(called).toBe(false);
  });

  it("answers 400 naming the operation for a path that is not one, and 503 when model-proxy cannot be reached", async () => {
    const { token, verifyJwk } = await keys();
    const env = {
      PRINCIPAL_VERIFY_JWK: verifyJwk,
      MODEL_PROXY: {
        fetch: async (): Promise<Response> => {
          throw new Error("binding down");
        },
      },
    };
    const wrong = new Request("https://proxy.internal/images", { method: "POST", headers: { "x-gateway-principal-token": token, "x-request-id": "r1" }, body });
    const bad = await forwardHttp(env, wrong);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("operation");
    const down = await forwardHttp(env, proxyHttpRequest({ principalToken: token, requestId: "r1", operation: "embeddings" }, body));
    expect(down.status).toBe(503);
    expect(await down.text()).not.toContain("binding down");
  });
});
