/**
 * The one place S3 clients are made. Custom endpoints go through the SSRF guard and connect only to the
 * address it checked; every setting the SDK would otherwise pick up from AWS_* variables or ~/.aws files is
 * fixed here, so the process environment cannot redirect or reshape our S3 traffic.
 */
import "server-only";
import http from "node:http";
import https from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { createPinnedAgent, guardEndpoint, type GuardOptions, type PinnedEndpoint } from "@/server/s3/endpoint-guard";
import { S3AccessError } from "@/server/s3/errors";
import { attachRequestLog } from "@/server/s3/request-log";

export { onS3Request, type S3RequestListener, type S3RequestRecord } from "@/server/s3/request-log";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ClientSettings {
  /** Custom endpoint (host, host:port or origin URL); null/undefined/empty means Amazon S3. */
  endpoint?: string | null;
  region: string;
  credentials: S3Credentials;
}

export type CreateS3ClientOptions = GuardOptions;

/**
 * S3 answers in well under a second; these bound a hung endpoint (accepting connections, never answering).
 * Three attempts of 15 s keep the worst case under a minute, so a sync shows why it is retrying within one.
 */
export const S3_TIMEOUTS = {
  /** TCP (and TLS) connect. */
  connectionMs: 5_000,
  /** From sending the request to the response headers. */
  requestMs: 15_000,
  /** Socket idle time, also while a response body streams. */
  socketMs: 15_000,
} as const;
export const S3_MAX_ATTEMPTS = 3;

/**
 * Keeps connections across clients: a sync makes a client per step (its credentials unsealed and the read
 * logged each time), and a pool per client opened new connections (and TLS sessions) for every import batch.
 * Clients of one destination share one handler; a destination is the checked addresses of a custom endpoint
 * (a changed DNS answer gets a pool of its own), or Amazon S3. Requests carry their own signatures, so
 * sharing sockets shares nothing of a connector's. Idle sockets close after IDLE_SOCKET_MS; beyond MAX_POOLS
 * the least recently used pool is dropped (its requests in flight finish, its idle sockets close as above).
 */
class SharedRequestHandler extends NodeHttpHandler {
  // Destroying a client must not close connections other clients are using.
  override destroy(): void {}
}

const MAX_POOLS = 64;
const IDLE_SOCKET_MS = 30_000;
const SOCKETS_PER_ORIGIN = 256;
const pools = new Map<string, SharedRequestHandler>();

function sharedRequestHandler(pinned: PinnedEndpoint | null): SharedRequestHandler {
  const key = pinned ? `${pinned.origin} ${pinned.addresses.map((a) => a.address).join(",")}` : "aws";
  let handler = pools.get(key);
  if (handler) {
    pools.delete(key); // re-inserted below: the map's order is the pools' recency
  } else {
    const agentOptions = { keepAlive: true, maxSockets: SOCKETS_PER_ORIGIN, timeout: IDLE_SOCKET_MS };
    handler = new SharedRequestHandler({
      connectionTimeout: S3_TIMEOUTS.connectionMs,
      requestTimeout: S3_TIMEOUTS.requestMs,
      throwOnRequestTimeout: true,
      socketTimeout: S3_TIMEOUTS.socketMs,
      // Custom endpoints: both agents pinned, so whichever protocol a request uses, it reaches only the
      // checked addresses.
      httpAgent: pinned
        ? createPinnedAgent({ ...pinned, protocol: "http:" }, agentOptions)
        : new http.Agent(agentOptions),
      httpsAgent: pinned
        ? createPinnedAgent({ ...pinned, protocol: "https:" }, agentOptions)
        : new https.Agent(agentOptions),
    });
  }
  pools.set(key, handler);
  for (const oldest of pools.keys()) {
    if (pools.size <= MAX_POOLS) break;
    pools.delete(oldest);
  }
  return handler;
}

/**
 * A configured S3Client: path-style + pinned, guarded agents for custom endpoints, checksums only when an
 * operation requires them (the SDK's default CRC32 trailers break R2, MinIO, B2 and others), bounded timeouts,
 * standard retries (3 attempts), connections shared with the other clients of the same destination. Throws
 * EndpointNotAllowedError (refused endpoint), the resolver's error (ENOTFOUND...), or S3AccessError for
 * settings that cannot work. Callers should `client.destroy()` when done (it leaves the shared connections).
 */
export async function createS3Client(config: S3ClientSettings, options: CreateS3ClientOptions = {}): Promise<S3Client> {
  const region = config.region;
  const endpoint = config.endpoint?.trim() || null;
  let pinned: PinnedEndpoint | null = null;
  if (endpoint) {
    pinned = await guardEndpoint(endpoint, options);
  } else if (region === "auto") {
    throw new S3AccessError(
      "wrong_region",
      'The region "auto" is for Cloudflare R2. For Amazon S3, set the bucket\'s region (e.g. us-east-1); for R2, set the endpoint.',
      { field: "region" },
    );
  }
  const requestHandler = sharedRequestHandler(pinned);

  const client = new S3Client({
    region,
    credentials: {
      accessKeyId: config.credentials.accessKeyId,
      secretAccessKey: config.credentials.secretAccessKey,
      ...(config.credentials.sessionToken ? { sessionToken: config.credentials.sessionToken } : {}),
    },
    ...(pinned ? { endpoint: pinned.origin, forcePathStyle: true } : { forcePathStyle: false }),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: S3_MAX_ATTEMPTS,
    retryMode: "standard",
    requestHandler,
    // Report a wrong region instead of silently retrying elsewhere.
    followRegionRedirects: false,
    // Nothing from AWS_* variables or ~/.aws config may change where requests go.
    ignoreConfiguredEndpointUrls: true,
    defaultsMode: "standard",
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    useArnRegion: false,
    disableS3ExpressSessionAuth: true,
  });
  attachRequestLog(client);
  return client;
}
