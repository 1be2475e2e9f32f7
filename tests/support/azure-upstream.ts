// A fake Azure OpenAI resource on port 0 (on the shared fake core): deployment paths, `api-key` and `api-version` checks, OpenAI's chat wire with Azure's content filters.
import { isObj, startFake, type Call, type ErrorReply, type Fake, type Json, type Message, type Wire } from "./fake-core.ts";
import { chatChunks, chatErrorEvent, chatFrame, chatJson, chatUsage, type ChatStyle } from "./openai-chat-wire.ts";
import { openAIEmbeddings } from "./embeddings-wire.ts";

/**
 * Behaviour is picked by the deployment in the path: `filtered-prompt` (Azure's 400 `content_filter` error with
 * `innererror`), `filtered-output` (an answer cut with finish_reason `content_filter`), `missing-*` (404
 * DeploymentNotFound), and the core's fault names (`fault-429` is Azure's rate limit with retry-after, `fault-500`,
 * `fault-hang`, …); anything else answers like Azure: `prompt_filter_results`, per-choice `content_filter_results`,
 * and in streams the preamble event with empty `choices` before the role chunk. Tools offered and the user's turn
 * last → a tool call; after a tool message → a reply quoting it; otherwise an echo of the user text naming any images.
 */
export interface AzureCall extends Call {
  deployment: string;
  apiVersion: string | null;
}

export interface AzureUpstream extends Fake<AzureCall> {
  /** The resource endpoint, as AzureOpenAI's `endpoint` and the gateway's `base_url` take it. */
  url: string;
  apiKey: string;
  apiVersion: string;
}


const SAFE = { filtered: false, severity: "safe" };
const FILTER_OK = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const FILTERED = { ...FILTER_OK, violence: { filtered: true, severity: "medium" } };
const PROMPT_FILTER = [{ prompt_index: 0, content_filter_results: { ...FILTER_OK, jailbreak: { filtered: false, detected: false } } }];

export const CONTENT_FILTER_MESSAGE =
  "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";

const azureError = (status: number, error: Json, headers: Record<string, string> = {}) => Response.json({ error }, { status, headers: { "apim-request-id": crypto.randomUUID(), ...headers } });

/** Azure's words for an error status: its rate limit (with retry-after), its 500, or the status itself. */
function statusError(e: ErrorReply, apiVersion: string): Response {
  if (e.status === 429) {
    const message = e.message ?? `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.`;
    return azureError(429, { code: e.type ?? "429", message }, { "retry-after": "6", "retry-after-ms": "6000" });
  }
  if (e.status === 500) return azureError(500, { code: e.type ?? "InternalServerError", message: e.message ?? "The server had an error while processing your request." });
  return azureError(e.status, { code: e.type ?? String(e.status), message: e.message ?? "The request failed." });
}

/** The content filter result Azure puts on a choice: none on the role and tool-call chunks, the verdict on text and at a filtered finish. */
function withFilters(chunk: unknown, m: Message): unknown {
  if (!isObj(chunk) || !Array.isArray(chunk.choices) || chunk.choices.length === 0) return chunk;
  const choices = chunk.choices.filter(isObj).map((c) => {
    const delta = isObj(c.delta) ? c.delta : {};
    const filter = typeof delta.content === "string" && delta.content !== "" ? FILTER_OK : c.finish_reason === "content_filter" ? FILTERED : {};
    return { content_filter_results: filter, ...c };
  });
  return { ...chunk, choices };
}

