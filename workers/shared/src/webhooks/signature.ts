import { fromBase64, toBase64, utf8 } from "../bytes";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/), the format OpenAI's own webhooks
 * use and the `openai` SDK's `webhooks.unwrap` verifies:
 *
 * - `webhook-id`: the message id, the same on every retry (receivers de-duplicate on it);
 * - `webhook-timestamp`: unix seconds of this attempt (receivers refuse ones over 5 min old, so a
 *   retry is signed afresh with its own timestamp);
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the
 *   base64-decoded part of a `whsec_<base64>` secret.
 *
 * One signer for every webhook the gateway sends: tenant events (batches, billing alerts) and, later,
 * the agentic `webhook` tools.
 */
export const WEBHOOK_SECRET_PREFIX = "whsec_";
/** 32 random bytes: the spec asks for 24 to 64; the same strength as the HMAC's SHA-256. */
export const WEBHOOK_SECRET_BYTES = 32;

/** A fresh signing secret, `whsec_<base64 of 32 random bytes>`. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(WEBHOOK_SECRET_BYTES)));
}

/** Is `secret` a well-formed `whsec_` secret of the expected length? */
export function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return false;
  try {
    return fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length)).length === WEBHOOK_SECRET_BYTES;
  } catch {
    return false;
  }
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  if (!isWebhookSecret(secret)) throw new Error("not a whsec_ webhook secret");
  const raw = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** `v1,<base64 signature>` of `<id>.<timestamp>.<body>`. */
export async function webhookSignature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), utf8(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

export interface SignedWebhook {
  /** The headers to send with `body`, exactly as given (the signature covers its bytes). */
  headers: Record<"content-type" | "webhook-id" | "webhook-timestamp" | "webhook-signature", string>;
}

/** The headers of one delivery attempt of `body` (JSON text) under message id `id`. */
export async function signWebhook(input: { secret: string; id: string; body: string; timestamp: number }): Promise<SignedWebhook> {
  const timestamp = Math.floor(input.timestamp);
  return {
    headers: {
      "content-type": "application/json",
      "webhook-id": input.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await webhookSignature(input.secret, input.id, timestamp, input.body),
    },
  };
}
