import { z } from "zod";

/**
 * The built-in `http_fetch` tool of `/v1/agentic` runs, and the tenant's domain allow-list it is
 * restricted to (`GET|PUT /v1/agentic/http_fetch/allowlist`; tail owns it: D1 `tail`,
 * migrations/tail/0003). An entry is a host name, matched exactly (`api.example.com`), or
 * `*.` and a suffix, matching every host below it but not the suffix itself (`*.example.com`
 * matches `a.example.com` and `a.b.example.com`, not `example.com`). IP literals are not entries:
 * a tool reaches hosts by name. Every fetch still passes the SSRF guard, on every redirect hop.
 */
export const MAX_ALLOWLIST_DOMAINS = 100;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST = new RegExp(`^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$`);

export const AllowlistDomainSchema = z
  .string()
  .max(253)
  .transform((d) => d.trim().toLowerCase().replace(/\.$/, ""))
  .refine((d) => HOST.test(d), "must be a host name (api.example.com) or '*.' and a domain (*.example.com)")
  .refine((d) => !/^(?:\*\.)?[0-9.]+$/.test(d), "must be a host name, not an IP address");

export const HttpFetchAllowlistUpdateSchema = z
  .object({
    domains: z
      .array(AllowlistDomainSchema)
      .max(MAX_ALLOWLIST_DOMAINS)
      .describe(
        `At most ${MAX_ALLOWLIST_DOMAINS} host names: \`api.example.com\` matches that host exactly, \`*.example.com\` every host below example.com (not example.com itself). An empty list refuses every fetch.`,
      ),
  })
  .strict();
export type HttpFetchAllowlistUpdate = z.infer<typeof HttpFetchAllowlistUpdateSchema>;

export const HttpFetchAllowlistSchema = z.object({
  object: z.literal("http_fetch.allowlist"),
  domains: z.array(z.string()),
  /** Unix seconds; null when the tenant never set one (nothing may be fetched). */
  updated_at: z.number().int().nullable(),
});
export type HttpFetchAllowlist = z.infer<typeof HttpFetchAllowlistSchema>;

/** Whether `hostname` (as `URL.hostname` gives it) is on the allow-list. */
export function hostAllowed(hostname: string, domains: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  return domains.some((d) => (d.startsWith("*.") ? host.endsWith(d.slice(1)) && host.length > d.length - 1 : host === d));
}
