/**
 * SSRF guard for custom S3 endpoints. The endpoint's host is resolved once; every address must be public
 * (unless WIRE_ALLOW_PRIVATE_ENDPOINTS=true), and connections then go to exactly those addresses through a
 * pinned `lookup` on the HTTP agent. A host that answers DNS differently a moment later (DNS rebinding) cannot
 * redirect the client to an internal address. TLS SNI and the Host header stay the endpoint's hostname.
 */
import "server-only";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import ipaddr from "ipaddr.js";
import { defined } from "@/server/defined";
import { env } from "@/server/env";
import { normalizeEndpoint } from "@/server/s3/inputs";

export type ResolvedAddress = { address: string; family: 4 | 6 };
/** Resolves a hostname to all of its addresses (dns.lookup with all: true by default). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const results = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return results.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

export type AddressProblem =
  | "loopback"
  | "private"
  | "link-local"
  | "shared (CGNAT)"
  | "unspecified"
  | "multicast"
  | "reserved"
  | "cloud metadata";

export type EndpointNotAllowedReason = "invalid" | "forbidden_address" | "not_pinned";

/** The endpoint may not be used: not a valid endpoint, or it points at an internal address. */
export class EndpointNotAllowedError extends Error {
  override name = "EndpointNotAllowedError";
  readonly code = "ERR_WIRE_ENDPOINT_NOT_ALLOWED";
  constructor(
    message: string,
    readonly reason: EndpointNotAllowedReason,
    readonly hostname?: string,
    readonly address?: string,
    readonly problem?: AddressProblem,
  ) {
    super(message);
  }
}

export interface PinnedEndpoint {
  /** Normalized origin, e.g. "https://minio.example.com:9000". */
  origin: string;
  protocol: "http:" | "https:";
  /** Host name as the client addresses it (lowercase, IPv6 without brackets). */
  hostname: string;
  /** The checked addresses every connection goes to, in resolver order. */
  addresses: ResolvedAddress[];
  /** The first of `addresses`: the address the client connects to. */
  address: string;
}

