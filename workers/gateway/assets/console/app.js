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
    for (const [page, label] of [
      ["overview", "Overview"],
      ["keys", "Keys"],
      ["providers", "Providers"],
    ]) {
      nav.append(el("a", { href: `#/t/${tenantId}/${page}`, class: page === route ? "active" : null }, label));
    }
  }
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

function chart(title, id, xs, ys) {
  const box = el("section", { class: "card chart", id });
  box.append(el("h3", {}, title));
  show.pending.push(() => {
    new uPlot(
      { width: Math.min(1000, main.clientWidth - 40), height: 220, series: [{}, { label: title, stroke: "#3867d6", fill: "rgba(56,103,214,0.12)" }], axes: [{}, {}] },
      [xs, ys],
      box,
    );
  });
  return box;
}
show.pending = [];

async function overviewPage(tenantId) {
  const now = Math.floor(Date.now() / 1000);
  const start = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const q = `start_time=${start}&bucket_width=1h&limit=24`;
  const [usage, byModel, costs] = await Promise.all([
    api(`/tenants/${tenantId}/usage/completions?${q}`),
    api(`/tenants/${tenantId}/usage/completions?${q}&group_by=model`),
    api(`/tenants/${tenantId}/costs?start_time=${start}&limit=2`),
  ]);
  const xs = usage.data.map((b) => b.start_time);
  const sum = (b, f) => b.results.reduce((s, r) => s + f(r), 0);
  const requests = usage.data.map((b) => sum(b, (r) => r.num_model_requests));
  const tokens = usage.data.map((b) => sum(b, (r) => r.input_tokens + (r.output_tokens ?? 0)));
  const micros = costs.data.reduce((s, b) => s + b.results.reduce((t, r) => t + Math.round(r.amount.value * 1e6), 0), 0);
  const total = (xs2) => xs2.reduce((a, b) => a + b, 0);

  const models = new Map();
  for (const b of byModel.data) for (const r of b.results) {
    const m = models.get(r.model) ?? { requests: 0, input: 0, output: 0 };
    m.requests += r.num_model_requests;
    m.input += r.input_tokens;
    m.output += r.output_tokens ?? 0;
    models.set(r.model, m);
  }
  show.pending = [];
  show(
    el("h2", {}, "Overview · last 24 hours"),
    el(
      "div",
      { class: "totals", id: "totals", "data-start-time": start },
      el("div", {}, "Requests", el("b", { id: "total-requests" }, fmtInt(total(requests)))),
      el("div", {}, "Tokens", el("b", { id: "total-tokens" }, fmtInt(total(tokens)))),
      el("div", {}, "Cost (USD)", el("b", { id: "total-cost" }, (micros / 1e6).toFixed(6))),
    ),
    chart("Requests per hour", "chart-requests", xs, requests),
    chart("Tokens per hour", "chart-tokens", xs, tokens),
    el(
      "section",
      { class: "card" },
      el("h3", {}, "By model"),
      el(
        "table",
        { id: "by-model" },
        el("tr", {}, el("th", {}, "Model"), el("th", {}, "Requests"), el("th", {}, "Input tokens"), el("th", {}, "Output tokens")),
        [...models].map(([name, m]) => el("tr", {}, el("td", {}, name), el("td", {}, fmtInt(m.requests)), el("td", {}, fmtInt(m.input)), el("td", {}, fmtInt(m.output)))),
      ),
    ),
  );
  for (const draw of show.pending.splice(0)) draw();
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
  const list = await api(`/tenants/${tenantId}/providers`);
  show(
    el("h2", {}, "Providers"),
    el(
      "table",
      { id: "providers" },
      el("tr", {}, el("th", {}, "Name"), el("th", {}, "Type"), el("th", {}, "Base URL"), el("th", {}, "Models")),
      list.data.map((p) => el("tr", {}, el("td", {}, p.name), el("td", {}, p.type), el("td", {}, p.base_url ?? ""), el("td", {}, (p.models ?? []).join(", ")))),
    ),
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
  const m = /^#\/t\/([A-Za-z0-9_-]+)\/(overview|keys|providers)$/.exec(location.hash);
  const tenantId = m?.[1] ?? state.tenants[0]?.tenant_id;
  const page = m?.[2] ?? "overview";
  if (!tenantId) {
    header();
    return show(el("p", {}, "You are not a member of any tenant yet."));
  }
  header(page, tenantId);
  try {
    if (page === "keys") await keysPage(tenantId);
    else if (page === "providers") await providersPage(tenantId);
    else await overviewPage(tenantId);
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
