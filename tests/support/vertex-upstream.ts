// A fake Vertex AI on port 0 (on the shared fake core): a token endpoint verifying the service account's JWT (jose), and the Gemini and Claude publisher routes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { isObj, startFake, type Call, type ErrorReply, type Fake, type Json, type Message, type Wire } from "./fake-core.ts";
import { claudeError, claudeErrorEvent, claudeErrorType, claudeEvents, claudeFrame, claudeJson, type ClaudeStyle } from "./anthropic-wire.ts";
import { googleError, googleErrorEvent, googleFrame, googleJson, geminiEvents, merge, MESSAGE, type GeminiStyle } from "./gemini-wire.ts";
import { vectorFor } from "./embeddings-wire.ts";
import { greedyGemini } from "./gemini-upstream.ts";
import { isGreedy } from "./greedy.ts";
import { claudeDefault, claudeWords } from "./bedrock-script.ts";

/**
 * Behaviour by model id: the core's fault names (`*-fault-429` is Google's RESOURCE_EXHAUSTED quota error, for Claude
 * too, as Vertex relays it; `fault-hang`, …) and Vertex's own: `claude-fault-overloaded` (Anthropic's 529
 * overloaded_error, relayed as Vertex does), `claude-fault-midstream` (an Anthropic error event after some text).
 * Tokens: each one issued lives `expiresIn` seconds (Google's 3599 by default); `revoke()` makes the API refuse every
 * token issued so far (401), as after a key rotation.
 */
export interface VertexCall extends Call {
  publisher: string;
  /** The publisher method: generateContent, streamGenerateContent, predict, rawPredict, streamRawPredict. */
  operation: string;
  token: string;
}

export interface ServiceAccountFile {
  path: string;
  json: Record<string, string>;
}

export interface VertexUpstream extends Fake<VertexCall> {
  project: string;
  /** Token exchanges asked for (successful or not), with the JWT claims of each. */
  tokenRequests: Record<string, unknown>[];
  /** Lifetime of the next tokens issued, in seconds. */
  expiresIn: number;
  /** Delay before the token endpoint answers (so concurrent first calls overlap). */
  tokenDelayMs: number;
  /** The service account the fake trusts, written to a key file. */
  account: ServiceAccountFile;
  /** Another account whose key the fake does not know (its JWTs fail verification). */
  stranger: ServiceAccountFile;
  revoke(): void;
}

type Obj = Json;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

async function makeAccount(dir: string, name: string, tokenUri: string, project: string): Promise<{ file: ServiceAccountFile; publicKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
  const json = {
    type: "service_account",
    project_id: project,
    private_key_id: `${name}-key-id-0123456789abcdef`,
    private_key: await exportPKCS8(privateKey),
    client_email: `${name}@${project}.iam.gserviceaccount.com`,
    client_id: "100000000000000000001",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUri,
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(json, null, 2));
  return { file: { path, json }, publicKey };
}

const SSE = { "content-type": "text/event-stream" };
const quota = (model: string) => `Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: ${model}. Please submit a quota increase request.`;
/** Vertex's errors: a quota error in Google's words whatever the publisher; Claude's other errors in Anthropic's. */
const vertexError = (e: ErrorReply, model: string, publisher: string): Response => {
  if (e.status === 429 || publisher !== "anthropic") return googleError(e.status, e.message ?? (e.status === 429 ? quota(model) : MESSAGE[e.status] ?? "Request failed."), undefined, e.type);
  return Response.json(claudeError(e.type ?? claudeErrorType(e.status), e.message ?? (e.status === 529 ? "Overloaded" : "Error")), { status: e.status });
};
const FAULTS: Wire<VertexCall>["faults"] = {
  overloaded: { kind: "error", status: 529 },
  midstream: { break: { then: "error", after: 3 } },
};

