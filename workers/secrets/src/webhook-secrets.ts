import { WorkerEntrypoint } from "cloudflare:workers";
import { z } from "zod";
import { fail, ok, validationError, type Result } from "../../shared/src";
import { WebhookIdSchema } from "../../shared/src/contracts/webhooks";
import { isWebhookSecret } from "../../shared/src/webhooks/signature";
import { DecryptError, open, parseEnvelope, rewrap, seal } from "./envelope";
import { MasterKeyError, masterKeyRing } from "./master-keys";
import { errorMessage, log } from "../../shared/src/log";

/**
 * Webhook signing secrets, encrypted at rest with the same envelope scheme as provider credentials
 * (a fresh AES-256-GCM data key per secret, wrapped under the current version of `MASTER_KEYS`).
 *
 * A separate, narrow entrypoint: tail (the owner of webhook endpoints) is bound to this one only, so
 * it can seal and open webhook secrets but never reach `SecretsService.reveal` and the provider
 * credentials. The envelope is returned to tail and kept in its D1 row beside the endpoint (deleted
 * with it, read with it, strongly consistent), not in KV: a delivery right after registration must
 * find its secret, and KV's reads elsewhere may lag a write by a minute.
 *
 * Each envelope is bound (AES-GCM additional data) to its tenant and endpoint id, so an envelope
 * copied onto another row, or a provider credential's envelope, does not open here. Only `whsec_`
 * secrets are sealed or returned: this is no general decryption oracle.
 */
const OwnerSchema = { tenant_id: z.string().min(1).max(64), endpoint_id: WebhookIdSchema };
const SealSchema = z.object({ ...OwnerSchema, secret: z.string().refine(isWebhookSecret, "is not a whsec_ webhook secret") }).strict();
const OpenSchema = z.object({ ...OwnerSchema, envelope: z.string().min(2).max(4096) }).strict();

/** The envelope's id: its additional authenticated data names tenant and endpoint. */
const envelopeId = (tenantId: string, endpointId: string) => `webhook:${tenantId}:${endpointId}`;

export interface SealedWebhookSecret {
  envelope: string;
}

export interface OpenedWebhookSecret {
  secret: string;
  /**
   * The same secret re-wrapped under the current master key when the stored one is under an older
   * version (the caller stores it in place of the old envelope), else null. So master-key rotation
   * reaches webhook secrets as they are used, without a second re-wrap job.
   */
  rewrapped: string | null;
}

export class WebhookSecrets extends WorkerEntrypoint<SecretsEnv> {
  async seal(input: { tenant_id: string; endpoint_id: string; secret: string }): Promise<Result<SealedWebhookSecret>> {
    const parsed = SealSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const { tenant_id, endpoint_id, secret } = parsed.data;
    return this.#withRing(async (ring) => ok({ envelope: JSON.stringify(await seal(envelopeId(tenant_id, endpoint_id), secret, ring)) }));
  }

  async open(input: { tenant_id: string; endpoint_id: string; envelope: string }): Promise<Result<OpenedWebhookSecret>> {
    const parsed = OpenSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const id = envelopeId(parsed.data.tenant_id, parsed.data.endpoint_id);
    return this.#withRing(async (ring) => {
      const envelope = parseEnvelope(id, parsed.data.envelope);
      const secret = await open(id, envelope, ring);
      if (!isWebhookSecret(secret)) return fail({ code: "internal_error", message: "The stored webhook secret is not a webhook secret." });
      const rewrapped = envelope.v === ring.current ? null : JSON.stringify(await rewrap(id, envelope, ring));
      return ok({ secret, rewrapped });
    });
  }

  async #withRing<T>(run: (ring: Awaited<ReturnType<typeof masterKeyRing>>) => Promise<Result<T>>): Promise<Result<T>> {
    try {
      return await run(await masterKeyRing(this.env.MASTER_KEYS));
    } catch (err) {
      // DecryptError/MasterKeyError messages name ids and versions, never key material.
      if (err instanceof DecryptError || err instanceof MasterKeyError) return fail({ code: "internal_error", message: err.message });
      log.error("secrets", "internal error", { op: "WebhookSecrets", message: errorMessage(err) });
      return fail({ code: "internal_error", message: "The secrets service failed; the operation was not performed." });
    }
  }
}
