export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    try {
      // First: the socket address must be recorded on every request the server will hand to Next.
      const { recordPeerAddresses } = await import("./server/client-address");
      recordPeerAddresses();
      const { boot } = await import("./server/boot");
      await boot();
    } catch (error) {
      // A server that cannot boot (a bad setting, no database) must not stay up answering 500 to everything.
      console.error(`Wire could not start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  }
}
