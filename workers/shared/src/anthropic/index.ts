export * from "./messages-request";
export * from "./errors";
export * from "./estimate";
