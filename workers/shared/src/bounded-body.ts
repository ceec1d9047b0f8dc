import type { ApiErrorInit } from "./errors";

/**
 * Documented limit: the largest non-streamed answer an upstream may send (a tenant's provider can
 * point anywhere). 32 MiB holds a full 2048-input batch of 3072-dimension embeddings in base64
 * (the SDKs' default encoding) and any chat completion; a Worker isolate has 128 MB, and the
 * gateway holds such an answer whole before it sends a byte (so that a larger one is still a 502).
 */
export const MAX_UPSTREAM_JSON_BYTES = 32 * 1024 * 1024;

/** The 502 for an answer larger than `MAX_UPSTREAM_JSON_BYTES`. */
export function upstreamTooLarge(provider: string | null): ApiErrorInit {
  const who = provider ? `provider '${provider}'` : "the provider";
  return {
    code: "upstream_error",
    message: `The answer from ${who} is larger than ${MAX_UPSTREAM_JSON_BYTES} bytes, the gateway's limit for a non-streamed answer.`,
  };
}

/**
 * A body read whole, or null when it is larger than `limit` (then no more of it is read). A
 * declared `content-length` is checked before reading, and one within the limit is read natively
 * in one go (the usual case); a body of undeclared length is counted as it arrives. Throws when the
 * body breaks.
 */
export async function readBoundedBytes(res: Response, limit = MAX_UPSTREAM_JSON_BYTES): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array(0);
  const length = res.headers.get("content-length");
  const declared = length === null ? NaN : Number(length);
  if (declared > limit) {
    res.body.cancel().catch(() => {});
    return null;
  }
  if (Number.isInteger(declared)) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
