// A fake Vertex AI on port 0: a token endpoint verifying the service account's JWT (jose), and the Gemini and Claude publisher routes.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { vectorFor } from "./embeddings-wire.ts";
import { greedyTokens, isGreedy } from "./greedy.ts";
import { googleError } from "./gemini-wire.ts";
import { claudeEvents, claudeMessage } from "./bedrock-script.ts";

/**
 * Behaviour by model id: `claude-fault-overloaded` (Anthropic's 529 overloaded_error, relayed as Vertex does),
 * `*-fault-429` (Google's RESOURCE_EXHAUSTED quota error), `claude-fault-midstream` (an Anthropic error event after
 * some text). Tokens: each one issued lives `expiresIn` seconds (Google's 3599 by default); `revoke()` makes the
 * API refuse every token issued so far (401), as after a key rotation.
 */
export interface VertexCall {
  path: string;
  publisher: string;
  model: string;
  method: string;
  token: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface ServiceAccountFile {
  path: string;
  json: Record<string, string>;
}

export interface VertexUpstream {
  url: string;
  project: string;
  calls: VertexCall[];
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
  stop(): Promise<void>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
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

const anthropicError = (status: number, type: string, message: string) => Response.json({ type: "error", error: { type, message } }, { status });

export async function startVertexUpstream(project = "switchboard-test"): Promise<VertexUpstream> {
  const calls: VertexCall[] = [];
  const tokenRequests: Obj[] = [];
  const issued = new Map<string, number>();
  let seq = 0;
  const state = { expiresIn: 3599, tokenDelayMs: 0 };
  let server: ReturnType<typeof Bun.serve>;

  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/token") return token(req);
      const m = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/(google|anthropic)\/models\/([^/:]+):(\w+)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return googleError(404, `The requested URL ${url.pathname} was not found on this server.`);
      const [, proj, , publisher, model, method] = m as unknown as [string, string, string, string, string, string];
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
      calls.push({ path: url.pathname + url.search, publisher, model, method, token: tok, headers: Object.fromEntries(req.headers.entries()), body });
      const n = ++seq;
      if (model.endsWith("fault-429")) return googleError(429, `Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: ${model}. Please submit a quota increase request.`);
      if (publisher === "anthropic") return claude(model, method, body, url, n);
      if (method === "predict") return predict(model, body);
      return gemini(model, method, body, url);
    },
  });

  async function token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    if (state.tokenDelayMs) await Bun.sleep(state.tokenDelayMs);
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
    issued.set(access, Date.now() + state.expiresIn * 1000);
    return Response.json({ access_token: access, expires_in: state.expiresIn, token_type: "Bearer" });
  }

  const url = `http://127.0.0.1:${server.port}`;
  const tokenUri = `${url}/token`;
  const dir = mkdtempSync(join(tmpdir(), "sb-vertex-"));
  const account = await makeAccount(dir, "switchboard", tokenUri, project);
  const stranger = await makeAccount(dir, "stranger", tokenUri, project);

  return {
    url,
    project,
    calls,
    tokenRequests,
    get expiresIn() {
      return state.expiresIn;
    },
    set expiresIn(v: number) {
      state.expiresIn = v;
    },
    get tokenDelayMs() {
      return state.tokenDelayMs;
    },
    set tokenDelayMs(v: number) {
      state.tokenDelayMs = v;
    },
    account: account.file,
    stranger: stranger.file,
    revoke() {
      issued.clear();
    },
    async stop() {
      await server.stop(true);
    },
  };
}

const SSE = { "content-type": "text/event-stream" };
const enc = new TextEncoder();

function sseResponse(events: string[]): Response {
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(c) {
        const e = events[i++];
        if (e === undefined) return c.close();
        c.enqueue(enc.encode(e));
      },
    }),
    { headers: SSE },
  );
}

