// A fake Bedrock runtime on port 0: SigV4 checked with AWS's own signer, streams framed with AWS's own event-stream codec.
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { vectorFor } from "./embeddings-wire.ts";
import { claudeEvents, claudeMessage, converseEvents, converseJson, converseProblem, converseReply } from "./bedrock-script.ts";

/**
 * Behaviour is picked by the model id in the path (so one fake serves a whole config): `fault-throttle` (429
 * ThrottlingException), `fault-validation` (400 ValidationException), `fault-500`, `fault-denied` (403
 * AccessDeniedException naming an account), `fault-stream-throttle` (text, then a throttlingException frame),
 * `fault-stream-first` (a modelStreamErrorException as the first frame), `fault-corrupt` (a frame whose message CRC
 * is wrong), `fault-cut` (the body ends inside a frame), `fault-hang` (never answers), `fault-hang-stream` (two frames,
 * then silence). Every stream is written a few
 * bytes at a time when the model id contains `split`, so frames arrive in pieces. `script` overrides the next calls
 * whatever their model (`throttle`, `500`).
 */
export interface BedrockCall {
  path: string;
  model: string;
  operation: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  auth: "sigv4" | "bearer";
  aborted: boolean;
}

export interface BedrockUpstreamOptions {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** When set, requests must carry it (temporary credentials), as AWS refuses them without. */
  sessionToken?: string;
  /** A Bedrock API key, accepted as `Authorization: Bearer`. */
  apiKey?: string;
}

export interface BedrockUpstream {
  url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  apiKey: string;
  calls: BedrockCall[];
  script: string[];
  stop(): Promise<void>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const enc = new TextEncoder();
const dec = new TextDecoder();
const codec = new EventStreamCodec((b) => dec.decode(b), (s) => enc.encode(s));

export function awsError(status: number, type: string, message: string): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: { "content-type": "application/json", "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, "x-amzn-requestid": crypto.randomUUID() },
  });
}

const INVALID_TOKEN = "The security token included in the request is invalid.";
const BAD_SIGNATURE = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** Verifies the request as AWS does: recompute the signature over the headers it names, with AWS's own signer. */
async function checkAuth(req: Request, url: URL, bodyText: string, o: Required<Omit<BedrockUpstreamOptions, "sessionToken">> & { sessionToken?: string }): Promise<Response | "sigv4" | "bearer"> {
  const authorization = req.headers.get("authorization");
  if (!authorization) return awsError(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  if (authorization.startsWith("Bearer ")) return authorization.slice(7) === o.apiKey ? "bearer" : awsError(403, "UnrecognizedClientException", "Invalid API Key format: Must start with pre-defined prefix");
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!m) return awsError(400, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
  const [, keyId, , region, service, signedHeaders] = m;
  if (keyId !== o.accessKeyId) return awsError(403, "UnrecognizedClientException", INVALID_TOKEN);
  if (service !== "bedrock") return awsError(403, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'.");
  if (region !== o.region) return awsError(403, "InvalidSignatureException", `Credential should be scoped to a valid region, not '${region}'.`);
  const token = req.headers.get("x-amz-security-token") ?? undefined;
  if (token !== o.sessionToken) return awsError(403, "UnrecognizedClientException", INVALID_TOKEN);
  const amzDate = req.headers.get("x-amz-date") ?? "";
  const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dm) return awsError(400, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(";")) headers[h] = h === "host" ? url.host : req.headers.get(h) ?? "";
  const signer = new SignatureV4({ service: "bedrock", region: o.region, credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, sessionToken: o.sessionToken }, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: bodyText },
    { signingDate: new Date(Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!)) },
  );
  return signed.headers.authorization === authorization ? "sigv4" : awsError(403, "InvalidSignatureException", BAD_SIGNATURE);
}

