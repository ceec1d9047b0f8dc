import { toBase64 } from "../../shared/src/bytes";

/** A MASTER_KEYS secret with fresh random keys, for tests: `versions` in order, the last one current. */
export function masterKeysSecret(versions: Record<string, Uint8Array>, current: string): string {
  return JSON.stringify({ current, keys: Object.fromEntries(Object.entries(versions).map(([v, k]) => [v, toBase64(k)])) });
}

export const randomKey = () => crypto.getRandomValues(new Uint8Array(32));
