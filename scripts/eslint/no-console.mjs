/**
 * `local/no-console`: Worker code logs through the one structured logger
 * (`workers/shared/src/log.ts`: fixed fields, secrets scrubbed), never `console` directly — a
 * hand-built line can carry a prompt, a header map or a key that the logger would have dropped.
 *
 * Reported: any use of the global `console` (`console.log(…)`, `console["error"]`, `const c =
 * console`, `globalThis.console`). A local variable named `console` is not the global and is
 * left alone. The logger itself is the one file the config exempts.
 */
export const noConsole = {
  meta: {
    type: "problem",
    docs: { description: "Worker code logs through workers/shared/src/log.ts, not console" },
    messages: { console: "Use the structured logger (workers/shared/src/log.ts: log.info/warn/error) instead of console." },
    schema: [],
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const isGlobal = (node) => {
      let scope = sourceCode.getScope(node);
      while (scope) {
        const found = scope.set.get("console");
        if (found && found.defs.length > 0) return false;
        scope = scope.upper;
      }
      return true;
    };
    return {
      Identifier(node) {
        if (node.name !== "console") return;
        const parent = node.parent;
        // `x.console` is a property, not the global — except `globalThis.console` / `self.console`.
        if (parent?.type === "MemberExpression" && parent.property === node && !parent.computed) {
          const obj = parent.object;
          if (obj.type === "Identifier" && ["globalThis", "self", "window"].includes(obj.name)) context.report({ node, messageId: "console" });
          return;
        }
        // Object keys (`{ console: 1 }`) and declarations are not uses.
        if (parent?.type === "Property" && parent.key === node && !parent.computed && !parent.shorthand) return;
        if ((parent?.type === "VariableDeclarator" && parent.id === node) || parent?.type === "ImportSpecifier") return;
        if (isGlobal(node)) context.report({ node, messageId: "console" });
      },
    };
  },
};
