// Stands in for the "server-only" guard under vitest, which is neither a server nor a client bundle.
export {};