export async function startVertexUpstream(project = "switchboard-test"): Promise<VertexUpstream> {
  const tokenRequests: Obj[] = [];
  const issued = new Map<string, number>();
  let seq = 0;

  const fake = await startFake<VertexCall>(async (req, url, kit) => {
    if (url.pathname === "/token") return token(req);
    const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):(\w+)$/.exec(url.pathname);
    if (!m || req.method !== "POST") return googleError(404, `The requested URL ${url.pathname} was not found on this server.`);
    const [, proj, , publisher, model, operation] = m as unknown as [string, string, string, string, string, string];
    const auth = req.headers.get("authorization") ?? "";
    const tok = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    const expiry = issued.get(tok);
    if (expiry === undefined || Date.now() > expiry) {
      return googleError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    }
    if (proj !== project) return googleError(403, `Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/${proj}' (or it may not exist).`);
    let body: Obj;
    try {
      const parsed: unknown = await req.json();
      body = isObj(parsed) ? parsed : {};
    } catch {
      return googleError(400, "Invalid JSON payload received.");
    }
    const call = kit.record(req, { publisher, model, operation, token: tok, body });
    const n = ++seq;
    const base = { error: (e: ErrorReply) => vertexError(e, model, publisher), faults: FAULTS };
    if (publisher === "anthropic") {
      const problem = claudeProblem(model, operation, body);
      if (problem) return problem;
      if (model === "count-tokens") return Response.json({ input_tokens: JSON.stringify(body.messages ?? []).length >> 3 });
      const style: ClaudeStyle = { id: `msg_vrtx_${String(n).padStart(6, "0")}`, model, toolId: () => `toolu_vrtx_${n}`, counts: (msg) => ({ input: JSON.stringify(body.messages).length >> 4, output: claudeWords(msg.content) }), ping: false };
      const wire: Wire<VertexCall> = { ...base, json: (msg) => Response.json(claudeJson(msg, style)), events: (msg) => claudeEvents(msg, style), frame: claudeFrame, errorEvent: claudeErrorEvent, streamHeaders: SSE };
      return kit.answer(req, call, wire, { stream: operation === "streamRawPredict", answer: () => ({ kind: "message", message: claudeDefault(model, body, n, "Vertex") }) });
    }
    const gen = isObj(body.generationConfig) ? body.generationConfig : {};
    const counts = { input: JSON.stringify(body.contents ?? []).length >> 4, output: 6 };
    const style: GeminiStyle = { model, responseId: "vrtx-resp", signature: "dmVydGV4LXNpZw==", thoughts: isObj(gen.thinkingConfig) && gen.thinkingConfig.includeThoughts === true, counts };
    const wire: Wire<VertexCall> = { ...base, json: (msg) => googleJson(merge(geminiEvents(msg, style))), events: (msg) => geminiEvents(msg, style), frame: googleFrame, errorEvent: googleErrorEvent, streamHeaders: SSE };
    if (operation === "predict") return kit.answer(req, call, wire, { stream: false, answer: () => predict(model, body) });
    const problem = geminiProblem(operation, body, url);
    if (problem) return googleError(400, problem);
    return kit.answer(req, call, wire, { stream: operation === "streamGenerateContent", answer: () => ({ kind: "message", message: geminiDefault(model, body) }) });
  });

  async function token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    if (up.tokenDelayMs) await Bun.sleep(up.tokenDelayMs);
    const claims: Obj = { grant_type: form.get("grant_type") };
    tokenRequests.push(claims);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return Response.json({ error: "unsupported_grant_type", error_description: "Invalid grant_type." }, { status: 400 });
    try {
      const { payload, protectedHeader } = await jwtVerify(form.get("assertion") ?? "", account.publicKey, { issuer: account.file.json.client_email, audience: tokenUri, algorithms: ["RS256"] });
      Object.assign(claims, payload, { kid: protectedHeader.kid });
      if (protectedHeader.kid !== account.file.json.private_key_id) throw new Error("kid");
      if (payload.scope !== "https://www.googleapis.com/auth/cloud-platform") throw new Error("scope");
    } catch {
      return Response.json({ error: "invalid_grant", error_description: "Invalid JWT Signature." }, { status: 400 });
    }
    const access = `ya29.fake-${tokenRequests.length}-${crypto.randomUUID()}`;
    issued.set(access, Date.now() + up.expiresIn * 1000);
    return Response.json({ access_token: access, expires_in: up.expiresIn, token_type: "Bearer" });
  }

  const url = fake.url;
  const tokenUri = `${url}/token`;
  const dir = mkdtempSync(join(tmpdir(), "sb-vertex-"));
  const account = await makeAccount(dir, "switchboard", tokenUri, project);
  const stranger = await makeAccount(dir, "stranger", tokenUri, project);

  const up: VertexUpstream = Object.assign(fake, {
    project,
    tokenRequests,
    expiresIn: 3599,
    tokenDelayMs: 0,
    account: account.file,
    stranger: stranger.file,
    revoke() {
      issued.clear();
    },
  });
  return up;
}

