import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { fail, ok, privateWorkerFetch, runChecks, validationError, type Result, type ServiceHealth } from "../../shared/src";
import { RewrapRequestSchema, type CredentialInfo, type RewrapSummary } from "../../shared/src/contracts/providers";
import { DecryptError } from "./envelope";
import { MasterKeyError, masterKeyRing } from "./master-keys";
import { isCredentialRef, Vault } from "./vault";
import { errorMessage, log } from "../../shared/src/log";
export { WebhookSecrets } from "./webhook-secrets";

const RefSchema = z.string().refine(isCredentialRef, "is not a credential reference");
const PlaintextSchema = z.string().min(1).max(8192);
const StoreSchema = z.object({ provider: z.string().min(1).max(200), plaintext: PlaintextSchema }).strict();
const RotateSchema = z.object({ ref: RefSchema, plaintext: PlaintextSchema }).strict();

/**
 * secrets: provider credentials, encrypted at rest (AES-256-GCM envelopes under a versioned master
 * key, see envelope.ts). Only model-proxy is bound to it, so `reveal` has exactly one caller.
 * Every method validates its input and returns a `Result`; errors never contain key material.
 */
export class SecretsService extends WorkerEntrypoint<SecretsEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("secrets", {
      kv: () => this.env.SECRETS.get("health:probe"),
      master_key: () => masterKeyRing(this.env.MASTER_KEYS),
    });
  }

  /** Encrypts a new credential; returns its reference (what model-proxy stores in D1). */
  async store(input: { provider: string; plaintext: string }): Promise<Result<CredentialInfo>> {
    const parsed = StoreSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault((vault) => vault.store(parsed.data.provider, parsed.data.plaintext).then(ok));
  }

  /** Replaces the credential behind `ref` (fresh data key and IVs). */
  async rotate(input: { ref: string; plaintext: string }): Promise<Result<CredentialInfo>> {
    const parsed = RotateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault(async (vault) => {
      const info = await vault.rotate(parsed.data.ref, parsed.data.plaintext);
      return info ? ok(info) : notFound(parsed.data.ref);
    });
  }

  /** Decrypts a credential for an upstream call. Only model-proxy can reach this. */
  async reveal(ref: string): Promise<Result<{ plaintext: string; info: CredentialInfo }>> {
    const parsed = RefSchema.safeParse(ref);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault(async (vault) => {
      const found = await vault.reveal(parsed.data);
      return found ? ok(found) : notFound(parsed.data);
    });
  }

  /** Metadata of a credential (last4, rotated_at, version) without decrypting it. */
  async describe(ref: string): Promise<Result<CredentialInfo>> {
    const parsed = RefSchema.safeParse(ref);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault(async (vault) => {
      const info = await vault.describe(parsed.data);
      return info ? ok(info) : notFound(parsed.data);
    });
  }

  async delete(ref: string): Promise<Result<{ deleted: boolean }>> {
    const parsed = RefSchema.safeParse(ref);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault(async (vault) => ok({ deleted: await vault.delete(parsed.data) }));
  }

  /**
   * Master-key rotation: re-wraps one page of credentials under the current master key version.
   * Call with the returned cursor until it is null. Safe while traffic flows: every version still
   * in MASTER_KEYS keeps decrypting, so no request fails while the re-wrap is under way.
   */
  async rewrapAll(input: { cursor?: string | null; limit?: number } = {}): Promise<Result<RewrapSummary>> {
    const parsed = RewrapRequestSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    return this.withVault(async (vault) => {
      const report = await vault.rewrapPage(parsed.data.cursor ?? null, parsed.data.limit ?? 100);
      return ok({ object: "credentials.rewrap" as const, ...report });
    });
  }

  /** Runs an operation with the key ring, turning known failures into clear, secret-free errors. */
  private async withVault<T>(run: (vault: Vault) => Promise<Result<T>>): Promise<Result<T>> {
    try {
      const ring = await masterKeyRing(this.env.MASTER_KEYS);
      return await run(new Vault(this.env.SECRETS, ring));
    } catch (err) {
      if (err instanceof DecryptError || err instanceof MasterKeyError) {
        return fail({ code: "internal_error", message: err.message });
      }
      log.error("secrets", "internal error", { message: errorMessage(err) });
      return fail({ code: "internal_error", message: "The secrets service failed; the operation was not performed." });
    }
  }
}

const notFound = (ref: string): Result<never> => fail({ code: "not_found", message: `No credential ${ref}.` });

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<SecretsEnv>;
