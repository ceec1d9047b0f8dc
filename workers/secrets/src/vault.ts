import { newId } from "../../shared/src/ids";
import type { CredentialInfo } from "../../shared/src/contracts/providers";
import { open, parseEnvelope, rewrap, seal, type Envelope } from "./envelope";
import type { MasterKeyRing } from "./master-keys";

/**
 * KV metadata stored beside each ciphertext: what can be shown or listed without decrypting.
 * `version` is the master key version the data key is wrapped under (what re-wrapping looks for).
 */
export interface CredentialMetadata {
  version: string;
  provider: string;
  last4: string | null;
  /** Epoch ms of the last store/rotate (not changed by re-wrapping: the credential is the same). */
  rotated_at: number;
}

/** Credential ids are opaque references; D1 rows in model-proxy hold only these. */
export const CREDENTIAL_PREFIX = "cred_";
export const isCredentialRef = (ref: string) => /^cred_[0-9A-Za-z]{22}$/.test(ref);

/**
 * The last four characters are shown to help a user tell keys apart, as OpenAI's dashboard does.
 * For short credentials four characters would be a large part of the secret, so nothing is shown.
 */
export function last4Of(plaintext: string): string | null {
  return plaintext.length >= 16 ? plaintext.slice(-4) : null;
}

export interface RewrapReport {
  /** Re-wrapped under the current version by this call. */
  rewrapped: number;
  /** Already under the current version. */
  current: number;
  failed: { ref: string; error: string }[];
  /** Pass back to continue; null when the whole namespace has been visited. */
  cursor: string | null;
}

/** The credential store: envelopes in KV under their ref, metadata beside them. */
export class Vault {
  constructor(
    private readonly kv: KVNamespace,
    private readonly ring: MasterKeyRing,
    private readonly now: () => number = Date.now,
  ) {}

  async store(provider: string, plaintext: string): Promise<CredentialInfo> {
    const ref = newId("cred");
    return this.write(ref, provider, plaintext);
  }

  /** Replaces the credential behind an existing ref (fresh data key and IVs). */
  async rotate(ref: string, plaintext: string): Promise<CredentialInfo | null> {
    const existing = await this.kv.getWithMetadata<CredentialMetadata>(ref);
    if (existing.value === null) return null;
    return this.write(ref, existing.metadata?.provider ?? "unknown", plaintext);
  }

  async reveal(ref: string): Promise<{ plaintext: string; info: CredentialInfo } | null> {
    const found = await this.kv.getWithMetadata<CredentialMetadata>(ref);
    if (found.value === null) return null;
    const envelope = parseEnvelope(ref, found.value);
    const plaintext = await open(ref, envelope, this.ring);
    return { plaintext, info: infoOf(ref, envelope, found.metadata) };
  }

  async describe(ref: string): Promise<CredentialInfo | null> {
    const found = await this.kv.getWithMetadata<CredentialMetadata>(ref);
    if (found.value === null) return null;
    return infoOf(ref, parseEnvelope(ref, found.value), found.metadata);
  }

  async delete(ref: string): Promise<boolean> {
    const found = await this.kv.get(ref);
    if (found === null) return false;
    await this.kv.delete(ref);
    return true;
  }

  /**
   * Re-wraps one page of credentials that are not under the current master key. Old versions keep
   * decrypting throughout, so this runs while traffic flows; call it until `cursor` is null.
   */
  async rewrapPage(cursor: string | null, limit: number): Promise<RewrapReport> {
    const page = await this.kv.list<CredentialMetadata>({ prefix: CREDENTIAL_PREFIX, cursor: cursor ?? undefined, limit });
    const report: RewrapReport = { rewrapped: 0, current: 0, failed: [], cursor: page.list_complete ? null : page.cursor };
    for (const key of page.keys) {
      if (key.metadata?.version === this.ring.current) {
        report.current++;
        continue;
      }
      try {
        const found = await this.kv.getWithMetadata<CredentialMetadata>(key.name);
        if (found.value === null) continue; // deleted meanwhile
        const envelope = parseEnvelope(key.name, found.value);
        if (envelope.v === this.ring.current) {
          report.current++;
          continue;
        }
        const next = await rewrap(key.name, envelope, this.ring);
        // KV has no compare-and-swap. Re-read just before writing so that a rotation that landed
        // while this key was being re-wrapped is not overwritten with the older credential.
        const again = await this.kv.get(key.name);
        if (again !== found.value) continue;
        const metadata: CredentialMetadata = { ...(found.metadata ?? fallbackMetadata(envelope)), version: next.v };
        await this.kv.put(key.name, JSON.stringify(next), { metadata });
        report.rewrapped++;
      } catch (err) {
        report.failed.push({ ref: key.name, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }

  private async write(ref: string, provider: string, plaintext: string): Promise<CredentialInfo> {
    const envelope: Envelope = await seal(ref, plaintext, this.ring);
    const metadata: CredentialMetadata = { version: envelope.v, provider, last4: last4Of(plaintext), rotated_at: this.now() };
    await this.kv.put(ref, JSON.stringify(envelope), { metadata });
    return infoOf(ref, envelope, metadata);
  }
}

function fallbackMetadata(envelope: Envelope): CredentialMetadata {
  return { version: envelope.v, provider: "unknown", last4: null, rotated_at: 0 };
}

function infoOf(ref: string, envelope: Envelope, metadata: CredentialMetadata | null): CredentialInfo {
  const m = metadata ?? fallbackMetadata(envelope);
  return { ref, version: envelope.v, provider: m.provider, last4: m.last4, rotated_at: m.rotated_at };
}
