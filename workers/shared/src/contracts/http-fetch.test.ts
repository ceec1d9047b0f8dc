import { describe, expect, it } from "vitest";
import { HttpFetchAllowlistUpdateSchema, hostAllowed } from "./http-fetch";

describe("the http_fetch allow-list", () => {
  it("matches an entry exactly, and '*.suffix' every host below the suffix but not the suffix itself", () => {
    const domains = ["api.example.com", "*.example.org"];
    expect(hostAllowed("api.example.com", domains)).toBe(true);
    expect(hostAllowed("API.example.com.", domains)).toBe(true);
    expect(hostAllowed("example.com", domains)).toBe(false);
    expect(hostAllowed("x.api.example.com", domains)).toBe(false);
    expect(hostAllowed("evilapi.example.com", domains)).toBe(false);
    expect(hostAllowed("a.example.org", domains)).toBe(true);
    expect(hostAllowed("a.b.example.org", domains)).toBe(true);
    expect(hostAllowed("example.org", domains)).toBe(false);
    expect(hostAllowed("evilexample.org", domains)).toBe(false);
    expect(hostAllowed("example.org.evil.com", domains)).toBe(false);
    expect(hostAllowed("anything.com", [])).toBe(false);
  });

  it("takes host names and *.domains, lower-cased; refuses IP literals, bare '*', URLs and more than 100 entries", () => {
    expect(HttpFetchAllowlistUpdateSchema.parse({ domains: ["API.Example.COM.", "*.Example.org"] })).toEqual({ domains: ["api.example.com", "*.example.org"] });
    for (const bad of ["10.0.0.1", "*.10.0.0.1", "*", "*.", "https://example.com", "a..b", "exa mple.com", "*.*.example.com", "[::1]"]) {
      expect(HttpFetchAllowlistUpdateSchema.safeParse({ domains: [bad] }).success, bad).toBe(false);
    }
    expect(HttpFetchAllowlistUpdateSchema.safeParse({ domains: Array.from({ length: 101 }, (_, i) => `h${i}.example.com`) }).success).toBe(false);
  });
});
