import { z } from "@hono/zod-openapi";
import {
  ApiKeySchema,
  AuditEntrySchema,
  AuditQuerySchema,
  CreatedApiKeySchema,
  KeyCreateSchema,
  KeyRotateSchema,
  KeyUpdateSchema,
  listSchema,
  ListQuerySchema,
  RotatedApiKeySchema,
  TenantCreateSchema,
  TenantSchema,
  TenantUpdateSchema,
} from "../../../shared/src/contracts/auth";

/**
 * The shared auth contract, named for the OpenAPI document. The same schemas validate here (the
 * gateway answers 400 naming `param` before any RPC) and in auth (the callee validates again).
 */
export const Tenant = TenantSchema.openapi("Tenant");
export const TenantList = listSchema(Tenant).openapi("TenantList");
export const TenantCreate = TenantCreateSchema.openapi("TenantCreate");
export const TenantUpdate = TenantUpdateSchema.openapi("TenantUpdate");

export const ApiKey = ApiKeySchema.openapi("ApiKey");
export const ApiKeyList = listSchema(ApiKey).openapi("ApiKeyList");
export const CreatedApiKey = CreatedApiKeySchema.openapi("CreatedApiKey", {
  description: "The new key. `key` is the plaintext secret: it appears in this response only.",
});
export const RotatedApiKey = RotatedApiKeySchema.openapi("RotatedApiKey", {
  description: "The key with its new secret in `key` (shown once); the previous one works until `previous_key_expires_at`.",
});
export const KeyCreate = KeyCreateSchema.openapi("KeyCreate");
export const KeyUpdate = KeyUpdateSchema.openapi("KeyUpdate");
export const KeyRotate = KeyRotateSchema.openapi("KeyRotate");

export const AuditEntry = AuditEntrySchema.openapi("AuditLogEntry");
export const AuditList = listSchema(AuditEntry).openapi("AuditLogList");

export const ListQuery = ListQuerySchema;
export const AuditQuery = AuditQuerySchema;

export const TenantIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "ten_3hVbq9pC1Wm0YfL2xN7aKd" }),
});
export const KeyIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "key_8sJd02LmQp4Xz1Vb6tRc9N" }),
});
