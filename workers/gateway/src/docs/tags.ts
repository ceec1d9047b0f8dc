/**
 * The document's tags, in the order `/docs` shows them: the OpenAI-compatible API first (what most
 * readers come for), Anthropic's beside it, then what a tenant manages with its own keys, the
 * platform's public health check, and the admin API last. Every tag an operation uses is listed
 * here (docs/route.test.ts checks it), so none falls to the end unnamed.
 */
export const DOCUMENT_TAGS: { name: string; description: string }[] = [
  {
    name: "openai",
    description:
      "OpenAI's API (`openai`, LangChain, the Vercel AI SDK work with `baseURL` = `<gateway>/v1`). `model` is `<provider>/<model>`, a route alias, or a bare name a provider lists. Authenticate with `Authorization: Bearer <gateway key>`.",
  },
  {
    name: "anthropic",
    description:
      "Anthropic's Messages API (`@anthropic-ai/sdk` works with `baseURL` = `<gateway>`), served by any provider. Authenticate with `x-api-key: <gateway key>`. Errors and 404s are Anthropic-shaped; every answer carries `request-id`.",
  },
  {
    name: "langchain",
    description:
      "The OpenAI routes again under `/v1/langchain` for LangChain clients: usage always returned (streams too), LangChain/LangSmith correlation headers recorded with the usage, and the usage and runs read back.",
  },
  {
    name: "batches",
    description:
      "OpenAI's Files and Batch APIs (the `openai` SDK's `files.*` and `batches.*`): upload a JSONL file, run it as a batch on any provider, read the output and error files. Keys need the `batch` scope.",
  },
  {
    name: "agentic",
    description: "Settings of `/v1/agentic` runs (the Responses API with server-side tools): the domain allow-list of the built-in `http_fetch` tool.",
  },
  { name: "keys", description: "A tenant's own API keys (a key with `keys:write`), never beyond the creating key's own grants." },
  { name: "usage", description: "Metered usage and costs of the key's own tenant (a key with `usage:read`), in OpenAI's Usage and Costs API shapes." },
  {
    name: "invoices",
    description: "The tenant's monthly invoices (a key with `usage:read`): the current draft, finalised ones, printable HTML.",
  },
  { name: "webhooks", description: "A tenant's webhook endpoints (keys with `webhooks:*`): signed deliveries of the tenant's events, retried." },
  {
    name: "providers",
    description: "Upstream providers with encrypted credentials: the platform's (admin token) or a tenant's own (a key with `providers:*`, BYOK).",
  },
  { name: "routes", description: "Model aliases over one or more providers: fallback, weighted or least-latency." },
  { name: "health", description: "Public summary; the full report with the admin token." },
  { name: "admin: tenants", description: "Platform admin (`Authorization: Bearer $ADMIN_TOKEN`): tenants, their limits and budgets." },
  { name: "admin: keys", description: "Platform admin: any tenant's keys." },
  { name: "admin: prices", description: "Platform admin: model prices billing meters with." },
  { name: "admin: usage", description: "Platform admin: usage and costs over every tenant." },
  { name: "admin: invoices", description: "Platform admin: invoices of every tenant, finalisation, credit notes." },
  { name: "admin: audit", description: "Platform admin: the audit log of every change." },
  { name: "admin", description: "Platform admin: credential maintenance (master-key re-wrap)." },
];
