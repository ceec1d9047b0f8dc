export interface LocalSecrets {
  ADMIN_TOKEN: string;
  PRINCIPAL_SIGNING_JWK: string;
  PRINCIPAL_VERIFY_JWK: string;
  GATEWAY_SIGNING_JWK: string;
  GATEWAY_VERIFY_JWK: string;
  MASTER_KEYS: string;
}
export function generateLocalSecrets(options?: { adminToken?: string }): Promise<LocalSecrets>;
export function secretsFor(workerName: string, secrets: LocalSecrets): Record<string, string>;