/** The answer a request gets by default: a tool call, a quoted tool result, an echo naming images, or (filtered-output) a cut answer. */
function defaultChat(body: Json, deployment: string): Message {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObj) : [];
  const last = messages[messages.length - 1];
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObj) : [];
  const usage = { input_tokens: 21, output_tokens: 9 };
  if (tools.length > 0 && last?.role === "user" && body.tool_choice !== "none") {
    const name = isObj(tools[0]!.function) ? String(tools[0]!.function.name) : "";
    return { content: [{ type: "tool_use", name, input: { city: "Paris", unit: "celsius" } }], usage };
  }
  if (deployment === "filtered-output") return { content: [{ type: "text", text: "I can tell you that" }], stop_reason: "content_filter", usage };
  const content = last?.content;
  const text = typeof content === "string" ? content : Array.isArray(content) ? content.filter(isObj).map((p) => (p.type === "text" ? String(p.text) : "")).join("") : "";
  const images = Array.isArray(content) ? content.filter((p) => isObj(p) && p.type === "image_url").length : 0;
  return { content: [{ type: "text", text: last?.role === "tool" ? `The tool said: ${text}` : `Echo from Azure: ${text}${images ? ` [${images} image(s)]` : ""}` }], usage };
}

export async function startAzureUpstream(apiKey = "azure-upstream-secret-789", apiVersion = "2024-10-21"): Promise<AzureUpstream> {
  let seq = 0;
  const fake = await startFake<AzureCall>(async (req, url, kit) => {
    const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
    const version = url.searchParams.get("api-version");
    if (!m || req.method !== "POST" || version !== apiVersion) return azureError(404, { code: "404", message: "Resource not found" });
    if (req.headers.get("api-key") !== apiKey) {
      return azureError(401, {
        code: "401",
        message: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
      });
    }
    const deployment = decodeURIComponent(m[1]!);
    const body = (await req.json()) as Json;
    const call = kit.record(req, { deployment, apiVersion: version, body, model: deployment });
    const n = ++seq;
    const style: ChatStyle = {
      id: `chatcmpl-az${n}`,
      created: 1770000000 + n,
      model: "gpt-4o-2024-11-20",
      fingerprint: "fp_azure01",
      usage: (msg) => ({ ...chatUsage(msg, 21, 9), completion_tokens_details: { reasoning_tokens: msg.usage?.thinking_tokens ?? 0 }, prompt_tokens_details: { cached_tokens: msg.usage?.cache_read_input_tokens ?? 0 } }),
      toolCallId: (i) => `call_az${n}${i > 0 ? `_${i}` : ""}`,
      choices: 1,
      includeUsage: isObj(body.stream_options) && body.stream_options.include_usage === true,
      roleApart: true,
    };
    const wire: Wire<AzureCall> = {
      error: (e) => statusError(e, apiVersion),
      json: (msg) => {
        const r = chatJson(msg, style);
        const filter = msg.content.some((b) => b.type === "tool_use") ? {} : msg.stop_reason === "content_filter" ? FILTERED : FILTER_OK;
        return Response.json({ ...r, choices: (r.choices as Json[]).map((c) => ({ content_filter_results: filter, ...c })), prompt_filter_results: PROMPT_FILTER });
      },
      events: (msg) => [{ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: PROMPT_FILTER }, ...chatChunks(msg, style).map((c) => withFilters(c, msg))],
      frame: chatFrame,
      errorEvent: chatErrorEvent,
      streamHeaders: { "content-type": "text/event-stream; charset=utf-8" },
      // Mid-stream is past the preamble and the role chunk.
      breakAfter: { hang: 2, reset: 3, end: 3, error: 3 },
    };
    const headers = { "apim-request-id": crypto.randomUUID() };
    if (m[2] === "embeddings") {
      const a = openAIEmbeddings(body, "text-embedding-3-small");
      return kit.answer(req, call, wire, { stream: false, answer: () => Response.json(a.body, { status: a.status, headers }) });
    }
    if (deployment.startsWith("missing")) {
      return azureError(404, { code: "DeploymentNotFound", message: "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again." });
    }
    if (deployment === "filtered-prompt") {
      return azureError(400, {
        message: CONTENT_FILTER_MESSAGE,
        type: null,
        param: "prompt",
        code: "content_filter",
        status: 400,
        innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { ...FILTERED, jailbreak: { filtered: false, detected: false } } },
      });
    }
    return kit.answer(req, call, wire, { stream: body.stream === true, headers, answer: () => ({ kind: "message", message: defaultChat(body, deployment) }) });
  });
  return Object.assign(fake, { apiKey, apiVersion });
}
