// A fake Bedrock runtime on port 0 (on the shared fake core): SigV4 checked with AWS's own signer, streams framed with AWS's own event-stream codec.
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { isObj, faultName, startFake, type Call, type Delivery, type ErrorReply, type Fake, type Json, type Message, type Reply, type StreamError, type Wire } from "./fake-core.ts";
import { claudeEvents, claudeJson, type ClaudeStyle } from "./anthropic-wire.ts";
import { vectorFor } from "./embeddings-wire.ts";
import { claudeDefault, claudeWords, converseDefault, converseEvents, converseJson, converseProblem } from "./bedrock-script.ts";

/**
 * Behaviour is picked by the model id in the path (so one fake serves a whole config): the core's fault names
 * (`fault-500`, `fault-hang`, `fault-hang-stream` (two frames, then silence), `fault-cut` (the body ends inside a
 * frame), …) and Bedrock's own: `fault-throttle` (429 ThrottlingException), `fault-validation` (400
 * ValidationException), `fault-denied` (403 AccessDeniedException naming an account), `fault-stream-throttle` (text,
 * then a throttlingException frame), `fault-stream-first` (a modelStreamErrorException as the first frame),
 * `fault-corrupt` (a frame whose message CRC is wrong); on InvokeModel a Claude id containing `stream-throttle` throttles
 * after two frames. Every stream is written a few bytes at a time when the model id contains `split`, so frames arrive
 * in pieces. The core's script (`throttle`, `500`, replies) and respond steer the next calls.
 */
