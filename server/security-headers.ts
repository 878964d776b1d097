/**
 * Security headers for pages and the same-origin rule for cookie-authenticated mutations outside tRPC.
 * Pure functions (no env reads) so the proxy and tests can call them directly.
 */

/**
 * The Content-Security-Policy of a page, as the Next.js guide builds it: scripts only with this request's nonce
 * (Next puts it on its own scripts when it finds it in the request's CSP header). Styles allow inline: React
 * renders `style` attributes that a nonce cannot cover, and scripts are what CSP must stop.
 */
export function contentSecurityPolicy(nonce: string, options: { dev: boolean; https: boolean }): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    // Only behind https: on plain-http localhost it would send every request to an https port that is not there.
    ...(options.https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}

/** Headers every response carries (next.config.ts). */
export const STATIC_SECURITY_HEADERS = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  // For browsers without CSP frame-ancestors.
  { key: "X-Frame-Options", value: "DENY" },
];

/**
 * Whether a cookie-authenticated mutation comes from the app's own pages. SameSite=Lax cookies still go with a
 * form post from another port or subdomain of the same site, so the Origin must be the app's origin exactly.
 * Browsers send Origin with every POST; without it, Sec-Fetch-Site (when sent) must say same-origin. A request
 * with neither comes from no browser, so it carries no victim's cookie by accident.
 */
export function isSameOrigin(headers: Headers, appOrigin: string): boolean {
  const origin = headers.get("origin");
  if (origin !== null) return origin === appOrigin;
  const site = headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none";
}
