/**
 * `local/no-status-only-test`: a test whose only assertions are on an HTTP status passes for any
 * body — a 400 with the wrong error, a 200 with an empty answer. A test that reads a response
 * must also assert on what the user sees in it (body, headers, stored rows, the upstream's view).
 *
 * Reported: an `it`/`test` whose every `expect(x)` has `x` ending in `.status` (or `.statusCode`).
 * A test about a bodiless answer (204, HEAD) says so with an eslint-disable comment and a reason.
 */
const TEST_NAMES = new Set(["it", "test"]);
const isStatus = (node) => node?.type === "MemberExpression" && !node.computed && ["status", "statusCode"].includes(node.property.name);

/** The argument of `expect(...)` at the root of an `expect(x).toBe(…)` chain, or null. */
function expectArgument(call) {
  if (call.callee.type === "Identifier" && call.callee.name === "expect") return call.arguments[0] ?? null;
  return undefined;
}

export const noStatusOnlyTest = {
  meta: {
    type: "problem",
    docs: { description: "a test must not assert only on a response status" },
    messages: { statusOnly: "This test asserts only a status: also assert the body, headers or stored state the user sees." },
    schema: [],
  },
  create(context) {
    const stack = [];
    const isTestCall = (node) => {
      // it(…), it.concurrent(…), it.each([…])(…)
      const c = node.callee.type === "CallExpression" ? node.callee.callee : node.callee;
      const name = c.type === "Identifier" ? c.name : c.type === "MemberExpression" && c.object.type === "Identifier" ? c.object.name : null;
      return TEST_NAMES.has(name) && node.arguments.some((a) => a.type === "ArrowFunctionExpression" || a.type === "FunctionExpression");
    };
    return {
      CallExpression(node) {
        if (isTestCall(node)) stack.push({ node, expects: 0, statusOnly: 0 });
        const arg = expectArgument(node);
        if (arg === undefined || stack.length === 0) return;
        const top = stack[stack.length - 1];
        top.expects++;
        if (isStatus(arg)) top.statusOnly++;
      },
      "CallExpression:exit"(node) {
        const top = stack[stack.length - 1];
        if (!top || top.node !== node) return;
        stack.pop();
        if (top.expects > 0 && top.expects === top.statusOnly) context.report({ node, messageId: "statusOnly" });
      },
    };
  },
};
