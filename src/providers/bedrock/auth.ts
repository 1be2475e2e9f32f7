// How a Bedrock request is authenticated: SigV4 (service `bedrock`, signed with aws4fetch) or a Bedrock API key as a bearer token.
import { AwsV4Signer } from "aws4fetch";

export type BedrockCredentials =
  | { kind: "sigv4"; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: "bearer"; apiKey: string };

export interface SignableRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Adds the headers that authenticate `req`, given the credentials (the signing key is cached per day, as AWS's SDK does). */
export type Authenticate = (req: SignableRequest) => Promise<Record<string, string>>;

/**
 * SigV4 over the exact bytes sent: the path as it goes on the wire (the model id already percent-encoded, so its
 * `:` is `%3A`) is escaped once more for the canonical request, as AWS requires of every service but S3; the payload
 * hash covers the body; `x-amz-date` and, for temporary credentials, `x-amz-security-token` are signed.
 */
export async function signSigV4(
  req: SignableRequest,
  creds: Extract<BedrockCredentials, { kind: "sigv4" }>,
  region: string,
  opts: { datetime?: string; cache?: Map<string, ArrayBuffer> } = {},
): Promise<Record<string, string>> {
  const signer = new AwsV4Signer({
    method: "POST",
    url: req.url,
    headers: req.headers,
    body: req.body,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    service: "bedrock",
    region,
    cache: opts.cache,
    datetime: opts.datetime,
  });
  const signed = await signer.sign();
  const out: Record<string, string> = {};
  signed.headers.forEach((v, k) => (out[k] = v));
  return out;
}

export function createAuthenticator(creds: BedrockCredentials, region: string): Authenticate {
  if (creds.kind === "bearer") {
    const authorization = `Bearer ${creds.apiKey}`;
    return async (req) => ({ ...req.headers, authorization });
  }
  const cache = new Map<string, ArrayBuffer>();
  return (req) => signSigV4(req, creds, region, { cache });
}