export interface GuardOptions {
  /** Defaults to env().WIRE_ALLOW_PRIVATE_ENDPOINTS. Cloud metadata addresses are refused regardless. */
  allowPrivateEndpoints?: boolean;
  /** Defaults to dns.lookup (all addresses). Injectable for tests. */
  resolve?: Resolver;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Plain dotted-quad IPv4 or IPv6 (brackets and zone id dropped), or null. ipaddr.js alone would also take
 * "0x7f.1" or "2130706433"; those are not addresses a resolver returns, so they stay "not an IP".
 */
function parseAddress(text: string): Address | null {
  const value = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (net.isIPv6(value)) return ipaddr.IPv6.parse(value);
  return null;
}

/**
 * Metadata and container-credential endpoints: they hand out the host's or workload's cloud credentials.
 * Refused whatever WIRE_ALLOW_PRIVATE_ENDPOINTS says (some are public addresses no other rule covers).
 */
export const METADATA_ADDRESSES = [
  "169.254.169.254/32", // instance metadata: AWS IMDS, GCP, Azure IMDS, OpenStack, DigitalOcean, Oracle
  "169.254.170.2/32", // AWS ECS task metadata and task-role credentials
  "169.254.170.23/32", // AWS EKS Pod Identity agent
  "168.63.129.16/32", // Azure WireServer (a public address)
  "100.100.100.200/32", // Alibaba Cloud
  "192.0.0.192/32", // Oracle Cloud
  "fd00:ec2::254/128", // AWS IMDS over IPv6
  "fd00:ec2::23/128", // AWS EKS Pod Identity agent over IPv6
] as const;

const metadataRanges = METADATA_ADDRESSES.map((range) => ipaddr.parseCIDR(range));

/** ipaddr.js range() names and what Wire calls them; a name missing here ("unicast", "as112", …) is public. */
const IPV4_PROBLEMS: Record<string, AddressProblem> = {
  unspecified: "unspecified", // 0.0.0.0/8
  broadcast: "reserved", // 255.255.255.255
  multicast: "multicast",
  linkLocal: "link-local",
  loopback: "loopback",
  carrierGradeNat: "shared (CGNAT)",
  private: "private",
  reserved: "reserved", // 192.0.0.0/24, TEST-NETs, 198.18.0.0/15, 240.0.0.0/4 (and 192.88.99.0/24, below)
};
// ipaddr.js also calls the retired 6to4 relay anycast prefix reserved; Wire has always treated it as public.
const IPV4_RELAY_ANYCAST = ipaddr.parseCIDR("192.88.99.0/24");

const IPV6_PROBLEMS: Record<string, AddressProblem> = {
  unspecified: "unspecified",
  loopback: "loopback",
  linkLocal: "link-local",
  uniqueLocal: "private", // fc00::/7
  deprecatedSiteLocal: "private", // fec0::/10
  multicast: "multicast",
  discard: "reserved", // 100::/64
};

// Of what ipaddr.js calls IPv6 "reserved" (2001::/23, 2001:db8::/32, 3fff::/20) Wire has always refused
// only the documentation prefix 2001:db8::/32; the rest stays public as before.
const IPV6_DOCUMENTATION = ipaddr.parseCIDR("2001:db8::/32");
const NAT64_LOCAL = ipaddr.parseCIDR("64:ff9b:1::/48"); // local-use NAT64: a private network's translator
const NAT64 = ipaddr.parseCIDR("64:ff9b::/96");

function ipv4Problem(address: ipaddr.IPv4): AddressProblem | null {
  if (address.match(IPV4_RELAY_ANYCAST)) return null;
  return IPV4_PROBLEMS[address.range()] ?? null;
}

/** IPv6 forms that carry an IPv4 address the packets end up at: mapped, compatible, NAT64, 6to4. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address(); // ::ffff:a.b.c.d
  const bytes = address.toByteArray();
  if (bytes.slice(0, 12).every((b) => b === 0)) return new ipaddr.IPv4(bytes.slice(12)); // ::a.b.c.d ("compatible")
  if (address.match(NAT64)) return new ipaddr.IPv4(bytes.slice(12));
  if (address.range() === "6to4") return new ipaddr.IPv4(bytes.slice(2, 6)); // 2002:AABB:CCDD::
  return null;
}

function ipv6Problem(address: ipaddr.IPv6): AddressProblem | null {
  const own = IPV6_PROBLEMS[address.range()];
  if (own) return own;
  if (address.match(IPV6_DOCUMENTATION)) return "reserved";
  if (address.match(NAT64_LOCAL)) return "private";
  const inner = embeddedIPv4(address);
  return inner ? addressProblemOf(inner) : null;
}

function addressProblemOf(address: Address): AddressProblem | null {
  // Metadata first: those addresses are also link-local / private / public, and must name the stricter rule.
  if (metadataRanges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits))) {
    return "cloud metadata";
  }
  return address.kind() === "ipv4" ? ipv4Problem(address as ipaddr.IPv4) : ipv6Problem(address as ipaddr.IPv6);
}

/** Why `address` must not be an endpoint target, or null when it is a public address. */
export function addressProblem(address: string): AddressProblem | null {
  const parsed = parseAddress(address);
  if (!parsed) return "reserved"; // not an IP address at all: never connect to it
  return addressProblemOf(parsed);
}

function refuse(hostname: string, address: string, problem: AddressProblem): never {
  const what = hostname === address ? address : `${hostname} (${address})`;
  const message =
    problem === "cloud metadata"
      ? `The endpoint ${what} is a cloud metadata address. Wire never connects to it.`
      : `The endpoint ${what} is a ${problem} address. Wire only connects to public endpoints; ` +
        "an operator can allow private ones with WIRE_ALLOW_PRIVATE_ENDPOINTS=true.";
  throw new EndpointNotAllowedError(message, "forbidden_address", hostname, address, problem);
}

/**
 * Normalizes `endpoint`, resolves its host once and checks every address. Returns the pinned endpoint the
 * client must connect to. Throws EndpointNotAllowedError, or the resolver's error (e.g. ENOTFOUND).
 */
export async function guardEndpoint(endpoint: string, options: GuardOptions = {}): Promise<PinnedEndpoint> {
  const normalized = normalizeEndpoint(endpoint);
  if ("problem" in normalized) throw new EndpointNotAllowedError(normalized.problem, "invalid");
  const url = new URL(normalized.origin);
  const hostname = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const allowPrivate = options.allowPrivateEndpoints ?? env().WIRE_ALLOW_PRIVATE_ENDPOINTS;

  const family = net.isIP(hostname);
  const addresses: ResolvedAddress[] = family
    ? [{ address: hostname, family: family === 6 ? 6 : 4 }]
    : await (options.resolve ?? systemResolver)(hostname);
  if (addresses.length === 0) {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: "ENOTFOUND",
      hostname,
    });
  }
  for (const { address } of addresses) {
    const problem = addressProblem(address);
    if (problem === "cloud metadata" || (problem && !allowPrivate)) refuse(hostname, address, problem);
  }
  return {
    origin: normalized.origin,
    protocol: url.protocol === "http:" ? "http:" : "https:",
    hostname,
    addresses,
    address: defined(addresses[0], "the endpoint's first address").address,
  };
}

/**
 * A `lookup` for net/tls connections that answers only for the pinned hostname, and only with the checked
 * addresses: it never asks DNS again.
 */
export function pinnedLookup(pinned: Pick<PinnedEndpoint, "hostname" | "addresses">): net.LookupFunction {
  return (hostname, options, callback) => {
    if (hostname.replace(/^\[|\]$/g, "").toLowerCase() !== pinned.hostname) {
      const error = new EndpointNotAllowedError(
        `This connection is pinned to ${pinned.hostname}; refusing to connect to ${hostname}.`,
        "not_pinned",
        hostname,
      );
      callback(error, "", 0);
      return;
    }
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = family ? pinned.addresses.filter((a) => a.family === family) : pinned.addresses;
    const [first] = candidates;
    if (!first) {
      const error = Object.assign(new Error(`No IPv${family} address for ${hostname}`), { code: "ENOTFOUND" });
      callback(error, "", 0);
      return;
    }
    if (options.all)
      callback(
        null,
        candidates.map((a) => ({ ...a })),
      );
    else callback(null, first.address, first.family);
  };
}

export type PinnedAgentOptions = {
  keepAlive?: boolean;
  maxSockets?: number;
  /** Idle socket timeout (ms). */ timeout?: number;
};

/** An http(s) agent whose sockets go only to the pinned addresses. */
export function createPinnedAgent(pinned: PinnedEndpoint, options: PinnedAgentOptions = {}): http.Agent | https.Agent {
  const agentOptions = {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? 50,
    ...(options.timeout ? { timeout: options.timeout } : {}),
    lookup: pinnedLookup(pinned),
  };
  return pinned.protocol === "http:" ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
}
