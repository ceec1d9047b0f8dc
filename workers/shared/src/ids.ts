/** Random ids with a readable type prefix (`req_…`, `ten_…`, `key_…`). 128 bits of entropy, base62. */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomBase62(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 256 % 62 leaves a small bias; reject bytes >= 248 to keep the alphabet uniform.
  for (let i = 0; out.length < length; i++) {
    if (i >= bytes.length) {
      crypto.getRandomValues(bytes);
      i = 0;
    }
    const b = bytes[i]!;
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

export function newId(prefix: string, length = 22): string {
  return `${prefix}_${randomBase62(length)}`;
}

/**
 * A client's own label for its request: OpenAI's `x-client-request-id`, or the `x-request-id` many
 * clients send. It is kept beside the gateway's id (`client_request_id` on usage) and echoed back,
 * never used as an identity: the gateway's request id is always its own (`newId("req")`), so a
 * client cannot make requests collide in billing, in another tenant's rows or in logs. A value
 * that is not short printable ASCII is ignored.
 */
export function clientRequestIdFrom(headers: Headers): string | null {
  for (const name of CLIENT_REQUEST_ID_HEADERS) {
    const value = headers.get(name);
    if (value !== null && CLIENT_REQUEST_ID.test(value)) return value;
  }
  return null;
}

const CLIENT_REQUEST_ID_HEADERS = ["x-client-request-id", "x-request-id"] as const;
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
