export * from "./messages-request";
export * from "./errors";
export * from "./usage";
export * from "./estimate";
