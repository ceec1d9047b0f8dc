import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import { checkUpstreamUrl, guardedFetch, parseIPv4, parseIPv6, upstreamPolicy } from "./ssrf";

const PRODUCTION = { allowPrivate: false };
const DEV = { allowPrivate: true };

/** Refused in production: [url, words the reason must contain]. */
const FORBIDDEN_IN_PRODUCTION: [string, string][] = [
  ["http://api.openai.com/v1", "must use https"],
  ["ftp://example.com/", "must use https"],
  ["file:///etc/passwd", "must use https"],
  ["https://localhost/v1", "local name"],
  ["https://LOCALHOST./v1", "local name"],
  ["https://api.localhost/v1", "local name"],
  ["https://printer.local/", "local name"],
  ["https://metadata.google.internal/computeMetadata/v1/", "metadata"],
  ["https://metadata.goog/", "metadata"],
  ["https://metadata/", "metadata"],
  ["https://vllm:8000/v1", "single-label"],
  ["https://127.0.0.1/v1", "loopback"],
  ["https://127.1/v1", "loopback"],
  ["https://2130706433/v1", "loopback"],
  ["https://0x7f000001/v1", "loopback"],
  ["https://0x7f.0.0.1/v1", "loopback"],
  ["https://0177.0.0.1/v1", "loopback"],
  ["https://017700000001/v1", "loopback"],
  ["https://0.0.0.0/", "this network"],
  ["https://0/", "this network"],
  ["https://10.0.0.5/", "private"],
  ["https://172.16.0.1/", "private"],
  ["https://172.31.255.255/", "private"],
  ["https://192.168.1.1/", "private"],
  ["https://100.64.0.1/", "carrier-grade NAT"],
  ["https://100.100.100.200/", "carrier-grade NAT"], // Alibaba Cloud metadata
  ["https://169.254.169.254/latest/meta-data/", "metadata"],
  ["https://2852039166/latest/meta-data/", "metadata"], // 169.254.169.254 as one decimal
  ["https://0xa9.0xfe.0xa9.0xfe/", "metadata"],
  ["https://169.254.1.1/", "link-local"],
  ["https://224.0.0.1/", "multicast"],
  ["https://255.255.255.255/", "reserved"],
  ["https://[::1]/v1", "loopback"],
  ["https://[::]/", "unspecified"],
  ["https://[0:0:0:0:0:0:0:1]/", "loopback"],
  ["https://[::ffff:127.0.0.1]/", "loopback"],
  ["https://[::ffff:7f00:1]/", "loopback"],
  ["https://[::ffff:169.254.169.254]/", "metadata"],
  ["https://[::ffff:a9fe:a9fe]/", "metadata"],
  ["https://[::127.0.0.1]/", "loopback"],
  ["https://[64:ff9b::10.0.0.1]/", "NAT64"],
  ["https://[64:ff9b::7f00:1]/", "NAT64"],
  ["https://[64:ff9b::8.8.8.8]/", "NAT64"],
  ["https://[::ffff:0:127.0.0.1]/", "IPv4-translated"], // the parser normalises it to [::ffff:0:7f00:1]
  ["https://[::ffff:0:7f00:1]/", "IPv4-translated"],
  ["https://[0:0:0:0:ffff:0:8.8.8.8]/", "IPv4-translated"],
  ["https://[::ffff:0:169.254.169.254]/", "metadata"],
  ["https://localhost../v1", "local name"],
  ["https://LOCALHOST.../v1", "local name"],
  ["https://127.0.0.1.../v1", "loopback"],
  ["https://metadata.google.internal../", "metadata"],
  ["https://api.example.com:8080/v1", "port 8080"],
  ["https://api.example.com:80/v1", "port 80"],
  ["https://api.example.com:6379/", "port 6379"],
  ["https://[2002:7f00:1::]/", "loopback"],
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "special-purpose"], // Teredo
  ["https://[fd00:ec2::254]/", "metadata"],
  ["https://[fc00::1]/", "unique-local"],
  ["https://[fe80::1]/", "link-local"],
  ["https://[ff02::1]/", "multicast"],
  ["https://127.0.0.1.nip.io/", "address-echo"],
  ["https://10-0-0-1.sslip.io/", "address-echo"],
  ["https://user:pass@api.openai.com/v1", "credentials"],
  ["https://api.openai.com/v1#frag", "fragment"],
  ["not a url", "not a valid absolute URL"],
];