/** Vertex's rules on a Claude body (rawPredict / streamRawPredict / count-tokens), as Claude's or Google's error. */
function claudeProblem(model: string, operation: string, body: Obj): Response | undefined {
  const refuse = (message: string) => Response.json(claudeError("invalid_request_error", message), { status: 400 });
  if (body.anthropic_version !== "vertex-2023-10-16") return refuse("anthropic_version: Input should be 'vertex-2023-10-16'");
  if (model === "count-tokens") return operation !== "rawPredict" || typeof body.model !== "string" ? refuse("model: Field required") : undefined;
  if ("model" in body) return refuse("model: Extra inputs are not permitted");
  if (typeof body.max_tokens !== "number") return refuse("max_tokens: Field required");
  if (operation !== "rawPredict" && (operation !== "streamRawPredict" || body.stream !== true)) return googleError(400, `Streaming needs streamRawPredict with stream: true (${operation}).`);
  return undefined;
}

/** Vertex's rules on a Gemini body: roles required, streams with alt=sse. */
function geminiProblem(operation: string, body: Obj, url: URL): string | undefined {
  const contents = arr(body.contents);
  if (contents.length === 0 || contents.some((c) => c.role !== "user" && c.role !== "model")) return "Please use a valid role: user, model.";
  if (operation === "generateContent") return undefined;
  if (operation !== "streamGenerateContent" || url.searchParams.get("alt") !== "sse") return "The fake streams with alt=sse only.";
  return undefined;
}

/** Gemini on Vertex by default: a reply quoting a function response, a function call when tools are offered, else an echo naming the system text. */
function geminiDefault(model: string, body: Obj): Message {
  if (isGreedy(model)) return greedyGemini(body);
  const contents = arr(body.contents);
  const last = arr(contents[contents.length - 1]!.parts);
  const decls = arr(body.tools).flatMap((t) => arr(t.functionDeclarations));
  const responses = last.map((p) => p.functionResponse).filter(isObj);
  if (responses.length > 0) return { content: [{ type: "text", text: `The tool said: ${responses.map((r) => JSON.stringify(r.response)).join(" ")}` }] };
  if (decls.length > 0 && last.some((p) => typeof p.text === "string")) return { content: [{ type: "tool_use", name: String(decls[0]!.name), input: { city: "Paris" } }] };
  const system = arr(isObj(body.systemInstruction) ? body.systemInstruction.parts : []).map((p) => p.text).join(" ");
  return { content: [{ type: "text", text: `Echo from Gemini on Vertex ${model}: ${last.map((p) => p.text ?? "").join("")}${system ? ` [system: ${system}]` : ""}` }] };
}

/** `:predict` for text embeddings; gemini-embedding-001 takes one instance per request, as on Vertex. */
function predict(model: string, body: Obj): Response {
  const instances = arr(body.instances);
  if (!model.includes("embedding")) return googleError(400, `Model ${model} does not support predict for embeddings.`);
  if (model.startsWith("gemini-embedding") && instances.length > 1) return googleError(400, "Unable to submit request because the model supports only 1 instance per request.");
  if (instances.length === 0 || instances.some((i) => typeof i.content !== "string")) return googleError(400, "instances[].content is required.");
  const dims = isObj(body.parameters) && typeof body.parameters.outputDimensionality === "number" ? body.parameters.outputDimensionality : 8;
  return Response.json({
    predictions: instances.map((i) => ({ embeddings: { values: vectorFor(String(i.content), dims), statistics: { token_count: String(i.content).split(/\s+/).length, truncated: false } } })),
    metadata: { billableCharacterCount: instances.reduce((n, i) => n + String(i.content).length, 0) },
  });
}
