import { ApiError } from "./errors";

/**
 * The SSRF guard for user-supplied upstream URLs (a provider's `base_url`).
 *
 * In production an upstream must be `https` on a public address and on port 443 or 8443
 * (`UPSTREAM_PORTS`): no loopback, private, CGNAT, link-local (cloud metadata lives at
 * 169.254.169.254 / fd00:ec2::254), multicast or reserved ranges, written in any form the URL
 * parser accepts (`2130706433`, `0x7f.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`, 6to4 embeddings;
 * IPv4-translated `::ffff:0:0/96` and NAT64 `64:ff9b::/96` addresses are refused whatever they
 * embed), and no names that only resolve inside a network (`localhost`, `localhost..`,
 * `*.internal`, single-label names, IP-echo DNS such as `*.nip.io`).
 *
 * Names are checked, not resolved: a Worker's subrequests leave from Cloudflare's network and
 * cannot reach the operator's private network anyway, so the guard's job is to refuse what is
 * visibly internal and to re-check every redirect hop (`guardedFetch`) — a public URL that
 * redirects to a metadata address is refused at the hop.
 *
 * `allowPrivate` (ALLOW_PRIVATE_UPSTREAMS=true, set by `npm run dev` only) admits http, any port
 * and loopback/private hosts for a local vLLM or Ollama. Link-local and metadata addresses stay
 * refused even then: nothing legitimate is served from them.
 */
