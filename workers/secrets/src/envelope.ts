import { fromBase64, toBase64, utf8 } from "../../shared/src/bytes";
import type { MasterKeyRing } from "./master-keys";

/**
 * Envelope encryption of one credential.
 *
 * The plaintext is encrypted with its own random AES-256-GCM data key; the data key is encrypted
 * ("wrapped") with the current master key. Both encryptions use a fresh 96-bit IV and additional
 * authenticated data naming the credential id, so a ciphertext copied onto another id (or a wrapped
 * key copied between versions) fails authentication instead of decrypting. Re-wrapping under a new
 * master key touches only the wrapped data key; the plaintext is never exposed to do it.
 */
export interface Envelope {
  /** Format version of this record, so the layout can evolve. */
  f: 1;
  /** Master key version that wrapped the data key. */
  v: string;
  /** IV and ciphertext of the wrapped data key. */
  wiv: string;
  wdk: string;
  /** IV and ciphertext (with GCM tag) of the credential. */
  iv: string;
  ct: string;
}

/** Why a stored credential could not be decrypted. Messages are safe to show: they hold no key material. */
export class DecryptError extends Error {
  override readonly name = "DecryptError";
  constructor(
    readonly reason: "tampered" | "unknown_version" | "malformed",
    message: string,
  ) {
    super(message);
  }
}

const IV_BYTES = 12;
const dataAad = (id: string) => utf8(`credential:${id}`);
const wrapAad = (id: string, version: string) => utf8(`data-key:${id}:${version}`);

export async function seal(id: string, plaintext: string, ring: MasterKeyRing): Promise<Envelope> {
  const dataKeyBytes = crypto.getRandomValues(new Uint8Array(32));
  const dataKey = await crypto.subtle.importKey("raw", dataKeyBytes, "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: dataAad(id) }, dataKey, utf8(plaintext));
  const wrapped = await wrap(id, dataKeyBytes, ring, ring.current);
  dataKeyBytes.fill(0);
  return { f: 1, v: ring.current, ...wrapped, iv: toBase64(iv), ct: toBase64(new Uint8Array(ct)) };
}

export async function open(id: string, envelope: Envelope, ring: MasterKeyRing): Promise<string> {
  const dataKeyBytes = await unwrap(id, envelope, ring);
  const dataKey = await crypto.subtle.importKey("raw", dataKeyBytes, "AES-GCM", false, ["decrypt"]);
  dataKeyBytes.fill(0);
  try {
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: decode(envelope.iv, id), additionalData: dataAad(id) }, dataKey, decode(envelope.ct, id));
    return new TextDecoder().decode(pt);
  } catch (err) {
    if (err instanceof DecryptError) throw err;
    throw tampered(id);
  }
}

/** Re-wraps the data key under the current master key; the credential ciphertext is unchanged. */
export async function rewrap(id: string, envelope: Envelope, ring: MasterKeyRing): Promise<Envelope> {
  const dataKeyBytes = await unwrap(id, envelope, ring);
  const wrapped = await wrap(id, dataKeyBytes, ring, ring.current);
  dataKeyBytes.fill(0);
  return { ...envelope, v: ring.current, ...wrapped };
}

/** Parses a stored record; anything that is not a well-formed envelope is reported as such. */
export function parseEnvelope(id: string, text: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(id);
  }
  const e = value as Partial<Envelope> | null;
  const isText = (x: unknown) => typeof x === "string" && x.length > 0;
  if (!e || e.f !== 1 || ![e.v, e.wiv, e.wdk, e.iv, e.ct].every(isText)) throw malformed(id);
  return e as Envelope;
}

async function wrap(id: string, dataKeyBytes: Uint8Array<ArrayBuffer>, ring: MasterKeyRing, version: string) {
  const master = ring.keys.get(version)!;
  const wiv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const wdk = await crypto.subtle.encrypt({ name: "AES-GCM", iv: wiv, additionalData: wrapAad(id, version) }, master, dataKeyBytes);
  return { wiv: toBase64(wiv), wdk: toBase64(new Uint8Array(wdk)) };
}

async function unwrap(id: string, envelope: Envelope, ring: MasterKeyRing): Promise<Uint8Array<ArrayBuffer>> {
  const master = ring.keys.get(envelope.v);
  if (!master) {
    throw new DecryptError(
      "unknown_version",
      `Credential ${id} is wrapped under master key version '${envelope.v}', which is not in MASTER_KEYS. Restore that version and re-wrap before removing it.`,
    );
  }
  try {
    const raw = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: decode(envelope.wiv, id), additionalData: wrapAad(id, envelope.v) },
      master,
      decode(envelope.wdk, id),
    );
    return new Uint8Array(raw);
  } catch (err) {
    if (err instanceof DecryptError) throw err;
    throw tampered(id);
  }
}

function decode(b64: string, id: string): Uint8Array<ArrayBuffer> {
  try {
    return fromBase64(b64);
  } catch {
    throw malformed(id);
  }
}

const tampered = (id: string) =>
  new DecryptError(
    "tampered",
    `Credential ${id} failed its integrity check and cannot be decrypted: the stored ciphertext was modified or belongs to another credential. Rotate the provider's API key to store it again.`,
  );
const malformed = (id: string) =>
  new DecryptError("malformed", `Credential ${id} is not a readable encrypted record. Rotate the provider's API key to store it again.`);
