export * from "./common";
export * from "./chat";
export * from "./completions";
export * from "./embeddings";
export * from "./responses";
export * from "./estimate";
export * from "./sse-frames";
export * from "./sse-splitter";
