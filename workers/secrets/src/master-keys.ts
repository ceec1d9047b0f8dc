import { z } from "zod";
import { fromBase64 } from "../../shared/src/bytes";

/**
 * The versioned master keys from the `MASTER_KEYS` Worker secret:
 * `{"current":"2","keys":{"1":"<base64 32 bytes>","2":"<base64 32 bytes>"}}`.
 *
 * New data keys are always wrapped under `current`; every version still listed keeps decrypting, so
 * rotating the master key is: add a version and make it current (deploy the secret), run the
 * re-wrap, then drop the old version once nothing is wrapped under it any more.
 */
export interface MasterKeyRing {
  current: string;
  keys: ReadonlyMap<string, CryptoKey>;
}

const VersionSchema = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, "a version is 1-32 characters of [A-Za-z0-9._-]");
const MasterKeysSchema = z
  .object({
    current: z.union([VersionSchema, z.number().int().nonnegative().transform(String)]),
    keys: z.record(VersionSchema, z.string()),
  })
  .strict();

/** Raised when the secret is missing or malformed. Its message names the problem, never key material. */
export class MasterKeyError extends Error {
  override readonly name = "MasterKeyError";
}

let cached: { raw: string; ring: Promise<MasterKeyRing> } | undefined;

/** Parses and imports the key ring once per isolate (and again only if the secret text changes). */
export function masterKeyRing(raw: string | undefined): Promise<MasterKeyRing> {
  if (!raw) return Promise.reject(new MasterKeyError("MASTER_KEYS is not set."));
  if (cached?.raw !== raw) {
    const ring = importKeyRing(raw);
    // Keyed by the secret's text: a corrected secret is different text and is imported afresh.
    cached = { raw, ring };
  }
  return cached.ring;
}

export async function importKeyRing(raw: string): Promise<MasterKeyRing> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new MasterKeyError('MASTER_KEYS is not JSON; expected {"current":"<version>","keys":{"<version>":"<base64 32-byte key>"}}.');
  }
  const parsed = MasterKeysSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MasterKeyError(`MASTER_KEYS is malformed at '${issue.path.join(".") || "(root)"}': ${issue.message}.`);
  }
  const { current, keys } = parsed.data;
  if (!(current in keys)) throw new MasterKeyError(`MASTER_KEYS names current version '${current}' but has no key for it.`);
  const imported = new Map<string, CryptoKey>();
  for (const [version, b64] of Object.entries(keys)) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = fromBase64(b64);
    } catch {
      throw new MasterKeyError(`MASTER_KEYS key version '${version}' is not valid base64.`);
    }
    if (bytes.length !== 32) throw new MasterKeyError(`MASTER_KEYS key version '${version}' must be 32 bytes (AES-256), got ${bytes.length}.`);
    imported.set(version, await crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]));
  }
  return { current, keys: imported };
}
