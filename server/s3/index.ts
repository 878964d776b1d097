/** Everything the app needs to talk to S3 and S3-compatible storage. */
export {
  createS3Client,
  S3_MAX_ATTEMPTS,
  S3_TIMEOUTS,
  type CreateS3ClientOptions,
  type S3ClientSettings,
  type S3Credentials,
} from "@/server/s3/client";
export {
  addressProblem,
  createPinnedAgent,
  EndpointNotAllowedError,
  guardEndpoint,
  pinnedLookup,
  systemResolver,
  type AddressProblem,
  type GuardOptions,
  type PinnedEndpoint,
  type ResolvedAddress,
  type Resolver,
} from "@/server/s3/endpoint-guard";
export {
  mapS3Error,
  S3AccessError,
  type S3ErrorContext,
  type S3ErrorDetail,
  type S3ErrorField,
  type S3ErrorKind,
} from "@/server/s3/errors";
export * from "@/server/s3/inputs";
export { onS3Request, type S3RequestListener, type S3RequestRecord } from "@/server/s3/request-log";
export { checkBucketAccess, validateConnection, type BucketAccessParams } from "@/server/s3/validate";
