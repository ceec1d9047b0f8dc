import { applyD1Migrations, env as testEnv, type D1Migration } from "cloudflare:test";
import type { Result } from "../../../shared/src";
import type { CredentialInfo } from "../../../shared/src/contracts/providers";
import type { Secrets } from "./providers-admin";

/** model-proxy's bindings in its unit tests, with the D1 schema applied. */
export const env = testEnv as unknown as ModelProxyEnv & { TEST_MIGRATIONS: D1Migration[] };

export async function migrated(): Promise<D1Database> {
  await applyD1Migrations(env.PROXY_DB, env.TEST_MIGRATIONS);
  return env.PROXY_DB;
}

/**
 * A stand-in for the secrets Worker's RPC that keeps plaintexts in a map, so tests can assert what
 * model-proxy asked it to store and that D1 holds only references.
 */
export function fakeSecrets() {
  const plaintexts = new Map<string, string>();
  const calls: string[] = [];
  let n = 0;
  const info = (ref: string, provider: string, plaintext: string): CredentialInfo => ({
    ref,
    version: "1",
    provider,
    last4: plaintext.length >= 16 ? plaintext.slice(-4) : null,
    rotated_at: 1_700_000_000_000 + ++n,
  });
  const api = {
    async store(input: { provider: string; plaintext: string }): Promise<Result<CredentialInfo>> {
      const ref = `cred_${String(++n).padStart(22, "0")}`;
      calls.push(`store:${ref}`);
      plaintexts.set(ref, input.plaintext);
      return { ok: true, value: info(ref, input.provider, input.plaintext) };
    },
    async rotate(input: { ref: string; plaintext: string }): Promise<Result<CredentialInfo>> {
      calls.push(`rotate:${input.ref}`);
      if (!plaintexts.has(input.ref)) return { ok: false, error: { code: "not_found", message: "No credential." } };
      plaintexts.set(input.ref, input.plaintext);
      return { ok: true, value: info(input.ref, "p", input.plaintext) };
    },
    async reveal(ref: string): Promise<Result<{ plaintext: string; info: CredentialInfo }>> {
      calls.push(`reveal:${ref}`);
      const plaintext = plaintexts.get(ref);
      if (plaintext === undefined) return { ok: false, error: { code: "not_found", message: "No credential." } };
      return { ok: true, value: { plaintext, info: info(ref, "p", plaintext) } };
    },
    async delete(ref: string): Promise<Result<{ deleted: boolean }>> {
      calls.push(`delete:${ref}`);
      return { ok: true, value: { deleted: plaintexts.delete(ref) } };
    },
  };
  return { secrets: api as unknown as Secrets, plaintexts, calls };
}
