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

/** A request id: taken from a well-formed incoming `x-request-id`, otherwise generated. */
export function requestIdFrom(headers: Headers): string {
  const incoming = headers.get("x-request-id");
  if (incoming && /^[A-Za-z0-9._:-]{8,128}$/.test(incoming)) return incoming;
  return newId("req");
}
