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

type Range = { bytes: number[]; bits: number; problem: AddressProblem };

function parseIPv4(address: string): number[] | null {
  if (net.isIPv4(address) === false) return null;
  return address.split(".").map(Number);
}

/** 16 bytes of an IPv6 address (zone id dropped, embedded dotted quad supported), or null. */
function parseIPv6(address: string): number[] | null {
  const text = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!net.isIPv6(text)) return null;
  let groups: string[];
  const tail: number[] = [];
  let body = text;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
  if (v4) {
    const bytes = parseIPv4(v4[1]!);
    if (!bytes) return null;
    tail.push(((bytes[0]! << 8) | bytes[1]!) >>> 0, ((bytes[2]! << 8) | bytes[3]!) >>> 0);
    body = body.slice(0, -v4[1]!.length);
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const wanted = 8 - tail.length;
  if (body.includes("::")) {
    const [head, rest] = body.split("::") as [string, string];
    const h = head ? head.split(":") : [];
    const r = rest ? rest.split(":") : [];
    groups = [...h, ...Array<string>(wanted - h.length - r.length).fill("0"), ...r];
  } else {
    groups = body ? body.split(":") : [];
  }
  const words = [...groups.map((g) => parseInt(g, 16)), ...tail];
  if (words.length !== 8 || words.some((w) => Number.isNaN(w))) return null;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function cidr(text: string, problem: AddressProblem): Range {
  const [addr, bits] = text.split("/") as [string, string];
  const bytes = parseIPv4(addr) ?? parseIPv6(addr);
  if (!bytes) throw new Error(`bad range ${text}`);
  return { bytes, bits: Number(bits), problem };
}

function inRange(bytes: number[], range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
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

const metadataRanges = (family: "v4" | "v6") =>
  METADATA_ADDRESSES.filter((a) => (family === "v6") === a.includes(":")).map((a) => cidr(a, "cloud metadata"));

// Order matters: the first match names the problem (metadata before link-local / private).
const IPV4_RANGES: Range[] = [
  ...metadataRanges("v4"),
  cidr("0.0.0.0/8", "unspecified"),
  cidr("10.0.0.0/8", "private"),
  cidr("100.64.0.0/10", "shared (CGNAT)"),
  cidr("127.0.0.0/8", "loopback"),
  cidr("169.254.0.0/16", "link-local"),
  cidr("172.16.0.0/12", "private"),
  cidr("192.0.0.0/24", "reserved"),
  cidr("192.0.2.0/24", "reserved"),
  cidr("192.168.0.0/16", "private"),
  cidr("198.18.0.0/15", "reserved"),
  cidr("198.51.100.0/24", "reserved"),
  cidr("203.0.113.0/24", "reserved"),
  cidr("224.0.0.0/4", "multicast"),
  cidr("240.0.0.0/4", "reserved"), // includes 255.255.255.255
];

const IPV6_RANGES: Range[] = [
  ...metadataRanges("v6"),
  cidr("::/128", "unspecified"),
  cidr("::1/128", "loopback"),
  cidr("64:ff9b:1::/48", "private"), // local-use NAT64
  cidr("100::/64", "reserved"), // discard-only
  cidr("2001:db8::/32", "reserved"), // documentation
  cidr("fc00::/7", "private"), // unique local
  cidr("fe80::/10", "link-local"),
  cidr("fec0::/10", "private"), // deprecated site-local
  cidr("ff00::/8", "multicast"),
];

/** IPv6 forms that carry an IPv4 address the packets end up at: mapped, compatible, NAT64, 6to4. */
function embeddedIPv4(bytes: number[]): number[] | null {
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12); // ::ffff:a.b.c.d
  if (zero(0, 12)) return bytes.slice(12); // ::a.b.c.d (deprecated "compatible")
  if (inRange(bytes, cidr("64:ff9b::/96", "reserved"))) return bytes.slice(12); // NAT64
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return bytes.slice(2, 6); // 6to4 2002:AABB:CCDD::
  return null;
}

/** Why `address` must not be an endpoint target, or null when it is a public address. */
export function addressProblem(address: string): AddressProblem | null {
  const v4 = parseIPv4(address);
  if (v4) return IPV4_RANGES.find((r) => inRange(v4, r))?.problem ?? null;
  const v6 = parseIPv6(address);
  if (!v6) return "reserved"; // not an IP address at all: never connect to it
  const own = IPV6_RANGES.find((r) => inRange(v6, r))?.problem;
  if (own) return own;
  const inner = embeddedIPv4(v6);
  if (inner) return IPV4_RANGES.find((r) => inRange(inner, r))?.problem ?? null;
  return null;
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
    address: addresses[0]!.address,
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
      callback(error as NodeJS.ErrnoException, "", 0);
      return;
    }
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = family ? pinned.addresses.filter((a) => a.family === family) : pinned.addresses;
    if (candidates.length === 0) {
      const error = Object.assign(new Error(`No IPv${family} address for ${hostname}`), { code: "ENOTFOUND" });
      callback(error, "", 0);
      return;
    }
    if (options.all) callback(null, candidates.map((a) => ({ ...a })));
    else callback(null, candidates[0]!.address, candidates[0]!.family);
  };
}

export type PinnedAgentOptions = { keepAlive?: boolean; maxSockets?: number };

/** An http(s) agent whose sockets go only to the pinned addresses. */
export function createPinnedAgent(
  pinned: PinnedEndpoint,
  options: PinnedAgentOptions = {},
): http.Agent | https.Agent {
  const agentOptions = {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? 50,
    lookup: pinnedLookup(pinned),
  };
  return pinned.protocol === "http:" ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
}
