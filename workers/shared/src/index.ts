export * from "./errors";
export * from "./result";
export * from "./ids";
export * from "./health";
export * from "./contracts/principal";
export * from "./private-worker";
export * from "./validation";
