import type { ApiErrorInit, Result } from "../../../shared/src";

/** What the registry needs of the secrets Worker (its `reveal` RPC). */
export interface CredentialSource {
  reveal(ref: string): Promise<Result<{ plaintext: string; info: { rotated_at: number } }>>;
}

/** How long a revealed credential stays in isolate memory. */
export const CREDENTIAL_TTL_MS = 300_000;

/**
 * Revealed provider credentials, in model-proxy's isolate memory only, for a few minutes: the
 * request path calls the secrets Worker only on a cold isolate or after a rotation (the provider
 * row's `rotated_at` no longer matches the cached one). Concurrent reveals of the same credential
 * share one call. Plaintext never leaves this map except into an upstream request's headers.
 */
export class CredentialCache {
  // Resolved plaintexts only (a pending reveal is never shared across requests: workerd ties a
  // promise to its request). Failures are not cached: a fixed credential applies at once.
  private readonly entries = new Map<string, { rotatedAt: number | null; at: number; plaintext: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  async reveal(source: CredentialSource, providerName: string, credential: { ref: string; rotatedAt: number | null }): Promise<Result<string>> {
    const entry = this.entries.get(credential.ref);
    if (entry && entry.rotatedAt === credential.rotatedAt && this.now() - entry.at <= CREDENTIAL_TTL_MS) return { ok: true, value: entry.plaintext };
    const at = this.now();
    const result = await fetchCredential(source, providerName, credential.ref);
    if (result.ok) {
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(credential.ref, { rotatedAt: credential.rotatedAt, at, plaintext: result.value });
    }
    return result;
  }

  forget(ref: string): void {
    this.entries.delete(ref);
  }
}

async function fetchCredential(source: CredentialSource, providerName: string, ref: string): Promise<Result<string>> {
  let result: Awaited<ReturnType<CredentialSource["reveal"]>>;
  try {
    result = await source.reveal(ref);
  } catch {
    return { ok: false, error: unavailable(providerName) };
  }
  if (result.ok) return { ok: true, value: result.value.plaintext };
  if (result.error.code === "not_found") {
    return {
      ok: false,
      error: {
        code: "internal_error",
        message: `The stored credential of provider '${providerName}' is missing; rotate the provider's API key to store it again.`,
      },
    };
  }
  if (result.error.code === "internal_error" && /integrity check|not a readable encrypted record|master key version/.test(result.error.message)) {
    return {
      ok: false,
      error: {
        code: "internal_error",
        message: `The stored credential of provider '${providerName}' cannot be decrypted: ${result.error.message}`,
      },
    };
  }
  return { ok: false, error: unavailable(providerName) };
}

const unavailable = (providerName: string): ApiErrorInit => ({
  code: "service_unavailable",
  message: `The credential of provider '${providerName}' could not be loaded right now. Retry the request.`,
  headers: { "retry-after": "1" },
});

export const credentialCache = new CredentialCache();