/** One event-stream frame: an event (`:event-type`) or an exception (`:exception-type`), JSON payload padded with `p` as AWS pads it. */
export function frame(type: string, payload: Obj, kind: "event" | "exception" = "event"): Uint8Array {
  const body = kind === "event" ? { ...payload, p: "abcdefghijklmnopqrstuvwxyzABCDEF".slice(0, 1 + (JSON.stringify(payload).length % 30)) } : payload;
  return codec.encode({
    headers: {
      [kind === "event" ? ":event-type" : ":exception-type"]: { type: "string", value: type },
      ":content-type": { type: "string", value: "application/json" },
      ":message-type": { type: "string", value: kind },
    },
    body: enc.encode(JSON.stringify(body)),
  });
}

export async function startBedrockUpstream(opts: BedrockUpstreamOptions = {}): Promise<BedrockUpstream> {
  const o = {
    region: opts.region ?? "us-east-1",
    accessKeyId: opts.accessKeyId ?? "AKIAFAKEBEDROCK00001",
    secretAccessKey: opts.secretAccessKey ?? "fake-bedrock-secret-key/0123456789abcdefghij",
    sessionToken: opts.sessionToken,
    apiKey: opts.apiKey ?? "ABSKfakeBedrockApiKey0123456789",
  };
  const calls: BedrockCall[] = [];
  const script: string[] = [];
  let seq = 0;

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return awsError(404, "UnknownOperationException", `Unknown operation ${req.method} ${url.pathname}`);
      const bodyText = await req.text();
      const auth = await checkAuth(req, url, bodyText, o);
      if (auth instanceof Response) return auth;
      const model = decodeURIComponent(m[1]!);
      const operation = m[2]!;
      let body: Obj;
      try {
        const parsed: unknown = JSON.parse(bodyText);
        body = isObj(parsed) ? parsed : {};
      } catch {
        return awsError(400, "ValidationException", "Malformed input request, please reformat your input and try again.");
      }
      const call: BedrockCall = { path: url.pathname, model, operation, headers: Object.fromEntries(req.headers.entries()), body, auth, aborted: false };
      calls.push(call);
      req.signal.addEventListener("abort", () => (call.aborted = true));
      const n = ++seq;
      const forced = script.shift();
      if (forced === "throttle" || model === "fault-throttle") return awsError(429, "ThrottlingException", "Too many requests, please wait before trying again.");
      if (forced === "500" || model === "fault-500") return awsError(500, "InternalServerException", "The server encountered an internal error while processing the request.");
      if (model === "fault-validation") return awsError(400, "ValidationException", "The provided model identifier is invalid.");
      if (model === "fault-denied") return awsError(403, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/switchboard-test is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/x");
      if (model === "fault-hang") {
        await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
        return new Response(null, { status: 499 });
      }
      if (operation === "count-tokens") return countTokens(body);
      if (operation === "invoke" || operation === "invoke-with-response-stream") return invoke(model, body, operation === "invoke-with-response-stream", n, call);
      const problem = converseProblem(body);
      if (problem) return awsError(400, "ValidationException", problem);
      const reply = converseReply(model, body, n);
      if (operation === "converse") return Response.json(converseJson(reply));
      let frames = converseEvents(reply).map(([t, p]) => frame(t, p));
      if (model === "fault-stream-throttle") frames = [...frames.slice(0, 3), frame("throttlingException", { message: "Too many requests, please wait before trying again." }, "exception")];
      if (model === "fault-stream-first") frames = [frame("modelStreamErrorException", { message: "The model stream failed.", originalStatusCode: 500 }, "exception")];
      if (model === "fault-corrupt") {
        const bad = frames[1]!.slice();
        bad[bad.length - 1]! ^= 0xff;
        frames = [frames[0]!, bad, ...frames.slice(2)];
      }
      if (model === "fault-cut") frames = [...frames.slice(0, 2), frames[2]!.slice(0, 10)];
      if (model === "fault-hang-stream") return streamFrames(frames.slice(0, 2), false, call, req.signal);
      return streamFrames(frames, model.includes("split"), call);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    ...o,
    calls,
    script,
    async stop() {
      await server.stop(true);
    },
  };
}

