/**
 * `local/no-unchecked-rpc-result`: an RPC result is data from another Worker (and a D1 row or a KV
 * value is data from storage), so its type is a promise we wrote, not a fact the runtime checked. A cast (`as T`) or a non-null assertion (`!`)
 * on it turns a contract mismatch between two deployed Workers into a crash far from its cause.
 * Narrow it instead (`if (!res.ok) …`, a zod parse, a typed `Result`).
 *
 * "RPC result": anything derived (through `await`, property access, helper calls such as
 * `unwrap(…)`, or a `const` holding it) from a call on a binding, i.e. a member chain that passes
 * through `env.<UPPER_CASE>` (`env.BILLING.prices()`, `c.env.AUTH.x()`, `this.env.RATE_LIMITER.get(id).acquire()`,
 * `env.AUTH_DB.prepare(…).first()`): every binding's answer crosses a boundary.
 */
const isBinding = (node) =>
  node?.type === "MemberExpression" &&
  !node.computed &&
  /^[A-Z][A-Z0-9_]*$/.test(node.property.name ?? "") &&
  ((node.object.type === "Identifier" && node.object.name === "env") ||
    (node.object.type === "MemberExpression" && !node.object.computed && node.object.property.name === "env"));

/** True if a member/call chain passes through a binding (`env.X`). */
function chainHasBinding(node) {
  for (let n = node; n;) {
    if (isBinding(n)) return true;
    if (n.type === "MemberExpression") n = n.object;
    else if (n.type === "CallExpression") n = n.callee;
    else if (n.type === "ChainExpression") n = n.expression;
    else return false;
  }
  return false;
}

function derivesFromRpc(node, scope, seen = new Set()) {
  if (!node || seen.has(node)) return false;
  seen.add(node);
  switch (node.type) {
    case "AwaitExpression":
    case "TSNonNullExpression":
    case "TSAsExpression":
    case "TSSatisfiesExpression":
      return derivesFromRpc(node.argument ?? node.expression, scope, seen);
    case "ChainExpression":
      return derivesFromRpc(node.expression, scope, seen);
    case "MemberExpression":
      return derivesFromRpc(node.object, scope, seen);
    case "CallExpression":
      if (node.callee.type === "MemberExpression" && chainHasBinding(node.callee)) return true;
      // A helper applied to an RPC result (`unwrap(await env.X.y())`) is still that result.
      if (node.callee.type === "Identifier") return node.arguments.some((a) => derivesFromRpc(a, scope, seen));
      return false;
    case "Identifier": {
      let s = scope;
      while (s) {
        const v = s.set.get(node.name);
        if (v) {
          const def = v.defs[0];
          return v.defs.length === 1 && def.type === "Variable" && def.node.init != null && def.node.id.type === "Identifier"
            ? derivesFromRpc(def.node.init, scope, seen)
            : false;
        }
        s = s.upper;
      }
      return false;
    }
    default:
      return false;
  }
}

export const noUncheckedRpcResult = {
  meta: {
    type: "problem",
    docs: { description: "forbid casts and non-null assertions on results of RPC calls to other Workers" },
    messages: {
      nonNull: "Non-null assertion on an RPC result: narrow it (check `ok`, parse it) instead.",
      cast: "Cast of an RPC result: narrow it (check `ok`, parse it) instead.",
    },
    schema: [],
  },
  create(context) {
    const check = (node, messageId) => {
      if (node.type === "TSAsExpression" && node.typeAnnotation.type === "TSTypeReference" && node.typeAnnotation.typeName.name === "const") return;
      if (derivesFromRpc(node.expression, context.sourceCode.getScope(node))) context.report({ node, messageId });
    };
    return {
      TSNonNullExpression: (node) => check(node, "nonNull"),
      TSAsExpression: (node) => check(node, "cast"),
    };
  },
};