export interface BedrockCall extends Call {
  operation: string;
  auth: "sigv4" | "bearer";
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

export interface BedrockUpstream extends Fake<BedrockCall> {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  apiKey: string;
}

type Obj = Json;
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

/** AWS's error type for a status when the reply names none. */
const AWS_TYPE: Record<number, [string, string]> = {
  400: ["ValidationException", "The provided model identifier is invalid."],
  403: ["AccessDeniedException", "User: arn:aws:iam::123456789012:user/switchboard-test is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/x"],
  404: ["ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."],
  429: ["ThrottlingException", "Too many requests, please wait before trying again."],
  503: ["ServiceUnavailableException", "Bedrock is unable to process your request."],
};
const awsStatusError = (e: ErrorReply) => {
  const [type, message] = AWS_TYPE[e.status] ?? ["InternalServerException", "The server encountered an internal error while processing the request."];
  return awsError(e.status, e.type ?? type, e.message ?? message);
};

/** An exception frame for an error that ends a stream (throttlingException, modelStreamErrorException, …). */
const exceptionEvent = (e: StreamError | undefined): [string, Obj, "exception"] => [
  e?.type ?? "throttlingException",
  { message: e?.message ?? "Too many requests, please wait before trying again.", ...(e?.status ? { originalStatusCode: e.status } : {}) },
  "exception",
];
const framed = (e: unknown) => {
  const [type, payload, kind] = e as [string, Obj, "event" | "exception" | undefined];
  return frame(type, payload, kind);
};
const EVENT_STREAM = { "content-type": "application/vnd.amazon.eventstream", "x-amzn-bedrock-content-type": "application/json" };

/** Bedrock's own fault names. */
const FAULTS: Wire<BedrockCall>["faults"] = {
  throttle: { kind: "error", status: 429 },
  validation: { kind: "error", status: 400 },
  denied: { kind: "error", status: 403 },
  "stream-throttle": { break: { then: "error", after: 3 } },
  "stream-first": { break: { then: "error", after: 0, error: { type: "modelStreamErrorException", message: "The model stream failed.", status: 500 } } },
  // The body ends ten bytes into the third frame.
  cut: { break: { then: "end", after: 2, partial: 10 } },
  // The second frame's message CRC is wrong (a ConverseStream fault: other operations answer as usual).
  corrupt: (call): Reply | Delivery => {
    if (call.operation !== "converse-stream") return {};
    const frames = converseEvents(converseDefault(call.model, call.body, 0), call.body).map(framed);
    frames[1] = frames[1]!.slice();
    frames[1][frames[1].length - 1]! ^= 0xff;
    return { kind: "events", events: frames };
  },
};

export async function startBedrockUpstream(opts: BedrockUpstreamOptions = {}): Promise<BedrockUpstream> {
  const o = {
    region: opts.region ?? "us-east-1",
    accessKeyId: opts.accessKeyId ?? "AKIAFAKEBEDROCK00001",
    secretAccessKey: opts.secretAccessKey ?? "fake-bedrock-secret-key/0123456789abcdefghij",
    sessionToken: opts.sessionToken,
    apiKey: opts.apiKey ?? "ABSKfakeBedrockApiKey0123456789",
  };
  let seq = 0;

  const fake = await startFake<BedrockCall>(async (req, url, kit) => {
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
    const call = kit.record(req, { model, operation, body, auth });
    const n = ++seq;
    const split = model.includes("split") ? { split: 7 } : {};
    const base = { error: awsStatusError, frame: framed, errorEvent: exceptionEvent, streamHeaders: EVENT_STREAM, breakAfter: { hang: 2 }, faults: FAULTS };
    if (operation === "count-tokens") return kit.answer(req, call, { ...base, ...converseWire(body) }, { stream: false, answer: () => countTokens(body) });
    if (operation === "invoke" || operation === "invoke-with-response-stream") {
      const stream = operation === "invoke-with-response-stream";
      // A model naming a fault answers with it whatever the body (the checks below know Claude and embeddings only).
      const problem = faultName(model) === undefined ? invokeProblem(model, body) : undefined;
      if (problem) return awsError(400, "ValidationException", problem);
      const style: ClaudeStyle = {
        id: `msg_bdrk_${String(n).padStart(6, "0")}`,
        model,
        toolId: () => `toolu_bdrk_${n}`,
        counts: (msg) => ({ input: JSON.stringify(body.messages).length >> 4, output: claudeWords(msg.content) }),
        ping: false,
      };
      const wire: Wire<BedrockCall> = { ...base, json: (msg) => Response.json(claudeJson(msg, style)), events: (msg) => invokeEvents(msg, style) };
      return kit.answer(req, call, wire, {
        stream,
        answer: (): Reply | Response => {
          const embedded = embeddings(model, body);
          if (embedded) return embedded;
          // A Claude id naming stream-throttle throttles after two frames (a fault- prefix would not make it a Claude id).
          const throttled = model.includes("stream-throttle") ? { break: { then: "error" as const, after: 2 } } : {};
          return { kind: "message", message: claudeDefault(model, body, n, "Bedrock"), ...split, ...throttled };
        },
      });
    }
    const problem = converseProblem(body);
    if (problem) return awsError(400, "ValidationException", problem);
    return kit.answer(req, call, { ...base, ...converseWire(body) }, { stream: operation === "converse-stream", answer: () => ({ kind: "message", message: converseDefault(model, body, n), ...split }) });
  });

  return Object.assign(fake, o);
}

/** Converse's wire for one request: JSON, or [event type, payload] events. */
function converseWire(body: Obj): Pick<Wire<BedrockCall>, "json" | "events"> {
  return { json: (m) => Response.json(converseJson(m, body)), events: (m) => converseEvents(m, body) };
}

/** InvokeModel's stream for Claude: each Anthropic event base64 in a `chunk` frame, the invocation metrics on the last. */
function invokeEvents(m: Message, style: ClaudeStyle): [string, Obj][] {
  const events = claudeEvents(m, style);
  events[events.length - 1]!["amazon-bedrock-invocationMetrics"] = { inputTokenCount: 10, outputTokenCount: 5, invocationLatency: 100, firstByteLatency: 50 };
  return events.map((e) => ["chunk", { bytes: Buffer.from(JSON.stringify(e)).toString("base64") }]);
}

/** InvokeModel's rules: Claude in Anthropic's format (anthropic_version bedrock-2023-05-31, no model or stream), Titan and Cohere embeddings. */
function invokeProblem(model: string, body: Obj): string | undefined {
  if (model.includes("titan-embed")) return typeof body.inputText !== "string" || body.inputText === "" ? "Malformed input request: #: required key [inputText] not found, please reformat your input and try again." : undefined;
  if (model.includes("cohere.embed")) {
    const texts = Array.isArray(body.texts) ? body.texts.filter((t): t is string => typeof t === "string") : [];
    return texts.length === 0 || typeof body.input_type !== "string" ? "Malformed input request: texts and input_type are required." : undefined;
  }
  if (!model.includes("claude")) return `The fake serves InvokeModel for Claude and embeddings only, not ${model}.`;
  if (body.anthropic_version !== "bedrock-2023-05-31") return "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.";
  for (const k of ["model", "stream"]) if (k in body) return `Malformed input request: #: extraneous key [${k}] is not permitted, please reformat your input and try again.`;
  if (typeof body.max_tokens !== "number") return "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.";
  return undefined;
}

/** Titan and Cohere embeddings (InvokeModel), or undefined for a Claude model. */
function embeddings(model: string, body: Obj): Response | undefined {
  if (model.includes("titan-embed")) {
    const text = String(body.inputText);
    const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
    return Response.json({ embedding: vectorFor(text, dims), inputTextTokenCount: text.split(/\s+/).length });
  }
  if (model.includes("cohere.embed")) {
    const texts = (body.texts as unknown[]).filter((t): t is string => typeof t === "string");
    return Response.json({ id: crypto.randomUUID(), response_type: "embeddings_floats", texts, embeddings: texts.map((t) => vectorFor(t, 8)) });
  }
  return undefined;
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