/** Claude's rawPredict / streamRawPredict / count-tokens, with Vertex's rules on the body. */
function claude(model: string, method: string, body: Obj, url: URL, seq: number): Response {
  if (body.anthropic_version !== "vertex-2023-10-16") return anthropicError(400, "invalid_request_error", "anthropic_version: Input should be 'vertex-2023-10-16'");
  if (model === "count-tokens") {
    if (method !== "rawPredict" || typeof body.model !== "string") return anthropicError(400, "invalid_request_error", "model: Field required");
    return Response.json({ input_tokens: JSON.stringify(body.messages ?? []).length >> 3 });
  }
  if ("model" in body) return anthropicError(400, "invalid_request_error", "model: Extra inputs are not permitted");
  if (model === "claude-fault-overloaded") return anthropicError(529, "overloaded_error", "Overloaded");
  if (typeof body.max_tokens !== "number") return anthropicError(400, "invalid_request_error", "max_tokens: Field required");
  const message = claudeMessage(model, body, seq, "Vertex");
  if (method === "rawPredict") return Response.json(message);
  if (method !== "streamRawPredict" || body.stream !== true) return googleError(400, `Streaming needs streamRawPredict with stream: true (${url.pathname}).`);
  let events = claudeEvents(message).map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
  if (model === "claude-fault-midstream") events = [...events.slice(0, 3), `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })}\n\n`];
  return sseResponse(events);
}

/** Gemini's generateContent / streamGenerateContent?alt=sse on Vertex (roles required, as Vertex requires them). */
function gemini(model: string, method: string, body: Obj, url: URL): Response {
  const contents = arr(body.contents);
  if (contents.length === 0 || contents.some((c) => c.role !== "user" && c.role !== "model")) return googleError(400, "Please use a valid role: user, model.");
  const last = arr(contents[contents.length - 1]!.parts);
  let usageMetadata: Obj = { promptTokenCount: JSON.stringify(contents).length >> 4, candidatesTokenCount: 6, totalTokenCount: (JSON.stringify(contents).length >> 4) + 6 };
  if (isGreedy(model)) {
    // Thoughts and answer together spend maxOutputTokens, as on the Gemini API.
    const gen = isObj(body.generationConfig) ? body.generationConfig : {};
    const total = greedyTokens(gen.maxOutputTokens, gen.candidateCount);
    const thoughts = isObj(gen.thinkingConfig) ? Math.floor(total / 2) : 0;
    usageMetadata = { promptTokenCount: 19, candidatesTokenCount: total - thoughts, thoughtsTokenCount: thoughts, totalTokenCount: 19 + total };
  }
  const decls = arr(body.tools).flatMap((t) => arr(t.functionDeclarations));
  let parts: Obj[];
  const responses = last.map((p) => p.functionResponse).filter(isObj);
  if (responses.length > 0) parts = [{ text: `The tool said: ${responses.map((r) => JSON.stringify(r.response)).join(" ")}` }];
  else if (decls.length > 0 && last.some((p) => typeof p.text === "string")) parts = [{ functionCall: { name: String(decls[0]!.name), args: { city: "Paris" } }, thoughtSignature: "dmVydGV4LXNpZw==" }];
  else {
    const system = arr(isObj(body.systemInstruction) ? body.systemInstruction.parts : []).map((p) => p.text).join(" ");
    parts = [{ text: `Echo from Gemini on Vertex ${model}: ${last.map((p) => p.text ?? "").join("")}${system ? ` [system: ${system}]` : ""}` }];
  }
  const whole = { candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: model, responseId: "vrtx-resp" };
  if (method === "generateContent") return Response.json(whole);
  if (method !== "streamGenerateContent" || url.searchParams.get("alt") !== "sse") return googleError(400, "The fake streams with alt=sse only.");
  const text = typeof parts[0]!.text === "string" ? parts[0]!.text : undefined;
  const events = text
    ? [
        { candidates: [{ content: { role: "model", parts: [{ text: text.slice(0, 12) }] }, index: 0 }], usageMetadata, modelVersion: model },
        { candidates: [{ content: { role: "model", parts: [{ text: text.slice(12) }] }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: model },
      ]
    : [whole];
  return sseResponse(events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`));
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
