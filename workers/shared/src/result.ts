import type { ApiErrorInit } from "./errors";

/**
 * Domain results crossing RPC. Thrown errors lose their properties over RPC, so callees return
 * `{ ok: false, error }` and callers decide what to do with it.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiErrorInit };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: ApiErrorInit): Result<never> => ({ ok: false, error });
