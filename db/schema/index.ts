export * from "./auth";
export * from "./organizations";
export * from "./containers";
export * from "./files";
export * from "./engine";
export * from "./connectors";
export * from "./sources";
export * from "./entries";
