import { RuleTester } from "eslint";
import tseslint from "typescript-eslint";
import { afterAll, describe, it } from "vitest";
import { noUncheckedRpcResult } from "./rpc-result.mjs";
import { noStatusOnlyTest } from "./status-only.mjs";
import { noConsole } from "./no-console.mjs";

RuleTester.afterAll = afterAll;
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run("no-unchecked-rpc-result", noUncheckedRpcResult, {
  valid: [
    "async function f(env) { const r = await env.BILLING.prices(); if (r.ok) return r.value; }",
    "async function f(c) { const x = await c.env.AUTH.get(); return x satisfies unknown; }",
    "function f(m) { return m.get('a')!; }",
    "const v = ['a'] as const;",
    "async function f(env) { const n = env.count!; return n; }",
  ],
  invalid: [
    { code: "async function f(env) { return (await env.BILLING.prices()) as P[]; }", errors: [{ messageId: "cast" }] },
    { code: "async function f(c) { return unwrap(await c.env.AUTH.createKey(x)) as K; }", errors: [{ messageId: "cast" }] },
    { code: "async function f(env) { const r = await env.SECRETS.reveal(x); return r.value!; }", errors: [{ messageId: "nonNull" }] },
    { code: "async function f(env) { return (await env.RATE_LIMITER.get(id).acquire(x))!.lease; }", errors: [{ messageId: "nonNull" }] },
    { code: "class S { async m() { const p = await this.env.TAIL.run(); return p.data!; } }", errors: [{ messageId: "nonNull" }] },
  ],
});

tester.run("no-status-only-test", noStatusOnlyTest, {
  valid: [
    "it('a', async () => { const res = await fetch(u); expect(res.status).toBe(400); expect(await res.json()).toEqual(b); });",
    "it('b', async () => { expect(await f()).toBe(1); });",
    "it('c', async () => { await helper(); });",
    "describe('d', () => { it('e', () => { expect(x.headers.get('a')).toBe('b'); }); });",
  ],
  invalid: [
    { code: "it('a', async () => { const res = await fetch(u); expect(res.status).toBe(200); });", errors: [{ messageId: "statusOnly" }] },
    { code: "test('b', async () => { expect((await fetch(u)).status).toBe(401); expect(r2.status).toBe(401); });", errors: [{ messageId: "statusOnly" }] },
    { code: "it.each([1])('c', async () => { expect(res.statusCode).toBe(404); });", errors: [{ messageId: "statusOnly" }] },
  ],
});

tester.run("no-console", noConsole, {
  valid: [
    "log.error('gateway', 'failed', { requestId });",
    "function f(console) { console.log('a local, not the global'); }",
    "const o = { console: 1 }; o.console;",
    "import { log } from './log'; log.info('s', 'e');",
  ],
  invalid: [
    { code: "console.log('x');", errors: [{ messageId: "console" }] },
    { code: "console.error(JSON.stringify({ level: 'error', message: 'm' }));", errors: [{ messageId: "console" }] },
    { code: "console['warn']('x');", errors: [{ messageId: "console" }] },
    { code: "const c = console; c.info('x');", errors: [{ messageId: "console" }] },
    { code: "globalThis.console.debug('x');", errors: [{ messageId: "console" }] },
    { code: "promise.catch((err) => console.error(err));", errors: [{ messageId: "console" }] },
  ],
});
