// The console: a single page over /console/api/* (workers/gateway/src/console/routes.ts). Every
// permission is enforced by the API; this page only hides what the user's role cannot do. It reads
// usage from the usage API's own answers (billing's D1 rollups) and draws it with uPlot, served
// from this origin. Text from the API is always set as text, never parsed as HTML.
/* global uPlot */
"use strict";

const state = { session: null, tenants: [] };
const main = document.getElementById("main");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && state.session) headers["x-csrf-token"] = state.session.csrf_token;
  const res = await fetch(`/console/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error(data?.error?.message ?? `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function roleIn(tenantId) {
  if (state.session?.user.operator) return "owner";
  return state.session?.user.memberships.find((m) => m.tenant_id === tenantId)?.role ?? null;
}

const PAGES = [
  ["overview", "Overview"],
  ["requests", "Requests"],
  ["keys", "Keys"],
  ["members", "Members"],
  ["providers", "Providers"],
  ["batches", "In flight"],
  ["invoices", "Invoices"],
];

function header(route, tenantId) {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  nav.replaceChildren();
  who.replaceChildren();
  if (!state.session) return;
  if (tenantId) {
    const select = el("select", { id: "tenant", "aria-label": "Tenant", on: { change: (e) => (location.hash = `#/t/${e.target.value}/${route}`) } });
    for (const t of state.tenants) select.append(el("option", { value: t.tenant_id, selected: t.tenant_id === tenantId }, t.tenant_name));
    nav.append(select, " ");
    for (const [page, label] of PAGES) {
      nav.append(el("a", { href: `#/t/${tenantId}/${page}`, class: page === route ? "active" : null }, label));
    }
  }
  if (state.session.user.operator) nav.append(el("a", { href: "#/platform", id: "nav-platform", class: route === "platform" ? "active" : null }, "All tenants"));
  const u = state.session.user;
  who.append(`${u.name} <${u.email}>${u.operator ? " · operator" : ""}`, el("button", { id: "logout", on: { click: logout } }, "Sign out"));
}

async function logout() {
  await api("/logout", { method: "POST" });
  state.session = null;
  location.hash = "#/login";
}

function loginPage(message) {
  header();
  const error = el("p", { class: "error", role: "alert" }, message ?? "");
  const form = el(
    "form",
    { class: "card", id: "login" },
    el("h2", {}, "Sign in"),
    el("label", {}, "Email ", el("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    el("label", {}, "Password ", el("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    el("button", { type: "submit" }, "Sign in"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      state.session = await api("/login", { method: "POST", body: { email: f.get("email"), password: f.get("password") } });
      location.hash = "#/";
      await route();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  show(form);
}

function invitePage(token) {
  header();
  const error = el("p", { class: "error", role: "alert" });
  const form = el(
    "form",
    { class: "card", id: "invite" },
    el("h2", {}, "Accept your invitation"),
    el("label", {}, "Name ", el("input", { name: "name", required: true })),
    el("label", {}, "Password (12 characters or more) ", el("input", { name: "password", type: "password", autocomplete: "new-password", minlength: 12, required: true })),
    el("button", { type: "submit" }, "Join"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      state.session = await api("/invites/accept", { method: "POST", body: { token, name: f.get("name"), password: f.get("password") } });
      location.hash = "#/";
    } catch (err) {
      error.textContent = err.message;
    }
  });
  show(form);
}

const HOUR = 3600;
const fmtInt = (n) => n.toLocaleString("en-US");
const fmtUsd = (micros) => (micros / 1e6).toFixed(6);
const fmtPct = (r) => `${(r * 100).toFixed(2)}%`;
const fmtMs = (ms) => (ms === null ? "–" : `${Math.round(ms)} ms`);

function chart(title, id, xs, ys) {
  // data-total: the sum of what is plotted (exact for counts), so a reader can check a chart against the figures.
  const box = el("section", { class: "card chart", id, "data-total": ys.reduce((a, b) => a + b, 0), "data-points": ys.length });
  box.append(el("h3", {}, title));
  show.pending.push(() => {
    new uPlot(
      { width: Math.min(1000, main.clientWidth - 40), height: 200, series: [{}, { label: title, stroke: "#3867d6", fill: "rgba(56,103,214,0.12)" }], axes: [{}, {}] },
      [xs, ys],
      box,
    );
  });
  return box;
}
show.pending = [];

/** The last 24 hours, on the hour grid the report (and the usage API) buckets by. */
function window24h() {
  const now = Math.floor(Date.now() / 1000);
  return Math.floor(now / HOUR) * HOUR - 23 * HOUR;
}

/** One summary figure: the exact number in data-value (what tests and scripts read), formatted for people. */
const figure = (label, id, value, text) => el("div", {}, label, el("b", { id, "data-value": value ?? "" }, text));

function totalsOf(report) {
  const t = report.totals;
  return el(
    "div",
    { class: "totals", id: "totals", "data-start-time": report.start_time, "data-end-time": report.end_time },
    figure("Requests", "total-requests", t.requests, fmtInt(t.requests)),
    figure("Tokens", "total-tokens", t.total_tokens, fmtInt(t.total_tokens)),
    figure("Cost (USD)", "total-cost", t.cost_usd_micros, fmtUsd(t.cost_usd_micros)),
    figure("Error rate", "error-rate", t.error_rate, fmtPct(t.error_rate)),
    figure("p50 latency", "latency-p50", t.latency_p50_ms, fmtMs(t.latency_p50_ms)),
    figure("p95 latency", "latency-p95", t.latency_p95_ms, fmtMs(t.latency_p95_ms)),
  );
}

function breakdown(title, id, rows, name = (r) => r.name || "(none)") {
  return el(
    "section",
    { class: "card" },
    el("h3", {}, title),
    el(
      "table",
      { id },
      el("tr", {}, el("th", {}, title.replace(/^By /, "")), el("th", {}, "Requests"), el("th", {}, "Errors"), el("th", {}, "Tokens"), el("th", {}, "Cost (USD)")),
      rows.map((r) =>
        el(
          "tr",
          { "data-name": r.name, "data-requests": r.requests, "data-tokens": r.total_tokens, "data-cost-micros": r.cost_usd_micros },
          el("td", {}, name(r)),
          el("td", {}, fmtInt(r.requests)),
          el("td", {}, fmtInt(r.errors)),
          el("td", {}, fmtInt(r.total_tokens)),
          el("td", {}, fmtUsd(r.cost_usd_micros)),
        ),
      ),
    ),
  );
}

function charts(report) {
  const xs = report.series.map((b) => b.start_time);
  return [
    chart("Requests per hour", "chart-requests", xs, report.series.map((b) => b.requests)),
    chart("Tokens per hour", "chart-tokens", xs, report.series.map((b) => b.total_tokens)),
    chart("Cost per hour (µ$)", "chart-cost", xs, report.series.map((b) => b.cost_usd_micros)),
    chart("Error rate per hour (%)", "chart-errors", xs, report.series.map((b) => (b.requests === 0 ? 0 : (100 * b.errors) / b.requests))),
  ];
}

async function overviewPage(tenantId) {
  const report = await api(`/tenants/${tenantId}/report?start_time=${window24h()}&bucket_width=1h&recent=0`);
  show.pending = [];
  show(
    el("h2", {}, "Overview · last 24 hours"),
    totalsOf(report),
    ...charts(report),
    breakdown("By model", "by-model", report.by_model),
    breakdown("By provider", "by-provider", report.by_provider),
    breakdown("By key", "by-key", report.by_key),
  );
  for (const draw of show.pending.splice(0)) draw();
}

/** Operators: every tenant at once, busiest first; each row opens that tenant. */
async function platformPage() {
  const report = await api(`/overview?start_time=${window24h()}&bucket_width=1h&recent=0`);
  show.pending = [];
  const names = new Map(state.tenants.map((t) => [t.tenant_id, t.tenant_name]));
  show(
    el("h2", {}, "All tenants · last 24 hours"),
    totalsOf(report),
    ...charts(report),
    breakdown("By tenant", "by-tenant", report.by_tenant, (r) => el("a", { href: `#/t/${r.name}/overview`, class: "open-tenant" }, names.get(r.name) ?? r.name)),
    breakdown("By model", "by-model", report.by_model),
    breakdown("By provider", "by-provider", report.by_provider),
  );
  for (const draw of show.pending.splice(0)) draw();
}

async function requestsPage(tenantId) {
  const report = await api(`/tenants/${tenantId}/report?start_time=${window24h()}&bucket_width=1h&recent=100`);
  const time = (s) => new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19);
  show(
    el("h2", {}, "Recent requests"),
    el(
      "table",
      { id: "recent" },
      el("tr", {}, ["Time (UTC)", "Request id", "Model", "Provider", "Status", "Attempts", "Latency", "Tokens", "Cost (USD)"].map((h) => el("th", {}, h))),
      report.recent.map((r) =>
        el(
          "tr",
          { "data-request-id": r.request_id, "data-status": r.status, "data-attempts": r.attempts },
          el("td", {}, time(r.created_at)),
          el("td", { class: "mono" }, r.request_id),
          el("td", {}, r.model ?? r.requested_model),
          el("td", {}, r.provider ?? ""),
          el("td", { class: r.status >= 400 ? "status error" : "status" }, String(r.status)),
          el(
            "td",
            { class: "attempts" },
            String(r.attempts),
            r.abandoned_attempts.map((a) => el("div", { class: "attempt" }, `abandoned: ${a.provider ?? "?"}/${a.model ?? "?"} (${a.status})`)),
          ),
          el("td", {}, fmtMs(r.latency_ms)),
          el("td", {}, fmtInt(r.total_tokens)),
          el("td", {}, fmtUsd(r.cost_usd_micros)),
        ),
      ),
    ),
  );
}

async function batchesPage(tenantId) {
  const [list, runs] = await Promise.all([api(`/tenants/${tenantId}/batches`), api(`/tenants/${tenantId}/agent-runs`)]);
  show(
    el("h2", {}, "Batches in flight"),
    el(
      "table",
      { id: "batches" },
      el("tr", {}, ["Batch", "Endpoint", "Status", "Completed", "Failed", "Total"].map((h) => el("th", {}, h))),
      list.data.map((b) =>
        el(
          "tr",
          { "data-batch-id": b.id, "data-status": b.status },
          el("td", { class: "mono" }, b.id),
          el("td", {}, b.endpoint),
          el("td", {}, b.status),
          el("td", {}, fmtInt(b.request_counts?.completed ?? 0)),
          el("td", {}, fmtInt(b.request_counts?.failed ?? 0)),
          el("td", {}, fmtInt(b.request_counts?.total ?? 0)),
        ),
      ),
    ),
    list.data.length === 0 ? el("p", { id: "no-batches" }, "No batch is running.") : null,
    el("h2", {}, "Agent runs in flight"),
    el(
      "table",
      { id: "agent-runs" },
      el("tr", {}, ["Response", "API", "Model", "Status", "Started"].map((h) => el("th", {}, h))),
      runs.data.map((r) =>
        el(
          "tr",
          { "data-response-id": r.id, "data-status": r.status },
          el("td", { class: "mono" }, r.id),
          el("td", {}, r.surface === "agentic" ? "/v1/agentic" : "/v1/responses"),
          el("td", {}, r.model),
          el("td", {}, r.status),
          el("td", {}, new Date(r.created_at * 1000).toISOString().replace("T", " ").slice(0, 19)),
        ),
      ),
    ),
    runs.data.length === 0 ? el("p", { id: "no-agent-runs" }, "No agent run is in flight.") : null,
  );
}

async function invoicesPage(tenantId) {
  const list = await api(`/tenants/${tenantId}/invoices`);
  const month = (s) => new Date(s * 1000).toISOString().slice(0, 7);
  show(
    el("h2", {}, "Invoices"),
    el(
      "table",
      { id: "invoices" },
      el("tr", {}, ["Invoice", "Month", "Status", "Payment", "Subtotal (USD)", "Total (USD)", "Due (USD)"].map((h) => el("th", {}, h))),
      list.data.map((i) =>
        el(
          "tr",
          { "data-invoice-id": i.id, "data-total-micros": i.total_micros },
          el("td", {}, i.number ?? i.id),
          el("td", {}, month(i.period_start)),
          el("td", {}, i.status),
          el("td", {}, i.payment_status),
          el("td", {}, fmtUsd(i.subtotal_micros)),
          el("td", {}, fmtUsd(i.total_micros)),
          el("td", {}, fmtUsd(i.amount_due_micros)),
        ),
      ),
    ),
  );
}

async function membersPage(tenantId) {
  const role = roleIn(tenantId);
  const list = await api(`/tenants/${tenantId}/members`);
  const manage = role === "owner";
  const nodes = [el("h2", {}, "Members")];
  if (manage) {
    const result = el("p", { id: "invite-result" });
    const form = el(
      "form",
      { class: "card", id: "invite-member" },
      el("label", {}, "Email ", el("input", { name: "email", type: "email", required: true })),
      el("label", {}, "Role ", el("select", { name: "role" }, ["viewer", "developer", "admin", "owner"].map((r) => el("option", { value: r }, r)))),
      el("button", { type: "submit" }, "Invite"),
      result,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const invite = await api("/invites", { method: "POST", body: { email: f.get("email"), role: f.get("role"), tenant_id: tenantId } });
      result.replaceChildren("Send this link (shown once): ", el("span", { class: "secret", id: "invite-url" }, invite.url));
    });
    nodes.push(form);
  }
  nodes.push(
    el(
      "table",
      { id: "members" },
      el("tr", {}, el("th", {}, "Name"), el("th", {}, "Email"), el("th", {}, "Role"), el("th", {}, "")),
      list.data.map((m) => {
        const select = el("select", { class: "member-role", "aria-label": "Role", disabled: !manage }, ["owner", "admin", "developer", "viewer"].map((r) => el("option", { value: r, selected: r === m.role }, r)));
        select.addEventListener("change", async () => {
          await api(`/tenants/${tenantId}/members/${m.user_id}`, { method: "PATCH", body: { role: select.value } });
          await membersPage(tenantId);
        });
        return el(
          "tr",
          { "data-user-id": m.user_id, "data-role": m.role },
          el("td", {}, m.name),
          el("td", {}, m.email),
          el("td", {}, select),
          el("td", {}, manage ? el("button", { class: "remove", on: { click: async () => (await api(`/tenants/${tenantId}/members/${m.user_id}`, { method: "DELETE" }), membersPage(tenantId)) } }, "Remove") : ""),
        );
      }),
    ),
  );
  show(...nodes);
}

async function keysPage(tenantId) {
  const role = roleIn(tenantId);
  const me = `user:${state.session.user.id}`;
  const list = await api(`/tenants/${tenantId}/keys?limit=100`);
  const secret = el("div", { id: "new-key" });
  const nodes = [el("h2", {}, "API keys")];
  if (role === "owner" || role === "admin" || role === "developer") {
    const form = el("form", { class: "card", id: "create-key" }, el("label", {}, "Name ", el("input", { name: "name", required: true })), el("button", { type: "submit", id: "create-key-button" }, "Create key"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const created = await api(`/tenants/${tenantId}/keys`, { method: "POST", body: { name: new FormData(form).get("name") } });
      await keysPage(tenantId);
      document.getElementById("new-key").replaceChildren(el("p", {}, "Copy this key now; it is not shown again:"), el("p", { class: "secret", id: "new-key-secret" }, created.key));
    });
    nodes.push(form);
  }
  nodes.push(secret);
  const rows = list.data.map((k) => {
    const mayRevoke = k.status === "active" && (role === "owner" || role === "admin" || (role === "developer" && k.created_by === me));
    return el(
      "tr",
      { "data-key-id": k.id },
      el("td", {}, k.name ?? ""),
      el("td", {}, k.prefix),
      el("td", { class: "status" }, k.status),
      el("td", {}, k.created_by),
      el("td", {}, mayRevoke ? el("button", { class: "revoke", on: { click: async () => (await api(`/keys/${k.id}/revoke`, { method: "POST" }), keysPage(tenantId)) } }, "Revoke") : ""),
    );
  });
  nodes.push(el("table", { id: "keys" }, el("tr", {}, el("th", {}, "Name"), el("th", {}, "Prefix"), el("th", {}, "Status"), el("th", {}, "Created by"), el("th", {}, "")), rows));
  show(...nodes);
}

async function providersPage(tenantId) {
  const [list, circuits] = await Promise.all([api(`/tenants/${tenantId}/providers`), api(`/tenants/${tenantId}/circuits`)]);
  show(
    el("h2", {}, "Providers"),
    el(
      "table",
      { id: "providers" },
      el("tr", {}, el("th", {}, "Name"), el("th", {}, "Type"), el("th", {}, "Base URL"), el("th", {}, "Models")),
      list.data.map((p) => el("tr", {}, el("td", {}, p.name), el("td", {}, p.type), el("td", {}, p.base_url ?? ""), el("td", {}, (p.models ?? []).join(", ")))),
    ),
    el("h2", {}, "Circuit states"),
    el(
      "table",
      { id: "circuits" },
      el("tr", {}, ["Provider", "Model", "Scope", "State", "Since"].map((h) => el("th", {}, h))),
      circuits.data.map((c) =>
        el(
          "tr",
          { "data-provider": c.provider, "data-model": c.model, "data-state": c.state },
          el("td", {}, c.provider),
          el("td", {}, c.model),
          el("td", {}, c.scope),
          el("td", {}, c.state.replace("_", "-")),
          el("td", {}, new Date(c.updated_at * 1000).toISOString().replace("T", " ").slice(0, 19)),
        ),
      ),
    ),
    el("p", {}, "A provider × model not listed has never tripped: its circuit is closed."),
  );
}

async function route() {
  const hash = location.hash || "#/";
  const invite = /^#\/invite\/(inv_[A-Za-z0-9]+)$/.exec(hash);
  if (invite) return invitePage(invite[1]);
  if (!state.session) {
    try {
      state.session = await api("/session");
    } catch {
      return loginPage();
    }
  }
  if (hash === "#/login") location.hash = "#/";
  state.tenants = (await api("/tenants")).data;
  if (location.hash === "#/platform" && state.session.user.operator) {
    header("platform");
    return guarded(platformPage);
  }
  const m = /^#\/t\/([A-Za-z0-9_-]+)\/([a-z]+)$/.exec(location.hash);
  const tenantId = m?.[1] ?? state.tenants[0]?.tenant_id;
  const page = PAGES.some(([p]) => p === m?.[2]) ? m[2] : "overview";
  if (!tenantId) {
    header();
    return show(el("p", {}, "You are not a member of any tenant yet."));
  }
  header(page, tenantId);
  const pages = { overview: overviewPage, requests: requestsPage, keys: keysPage, members: membersPage, providers: providersPage, batches: batchesPage, invoices: invoicesPage };
  return guarded(() => pages[page](tenantId));
}

async function guarded(render) {
  try {
    await render();
  } catch (err) {
    if (err.status === 401) {
      state.session = null;
      return loginPage("Your session has ended. Sign in again.");
    }
    show(el("p", { class: "error", role: "alert" }, err.message));
  }
}

window.addEventListener("hashchange", route);
route();