export interface UpstreamPolicy {
  allowPrivate: boolean;
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Ports a production upstream may use: 443 (https's default, written or not) and 8443, the usual
 * alternative HTTPS port of self-hosted inference servers behind a proxy. Anything else (an admin
 * port, a database, a cache on a public host) is refused, so a provider cannot be turned into a
 * port scanner of someone else's host.
 */
export const UPSTREAM_PORTS: readonly string[] = ["443", "8443"];

/** The policy a Worker runs with, from its `ALLOW_PRIVATE_UPSTREAMS` var. */
export function upstreamPolicy(env: { ALLOW_PRIVATE_UPSTREAMS?: string }): UpstreamPolicy {
  return { allowPrivate: env.ALLOW_PRIVATE_UPSTREAMS === "true" };
}

/** Checks a user-supplied upstream base URL. The reason is safe to show to the user. */
export function checkUpstreamUrl(input: string, policy: UpstreamPolicy): UrlCheck {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, reason: "is not a valid absolute URL" };
  }
  if (url.protocol !== "https:" && !(policy.allowPrivate && url.protocol === "http:")) {
    return { ok: false, reason: policy.allowPrivate ? "must use http or https" : "must use https" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not contain credentials; put the key in 'api_key'" };
  if (url.hash) return { ok: false, reason: "must not contain a fragment" };
  const refused = refusedHost(url.hostname, policy);
  if (refused) return { ok: false, reason: refused };
  // URL.port is "" for the scheme's default (443 for https; http is refused above in production).
  if (!policy.allowPrivate && url.port !== "" && !UPSTREAM_PORTS.includes(url.port)) {
    return { ok: false, reason: `uses port ${url.port}; upstreams must use port ${UPSTREAM_PORTS.join(" or ")}` };
  }
  return { ok: true, url };
}

/**
 * Why a host (as `URL.hostname` gives it: lower-case, IPv4 canonical, IPv6 in brackets) may not
 * be an upstream, or null if it may.
 */
export function refusedHost(hostname: string, policy: UpstreamPolicy): string | null {
  // Every trailing dot: `localhost..` is still localhost to a resolver that ignores empty labels.
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host === "") return "has no host";
  if (host.startsWith("[")) {
    const bytes = parseIPv6(host.slice(1, -1));
    if (!bytes) return "has an unreadable IPv6 address";
    return classify(classifyIPv6(bytes), policy);
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return classify(classifyIPv4(v4), policy);
  return classify(classifyName(host), policy);
}

type AddressClass = "public" | "private" | "metadata";

function classify(kind: { class: AddressClass; what: string }, policy: UpstreamPolicy): string | null {
  if (kind.class === "public") return null;
  if (kind.class === "private" && policy.allowPrivate) return null;
  return `points to ${kind.what}, which is not allowed for upstreams`;
}

// ---------------------------------------------------------------------------------------------
// IPv4

/**
 * Parses an IPv4 host the way the WHATWG URL parser does (1-4 parts, each decimal, `0x` hex or
 * `0`-prefixed octal), so `2130706433`, `0x7f.1` and `0177.0.0.1` are all 127.0.0.1. Returns the
 * address as a 32-bit number, or null if the host is not an IPv4 literal.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) n = Number(part);
    else return null;
    if (!Number.isFinite(n)) return null;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return null;
  return numbers.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;

/** [network, prefix length, description, class] — the IANA special-purpose registry, reduced. */
const IPV4_RANGES: [number, number, string, AddressClass][] = [
  [v4(169, 254, 169, 254), 32, "a cloud metadata address", "metadata"],
  [v4(169, 254, 0, 0), 16, "a link-local address", "metadata"],
  [v4(0, 0, 0, 0), 8, "the 'this network' range", "private"],
  [v4(10, 0, 0, 0), 8, "a private address", "private"],
  [v4(100, 64, 0, 0), 10, "a carrier-grade NAT address", "private"],
  [v4(127, 0, 0, 0), 8, "a loopback address", "private"],
  [v4(172, 16, 0, 0), 12, "a private address", "private"],
  [v4(192, 0, 0, 0), 24, "an IETF protocol address", "private"],
  [v4(192, 0, 2, 0), 24, "a documentation address", "private"],
  [v4(192, 88, 99, 0), 24, "a 6to4 relay address", "private"],
  [v4(192, 168, 0, 0), 16, "a private address", "private"],
  [v4(198, 18, 0, 0), 15, "a benchmarking address", "private"],
  [v4(198, 51, 100, 0), 24, "a documentation address", "private"],
  [v4(203, 0, 113, 0), 24, "a documentation address", "private"],
  [v4(224, 0, 0, 0), 4, "a multicast address", "private"],
  [v4(240, 0, 0, 0), 4, "a reserved address", "private"],
];

function inRange(addr: number, network: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0;
  return (addr & mask) >>> 0 === (network & mask) >>> 0;
}

export function classifyIPv4(addr: number): { class: AddressClass; what: string } {
  for (const [network, prefix, what, cls] of IPV4_RANGES) {
    if (inRange(addr, network, prefix)) return { class: cls, what };
  }
  return { class: "public", what: "a public address" };
}

// ---------------------------------------------------------------------------------------------
// IPv6

/** Parses an IPv6 literal (without brackets, no zone) into 16 bytes; null if malformed. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.includes("%")) return null;
  let hex = text;
  // A trailing dotted IPv4 (`::ffff:1.2.3.4`) becomes two hex groups (`::ffff:102:304`).
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (lastColon >= 0 && tail.includes(".")) {
    const addr = /^\d{1,3}(\.\d{1,3}){3}$/.test(tail) ? parseIPv4(tail) : null;
    if (addr === null || tail.split(".").some((o) => o.length > 1 && o.startsWith("0"))) return null;
    hex = `${text.slice(0, lastColon + 1)}${(addr >>> 16).toString(16)}:${(addr & 0xffff).toString(16)}`;
  }
  const halves = hex.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...left, ...Array<string>(8 - total).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  }
  return bytes;
}

const allZero = (b: Uint8Array, from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
const v4At = (b: Uint8Array, i: number) => v4(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);

export function classifyIPv6(b: Uint8Array): { class: AddressClass; what: string } {
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, which also covers :: and ::1).
  if (allZero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return embedded(v4At(b, 12));
  if (allZero(b, 0, 12)) {
    if (allZero(b, 12, 15) && (b[15] === 0 || b[15] === 1)) return { class: "private", what: b[15] ? "the IPv6 loopback address" : "the unspecified address" };
    return embedded(v4At(b, 12));
  }
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765 SIIT) and 64:ff9b::/96 (NAT64, RFC 6052) reach an
  // IPv4 host through a translator inside some network, never a public upstream: refused whatever
  // they embed (a metadata address stays a metadata address, refused even in local development).
  if (allZero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return translated(v4At(b, 12), "an IPv4-translated IPv6 address");
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (allZero(b, 4, 12)) return translated(v4At(b, 12), "a NAT64 address");
    return { class: "private", what: "a local-use NAT64 address" }; // 64:ff9b:1::/48
  }
  // 2002::/16 6to4 embeds the IPv4 address in bits 16-47.
  if (b[0] === 0x20 && b[1] === 0x02) return embedded(v4At(b, 2));
  // 2001::/23 IETF protocol assignments (Teredo 2001::/32 embeds an obfuscated IPv4) and 2001:db8::/32 documentation.
  if (b[0] === 0x20 && b[1] === 0x01 && (b[2]! < 0x02 || (b[2] === 0x0d && b[3] === 0xb8))) {
    return { class: "private", what: "an IETF special-purpose IPv6 address" };
  }
  if (b[0] === 0x01 && b[1] === 0x00 && allZero(b, 2, 8)) return { class: "private", what: "a discard-only IPv6 address" };
  if ((b[0]! & 0xfe) === 0xfc) {
    // fd00:ec2::254 is the AWS metadata service over IPv6.
    if (b[0] === 0xfd && b[1] === 0 && b[2] === 0x0e && b[3] === 0xc2 && allZero(b, 4, 14) && b[14] === 0x02 && b[15] === 0x54) {
      return { class: "metadata", what: "a cloud metadata address" };
    }
    return { class: "private", what: "a unique-local (private) IPv6 address" };
  }
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return { class: "metadata", what: "a link-local IPv6 address" };
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return { class: "private", what: "a site-local IPv6 address" };
  if (b[0] === 0xff) return { class: "private", what: "a multicast address" };
  return { class: "public", what: "a public address" };
}

function translated(addr: number, what: string): { class: AddressClass; what: string } {
  return classifyIPv4(addr).class === "metadata" ? { class: "metadata", what: `${what} of a metadata/link-local host` } : { class: "private", what };
}

function embedded(addr: number): { class: AddressClass; what: string } {
  const inner = classifyIPv4(addr);
  return inner.class === "public" ? inner : { class: inner.class, what: `${inner.what} (embedded in IPv6)` };
}

// ---------------------------------------------------------------------------------------------
// Names

const METADATA_NAMES = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"]);
const LOCAL_SUFFIXES = ["localhost", "localdomain", "local", "internal", "intranet", "lan", "home.arpa", "corp"];
/** Wildcard DNS services that answer with the address written in the name (DNS rebinding helpers). */
const ECHO_DNS_SUFFIXES = ["nip.io", "sslip.io", "xip.io", "localtest.me", "lvh.me", "traefik.me", "vcap.me", "lacolhost.com"];

export function classifyName(host: string): { class: AddressClass; what: string } {
  if (METADATA_NAMES.has(host)) return { class: "metadata", what: "a cloud metadata host" };
  const endsWith = (suffix: string) => host === suffix || host.endsWith(`.${suffix}`);
  if (host === "ip6-localhost" || host === "ip6-loopback") return { class: "private", what: "a loopback name" };
  const local = LOCAL_SUFFIXES.find(endsWith);
  if (local) return { class: "private", what: `a local name (.${local})` };
  if (ECHO_DNS_SUFFIXES.some(endsWith)) return { class: "private", what: "an address-echo DNS name; use a real host name" };
  if (!host.includes(".")) return { class: "private", what: "a single-label name that only resolves inside a network" };
  if (!/^[a-z0-9._-]+$/.test(host)) return { class: "private", what: "a host name with unexpected characters" };
  return { class: "public", what: "a public name" };
}

// ---------------------------------------------------------------------------------------------
// Fetch with redirects re-checked

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/**
 * Headers kept when a redirect leaves the original host. Everything else is dropped: credentials
 * (`authorization`, `api-key`, ...) and any provider-specific header that might carry one.
 */
const CROSS_HOST_HEADERS = new Set(["accept", "content-type", "user-agent"]);
export const MAX_UPSTREAM_REDIRECTS = 3;

/**
 * `checkUpstreamUrl`'s verdict (the reason, or null when allowed), remembered per URL and policy in
 * this isolate: a URL's verdict depends on nothing else (names are checked, not resolved), and an
 * upstream call's URL is one of a few per provider, so the hot path parses it once, not per call.
 */
const verdicts = new Map<string, string | null>();
const MAX_VERDICTS = 1_000;

function refusalOf(url: string, policy: UpstreamPolicy): string | null {
  const key = (policy.allowPrivate ? "p " : "- ") + url;
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  const check = checkUpstreamUrl(url, policy);
  const verdict = check.ok ? null : check.reason;
  if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
  verdicts.set(key, verdict);
  return verdict;
}

/**
 * `fetch` for upstream calls: checks the URL, never lets the runtime follow a redirect on its own
 * (`redirect: "manual"`), and re-checks every hop, so a public upstream cannot bounce the gateway
 * to an internal address. Credentials are dropped when a redirect leaves the original host. A
 * refused hop is a 502 `upstream_error` naming the reason (never the URL's secrets).
 */
export async function guardedFetch(
  input: string,
  init: RequestInit,
  policy: UpstreamPolicy,
  fetcher: (url: string, init: RequestInit) => Promise<Response> = (u, i) => fetch(u, i),
): Promise<Response> {
  let url = input;
  let method = (init.method ?? "GET").toUpperCase();
  let body = init.body ?? null;
  const headers = new Headers(init.headers);
  for (let hop = 0; ; hop++) {
    const refused = refusalOf(url, policy);
    if (refused !== null) {
      throw new ApiError({
        code: "upstream_error",
        message: hop === 0 ? `The provider's URL ${refused}.` : `The provider redirected to a URL that ${refused}; the redirect was not followed.`,
      });
    }
    const res = await fetcher(url, { ...init, method, body, headers, redirect: "manual" });
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || !location) return res;
    await res.body?.cancel();
    if (hop >= MAX_UPSTREAM_REDIRECTS) {
      throw new ApiError({ code: "upstream_error", message: `The provider redirected more than ${MAX_UPSTREAM_REDIRECTS} times.` });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new ApiError({ code: "upstream_error", message: "The provider redirected to an invalid URL." });
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      body = null;
      headers.delete("content-type");
      headers.delete("content-length");
    } else if (body instanceof ReadableStream) {
      // A streamed body has been consumed by the first request and cannot be replayed.
      throw new ApiError({ code: "upstream_error", message: "The provider redirected a request whose body cannot be re-sent." });
    }
    const previous = new URL(url);
    const sameHost = next.host === previous.host && (next.protocol === previous.protocol || next.protocol === "https:");
    if (!sameHost) for (const name of [...headers.keys()]) if (!CROSS_HOST_HEADERS.has(name)) headers.delete(name);
    url = next.href;
  }
}
