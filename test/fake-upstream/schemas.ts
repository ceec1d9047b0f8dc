import ts from "typescript";

/**
 * The top-level request fields each real API accepts, read from the installed vendor SDKs'
 * declaration files at test time (TypeScript's compiler API, the create-params interface with
 * everything it inherits), so the strict fake follows the SDK version the project installs
 * instead of a hand-kept list. The SDKs are generated from the vendors' own API specifications
 * (OpenAI's OpenAPI document, Anthropic's and Google's API definitions), which is what the real
 * servers validate against. The packages: `openai`, `@anthropic-ai/sdk`, `@google/generative-ai`,
 * `@google/genai` (devDependencies).
 *
 * A property whose documentation says `Header param:` / `Query param:` / `Path param:` (Anthropic's
 * generated SDK marks them) travels outside the body and is not a body field.
 */

const NODE_MODULES = new URL("../../node_modules/", import.meta.url);

/** Where each interface is declared, by package-relative path. */
const SOURCES = {
  openaiChat: ["openai/resources/chat/completions/completions.d.ts", "ChatCompletionCreateParamsBase"],
  openaiCompletions: ["openai/resources/completions.d.ts", "CompletionCreateParamsBase"],
  openaiEmbeddings: ["openai/resources/embeddings.d.ts", "EmbeddingCreateParams"],
  anthropicMessages: ["@anthropic-ai/sdk/resources/messages/messages.d.ts", "MessageCreateParamsBase"],
  anthropicBetaMessages: ["@anthropic-ai/sdk/resources/beta/messages/messages.d.ts", "MessageCreateParamsBase"],
  anthropicCountTokens: ["@anthropic-ai/sdk/resources/messages/messages.d.ts", "MessageCountTokensParams"],
  anthropicBetaCountTokens: ["@anthropic-ai/sdk/resources/beta/messages/messages.d.ts", "MessageCountTokensParams"],
  // Gemini: the REST body of generateContent as the older SDK sends it (the current @google/genai
  // has no type for the wire body), and generationConfig from the current SDK, which types fields
  // the older one predates (thinkingConfig, seed, responseJsonSchema).
  geminiGenerate: ["@google/generative-ai/dist/generative-ai.d.ts", "GenerateContentRequest"],
  geminiBatchEmbed: ["@google/generative-ai/dist/generative-ai.d.ts", "BatchEmbedContentsRequest"],
  geminiGenerationConfig: ["@google/genai/dist/genai.d.ts", "GenerationConfig"],
} as const;

export type SchemaName = keyof typeof SOURCES;

const NOT_BODY = /^(Header|Query|Path) param:/;

let cache: Record<SchemaName, ReadonlySet<string>> | null = null;

/** The body fields of each request type (computed once per process: one compiler program). */
export function requestFields(name: SchemaName): ReadonlySet<string> {
  return loadSchemas()[name];
}

/** Reads the SDKs now (a few seconds), so no request waits on it: a waiting request could outlast a short upstream timeout. */
export function loadSchemas(): Record<SchemaName, ReadonlySet<string>> {
  cache ??= readAll();
  return cache;
}

function readAll(): Record<SchemaName, ReadonlySet<string>> {
  const files = [...new Set(Object.values(SOURCES).map(([file]) => new URL(file, NODE_MODULES).pathname))];
  // Only the declaring files: the fields are named there (inherited ones in the same file), so
  // neither imports nor the standard library need reading (keeps this well under a second).
  const program = ts.createProgram(files, { noEmit: true, noLib: true, noResolve: true, types: [] });
  const checker = program.getTypeChecker();
  const out = {} as Record<SchemaName, ReadonlySet<string>>;
  for (const [name, [file, typeName]] of Object.entries(SOURCES) as [SchemaName, readonly [string, string]][]) {
    const source = program.getSourceFile(new URL(file, NODE_MODULES).pathname);
    if (!source) throw new Error(`strict fake upstream: ${file} is not installed`);
    const declaration = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === typeName);
    if (!declaration) throw new Error(`strict fake upstream: ${file} declares no interface ${typeName}`);
    const fields = new Set<string>();
    for (const property of checker.getPropertiesOfType(checker.getTypeAtLocation(declaration.name))) {
      const doc = ts.displayPartsToString(property.getDocumentationComment(checker)).trim();
      if (!NOT_BODY.test(doc)) fields.add(property.name);
    }
    if (fields.size === 0) throw new Error(`strict fake upstream: ${typeName} in ${file} has no fields`);
    out[name] = fields;
  }
  return out;
}