/** An event-stream body, each frame written whole or (split) a few bytes at a time; with `hangOn`, silence after the frames until it aborts. */
function streamFrames(frames: Uint8Array[], split: boolean, call: BedrockCall, hangOn?: AbortSignal): Response {
  const pieces: Uint8Array[] = split ? frames.flatMap((f) => Array.from({ length: Math.ceil(f.length / 7) }, (_, i) => f.slice(i * 7, i * 7 + 7))) : frames;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      const p = pieces[i++];
      if (!p && hangOn) return new Promise<void>((resolve) => hangOn.addEventListener("abort", () => resolve()));
      if (!p) return c.close();
      if (split) await Bun.sleep(0);
      c.enqueue(p);
    },
    cancel() {
      call.aborted = true;
    },
  });
  return new Response(body, { headers: { "content-type": "application/vnd.amazon.eventstream", "x-amzn-bedrock-content-type": "application/json" } });
}

/** InvokeModel: Claude in Anthropic's format (anthropic_version bedrock-2023-05-31, no model), Titan and Cohere embeddings. */
function invoke(model: string, body: Obj, stream: boolean, seq: number, call: BedrockCall): Response {
  if (model.includes("titan-embed")) {
    if (typeof body.inputText !== "string" || body.inputText === "") return awsError(400, "ValidationException", "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.");
    const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
    return Response.json({ embedding: vectorFor(body.inputText, dims), inputTextTokenCount: body.inputText.split(/\s+/).length });
  }
  if (model.includes("cohere.embed")) {
    const texts = Array.isArray(body.texts) ? body.texts.filter((t): t is string => typeof t === "string") : [];
    if (texts.length === 0 || typeof body.input_type !== "string") return awsError(400, "ValidationException", "Malformed input request: texts and input_type are required.");
    return Response.json({ id: crypto.randomUUID(), response_type: "embeddings_floats", texts, embeddings: texts.map((t) => vectorFor(t, 8)) });
  }
  if (!model.includes("claude")) return awsError(400, "ValidationException", `The fake serves InvokeModel for Claude and embeddings only, not ${model}.`);
  if (body.anthropic_version !== "bedrock-2023-05-31") return awsError(400, "ValidationException", "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.");
  for (const k of ["model", "stream"]) if (k in body) return awsError(400, "ValidationException", `Malformed input request: #: extraneous key [${k}] is not permitted, please reformat your input and try again.`);
  if (typeof body.max_tokens !== "number") return awsError(400, "ValidationException", "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.");
  const message = claudeMessage(model, body, seq);
  if (!stream) return Response.json(message);
  const events = claudeEvents(message);
  const last = events[events.length - 1]!;
  last["amazon-bedrock-invocationMetrics"] = { inputTokenCount: 10, outputTokenCount: 5, invocationLatency: 100, firstByteLatency: 50 };
  const frames = events.map((e) => frame("chunk", { bytes: Buffer.from(JSON.stringify(e)).toString("base64") }));
  if (model.includes("stream-throttle")) return streamFrames([...frames.slice(0, 2), frame("throttlingException", { message: "Too many requests, please wait before trying again." }, "exception")], false, call);
  return streamFrames(frames, model.includes("split"), call);
}

/** CountTokens with an InvokeModel body (base64 in the JSON protocol). */
function countTokens(body: Obj): Response {
  const input = isObj(body.input) && isObj(body.input.invokeModel) ? body.input.invokeModel : undefined;
  if (!input || typeof input.body !== "string") return awsError(400, "ValidationException", "input.invokeModel.body is required.");
  let inner: unknown;
  try {
    inner = JSON.parse(Buffer.from(input.body, "base64").toString("utf8"));
  } catch {
    return awsError(400, "ValidationException", "The invokeModel body is not valid JSON.");
  }
  if (!isObj(inner) || inner.anthropic_version !== "bedrock-2023-05-31" || "model" in inner) return awsError(400, "ValidationException", "Malformed input request: anthropic_version is required and model is not permitted.");
  return Response.json({ inputTokens: JSON.stringify(inner.messages ?? []).length >> 3 });
}
