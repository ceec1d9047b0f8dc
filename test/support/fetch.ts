import type { Stack } from "./stack";

/**
 * The one fetch wrapper for system tests that call the gateway's HTTP API directly (where no SDK
 * is the user's client): the URL, the Bearer token (a tenant key or the admin token) and a JSON
 * body are set here, so a test only writes what is special about its request.
 */

export interface GatewayFetchInit {
  /** Bearer token: a tenant API key (or any string a test wants to try). */
  key?: string;
  /** Send the stack's admin token as the Bearer token. */
  admin?: boolean;
  /** Defaults to POST with a body, GET without. */
  method?: string;
  /** Sent as JSON (with `content-type: application/json`). */
  body?: unknown;
  /** Sent as-is, for malformed or non-JSON bodies (set `content-type` in `headers` if needed). */
  rawBody?: string;
  /** Added last: they override the defaults above. */
  headers?: Record<string, string>;
}

export async function gatewayFetch(
  stack: Pick<Stack, "url"> & Partial<Pick<Stack, "adminToken">>,
  path: string,
  init: GatewayFetchInit = {},
): Promise<Response> {
  if (init.admin && !stack.adminToken) throw new Error("gatewayFetch: admin needs the stack's adminToken");
  const token = init.admin ? stack.adminToken : init.key;
  const hasBody = init.body !== undefined || init.rawBody !== undefined;
  return fetch(`${stack.url}${path}`, {
    method: init.method ?? (hasBody ? "POST" : "GET"),
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...init.headers,
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : init.rawBody,
  });
}
