/**
 * The real client address, for rate limiting and the address stored on sessions.
 *
 * Route handlers under `next start` cannot see the socket, and Next fills `X-Forwarded-For` from the socket
 * only when the client did not send one, so a client can name any address it likes. The server process
 * therefore records the socket's peer address in `PEER_HEADER` on every request before Next sees it
 * (server/server-hooks.ts, overwriting whatever the client sent), and `X-Forwarded-For` is believed only hop by hop from proxies listed
 * in WIRE_TRUSTED_PROXIES.
 */
import "server-only";
import ipaddr from "ipaddr.js";
import { env } from "./env";
import { PEER_HEADER, serverHooksInstalled } from "./server-hooks";

export { PEER_HEADER };
/** Set by the auth route from `clientAddress`; the only header better-auth reads an address from. */
export const CLIENT_HEADER = "x-wire-client-address";

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Only plain addresses: ipaddr.js would also take "0x7f.1"-style IPv4 forms that no proxy writes. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const value = text.trim();
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (ipaddr.IPv6.isValid(value)) return ipaddr.process(value); // IPv4-mapped IPv6 becomes IPv4
  return null;
}

/** Parses WIRE_TRUSTED_PROXIES (comma-separated addresses and CIDR ranges); throws naming a bad entry. */
export function parseTrustedProxies(text: string | undefined): Range[] {
  if (!text?.trim()) return [];
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      if (entry.includes("/")) {
        if (!ipaddr.isValidCIDR(entry)) throw new Error(`"${entry}" is not an IP address or CIDR range`);
        return ipaddr.parseCIDR(entry);
      }
      const address = parseAddress(entry);
      if (!address) throw new Error(`"${entry}" is not an IP address or CIDR range`);
      return [address, address.kind() === "ipv4" ? 32 : 128] as Range;
    });
}

function isTrusted(address: ipaddr.IPv4 | ipaddr.IPv6, trusted: Range[]): boolean {
  return trusted.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}

/**
 * The client address of a request: the socket peer, unless the peer is a trusted proxy; then X-Forwarded-For
 * is walked from the right past trusted proxies, and the first address not among them is the client.
 * Null when the peer is unknown (the server hook did not run).
 */
export function clientAddress(headers: Headers, trusted: Range[]): string | null {
  if (!serverHooksInstalled()) return null;
  const peer = parseAddress(headers.get(PEER_HEADER) ?? "");
  if (!peer) return null;
  let client = peer;
  if (isTrusted(client, trusted)) {
    const hops = (headers.get("x-forwarded-for") ?? "").split(",").reverse();
    for (const hop of hops) {
      const address = parseAddress(hop);
      // A malformed entry was written by whoever is in front of the last trusted proxy: stop at that proxy.
      if (!address) break;
      client = address;
      if (!isTrusted(address, trusted)) break;
    }
  }
  return client.toString();
}

/** `request` as better-auth should see it: CLIENT_HEADER holds the address we resolved, never the client's own. */
export function withClientAddress(request: Request): Request {
  const headers = new Headers(request.headers);
  const address = clientAddress(request.headers, parseTrustedProxies(env().WIRE_TRUSTED_PROXIES));
  if (address) headers.set(CLIENT_HEADER, address);
  else headers.delete(CLIENT_HEADER);
  return new Request(request, { headers });
}