const ALLOWED_IN_PRODUCTION = [
  "https://api.openai.com/v1",
  "https://my-resource.openai.azure.com",
  "https://api.groq.com/openai/v1",
  "https://8.8.8.8/v1",
  "https://[2606:4700:4700::1111]/v1",
  "https://[::ffff:8.8.8.8]/",
  "https://api.example.com:8443/v1",
  "https://api.example.com:443/v1",
];

describe("checkUpstreamUrl in production", () => {
  it.each(FORBIDDEN_IN_PRODUCTION)("refuses %s", (url, reason) => {
    const result = checkUpstreamUrl(url, PRODUCTION);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it.each(ALLOWED_IN_PRODUCTION)("allows %s", (url) => {
    expect(checkUpstreamUrl(url, PRODUCTION)).toMatchObject({ ok: true });
  });
});

describe("checkUpstreamUrl with ALLOW_PRIVATE_UPSTREAMS=true (local development)", () => {
  it.each([
    "http://127.0.0.1:8000/v1",
    "http://localhost:11434/v1",
    "https://[::1]:8000/",
    "http://10.0.0.5/",
    "http://vllm:8000/v1",
    "https://api.example.com:8080/v1",
  ])("allows the local upstream %s", (url) => {
    expect(checkUpstreamUrl(url, DEV)).toMatchObject({ ok: true });
  });

  it.each([
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/",
    "http://[fe80::1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:0:a9fe:a9fe]/",
    "http://[64:ff9b::169.254.169.254]/",
  ])("still refuses the metadata/link-local upstream %s", (url) => {
    expect(checkUpstreamUrl(url, DEV).ok).toBe(false);
  });

  it("is only on when the var is exactly 'true'", () => {
    expect(upstreamPolicy({ ALLOW_PRIVATE_UPSTREAMS: "true" })).toEqual(DEV);
    expect(upstreamPolicy({ ALLOW_PRIVATE_UPSTREAMS: "false" })).toEqual(PRODUCTION);
    expect(upstreamPolicy({ ALLOW_PRIVATE_UPSTREAMS: "1" })).toEqual(PRODUCTION);
    expect(upstreamPolicy({})).toEqual(PRODUCTION);
  });
});

describe("address parsers", () => {
  it.each([
    ["127.0.0.1", 0x7f000001],
    ["2130706433", 0x7f000001],
    ["0x7f.1", 0x7f000001],
    ["0177.0.1", 0x7f000001],
    ["1.2.3", 0x01020003],
    ["256.1.1.1", null],
    ["1.2.3.4.5", null],
    ["4294967296", null],
    ["example.com", null],
    ["1.2.3.x", null],
  ])("parseIPv4(%s)", (host, expected) => {
    expect(parseIPv4(host)).toBe(expected);
  });

  it("parses IPv6 with compression and a trailing IPv4", () => {
    expect([...parseIPv6("::ffff:1.2.3.4")!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect([...parseIPv6("2001:db8::1")!].slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(parseIPv6("1::2::3")).toBeNull();
    expect(parseIPv6("12345::")).toBeNull();
    expect(parseIPv6("fe80::1%eth0")).toBeNull();
  });
});

describe("guardedFetch", () => {
  type Call = { url: string; init: RequestInit };
  /** A fake network: answers each URL from the table and records every request. */
  function network(routes: Record<string, () => Response>) {
    const calls: Call[] = [];
    const fetcher = async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const route = routes[url];
      if (!route) throw new Error(`unexpected fetch ${url}`);
      return route();
    };
    return { calls, fetcher };
  }
  const redirect = (status: number, location: string) => () => new Response(null, { status, headers: { location } });

  it("never lets the runtime follow redirects by itself", async () => {
    const net = network({ "https://api.example.com/v1/chat": () => new Response("ok") });
    await guardedFetch("https://api.example.com/v1/chat", { method: "POST", body: "{}" }, PRODUCTION, net.fetcher);
    expect(net.calls[0]!.init.redirect).toBe("manual");
  });

  it("refuses a redirect to a metadata address and does not request it", async () => {
    const net = network({ "https://api.example.com/v1/chat": redirect(307, "http://169.254.169.254/latest/meta-data/") });
    const error = await guardedFetch("https://api.example.com/v1/chat", { method: "POST", body: "{}" }, PRODUCTION, net.fetcher).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).message).toContain("redirect was not followed");
    expect(net.calls.map((c) => c.url)).toEqual(["https://api.example.com/v1/chat"]);
  });

  it.each(["https://[::ffff:127.0.0.1]/x", "https://2130706433/x", "https://localhost/x", "http://api.example.com/x"])(
    "refuses a redirect to %s in production",
    async (location) => {
      const net = network({ "https://api.example.com/v1": redirect(302, location) });
      await expect(guardedFetch("https://api.example.com/v1", {}, PRODUCTION, net.fetcher)).rejects.toThrow(/redirect was not followed/);
      expect(net.calls).toHaveLength(1);
    },
  );

  it("follows a redirect to a public host, re-sending the body for 307/308 and dropping credentials across hosts", async () => {
    const net = network({
      "https://api.example.com/v1/chat": redirect(308, "https://api2.example.com/v1/chat"),
      "https://api2.example.com/v1/chat": () => new Response("served"),
    });
    const res = await guardedFetch(
      "https://api.example.com/v1/chat",
      { method: "POST", body: '{"a":1}', headers: { authorization: "Bearer sk-secret", "x-custom": "1", "content-type": "application/json" } },
      PRODUCTION,
      net.fetcher,
    );
    expect(await res.text()).toBe("served");
    const second = net.calls[1]!;
    expect(second.init.method).toBe("POST");
    expect(second.init.body).toBe('{"a":1}');
    const headers = new Headers(second.init.headers);
    expect(headers.get("authorization")).toBeNull();
    expect(headers.get("x-custom")).toBeNull();
    expect(headers.get("content-type")).toBe("application/json");
  });

  it("keeps credentials on a same-host redirect", async () => {
    const net = network({
      "https://api.example.com/v1/chat": redirect(307, "/v2/chat"),
      "https://api.example.com/v2/chat": () => new Response("served"),
    });
    await guardedFetch("https://api.example.com/v1/chat", { method: "POST", body: "{}", headers: { authorization: "Bearer k" } }, PRODUCTION, net.fetcher);
    expect(new Headers(net.calls[1]!.init.headers).get("authorization")).toBe("Bearer k");
  });

  it("turns a POST into a GET on 303, as HTTP requires", async () => {
    const net = network({
      "https://api.example.com/a": redirect(303, "https://api.example.com/b"),
      "https://api.example.com/b": () => new Response("b"),
    });
    await guardedFetch("https://api.example.com/a", { method: "POST", body: "{}" }, PRODUCTION, net.fetcher);
    expect(net.calls[1]!.init).toMatchObject({ method: "GET", body: null });
  });

  it("stops after a bounded number of redirects", async () => {
    const net = network({
      "https://a.example.com/": redirect(302, "https://b.example.com/"),
      "https://b.example.com/": redirect(302, "https://a.example.com/"),
    });
    await expect(guardedFetch("https://a.example.com/", {}, PRODUCTION, net.fetcher)).rejects.toThrow(/redirected more than 3 times/);
    expect(net.calls).toHaveLength(4);
  });

  it("refuses the initial URL too", async () => {
    const net = network({});
    await expect(guardedFetch("https://10.0.0.1/v1", {}, PRODUCTION, net.fetcher)).rejects.toThrow(/provider's URL points to a private address/);
    expect(net.calls).toHaveLength(0);
  });
});
