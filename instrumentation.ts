export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    try {
      // First: every request the server hands to Next must pass these hooks (peer address, malformed paths).
      const { installServerHooks } = await import("./server/server-hooks");
      installServerHooks();
      const { boundHeapGrowth } = await import("./server/heap-growth");
      boundHeapGrowth();
      const { boot } = await import("./server/boot");
      await boot();
    } catch (error) {
      // A server that cannot boot (a bad setting, no database) must not stay up answering 500 to everything.
      console.error(`Wire could not start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  }
}
