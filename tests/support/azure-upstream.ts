// A fake Azure OpenAI resource on port 0: deployment paths, `api-key` and `api-version` checks, content-filter shapes.

/**
 * Behaviour is picked by the deployment in the path: `filtered-prompt` (Azure's 400 `content_filter` error
 * with `innererror`), `filtered-output` (an answer cut with finish_reason `content_filter`), `fault-429`
 * (rate limit with retry-after), `fault-500`, `missing-*` (404 DeploymentNotFound); anything else answers like
 * Azure: `prompt_filter_results`, per-choice `content_filter_results`, and in streams the preamble event with
 * empty `choices` before the role chunk. Tools offered and the user's turn last → a tool call; after a tool
 * message → a reply quoting it; otherwise an echo of the user text naming any images.
 */
export interface AzureCall {
  path: string;
  deployment: string;
  apiVersion: string | null;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface AzureUpstream {
  /** The resource endpoint, as AzureOpenAI's `endpoint` and the gateway's `base_url` take it. */
  url: string;
  apiKey: string;
  apiVersion: string;
  calls: AzureCall[];
  stop(): Promise<void>;
}

import { openAIEmbeddings } from "./embeddings-wire.ts";

const enc = new TextEncoder();
const sse = (o: unknown) => enc.encode(`data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const SAFE = { filtered: false, severity: "safe" };
const FILTER_OK = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER = [{ prompt_index: 0, content_filter_results: { ...FILTER_OK, jailbreak: { filtered: false, detected: false } } }];

export const CONTENT_FILTER_MESSAGE =
  "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";

const azureError = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  Response.json({ error }, { status, headers: { "apim-request-id": crypto.randomUUID(), ...headers } });

export async function startAzureUpstream(apiKey = "azure-upstream-secret-789", apiVersion = "2024-10-21"): Promise<AzureUpstream> {
  const calls: AzureCall[] = [];
  let seq = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
      const version = url.searchParams.get("api-version");
      if (!m || req.method !== "POST" || version !== apiVersion) return azureError(404, { code: "404", message: "Resource not found" });
      const headers = Object.fromEntries(req.headers.entries());
      if (headers["api-key"] !== apiKey) {
        return azureError(401, {
          code: "401",
          message: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        });
      }
      const deployment = decodeURIComponent(m[1]!);
      const body = (await req.json()) as Record<string, unknown>;
      calls.push({ path: url.pathname + url.search, deployment, apiVersion: version, headers, body });
      if (m[2] === "embeddings") {
        const a = openAIEmbeddings(body, "text-embedding-3-small");
        return Response.json(a.body, { status: a.status });
      }

      if (deployment.startsWith("missing")) {
        return azureError(404, { code: "DeploymentNotFound", message: "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again." });
      }
      if (deployment === "fault-429") {
        return azureError(429, { code: "429", message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.` }, { "retry-after": "6", "retry-after-ms": "6000" });
      }
      if (deployment === "fault-500") return azureError(500, { code: "InternalServerError", message: "The server had an error while processing your request." });
      if (deployment === "filtered-prompt") {
        return azureError(400, {
          message: CONTENT_FILTER_MESSAGE,
          type: null,
          param: "prompt",
          code: "content_filter",
          status: 400,
          innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { ...FILTER_OK, violence: { filtered: true, severity: "medium" }, jailbreak: { filtered: false, detected: false } } },
        });
      }

      const id = `chatcmpl-az${++seq}`;
      const created = 1770000000 + seq;
      const model = "gpt-4o-2024-11-20";
      const messages = Array.isArray(body.messages) ? body.messages.filter(isObj) : [];
      const last = messages[messages.length - 1];
      const tools = Array.isArray(body.tools) ? body.tools.filter(isObj) : [];
      const toolName = isObj(tools[0]?.function) ? String(tools[0].function.name) : "";
      const wantsTool = tools.length > 0 && last?.role === "user" && body.tool_choice !== "none";
      const content = last?.content;
      const text = typeof content === "string" ? content : Array.isArray(content) ? content.filter(isObj).map((p) => (p.type === "text" ? String(p.text) : "")).join("") : "";
      const images = Array.isArray(content) ? content.filter((p) => isObj(p) && p.type === "image_url").length : 0;
      const filtered = deployment === "filtered-output";
      const answer = filtered ? "I can tell you that" : last?.role === "tool" ? `The tool said: ${text}` : `Echo from Azure: ${text}${images ? ` [${images} image(s)]` : ""}`;
      const toolCall = wantsTool ? { id: `call_az${seq}`, type: "function", function: { name: toolName, arguments: '{"city":"Paris","unit":"celsius"}' } } : null;
      const finish = filtered ? "content_filter" : toolCall ? "tool_calls" : "stop";
      const usage = { completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 0 }, prompt_tokens: 21, prompt_tokens_details: { cached_tokens: 0 }, total_tokens: 30 };
      const outFilter = filtered ? { ...FILTER_OK, violence: { filtered: true, severity: "medium" } } : FILTER_OK;

      if (!body.stream) {
        const message = toolCall ? { role: "assistant", content: null, tool_calls: [toolCall], refusal: null } : { role: "assistant", content: answer, refusal: null };
        return Response.json({
          choices: [{ content_filter_results: toolCall ? {} : outFilter, finish_reason: finish, index: 0, logprobs: null, message }],
          created,
          id,
          model,
          object: "chat.completion",
          prompt_filter_results: PROMPT_FILTER,
          system_fingerprint: "fp_azure01",
          usage,
        });
      }

      const includeUsage = isObj(body.stream_options) && body.stream_options.include_usage === true;
      const base = { created, id, model, object: "chat.completion.chunk", system_fingerprint: "fp_azure01" };
      const chunk = (delta: object, finishReason: string | null = null, filter: object = FILTER_OK) => ({
        choices: [{ content_filter_results: filter, delta, finish_reason: finishReason, index: 0, logprobs: null }],
        ...base,
        ...(includeUsage ? { usage: null } : {}),
      });
      const events: unknown[] = [{ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: PROMPT_FILTER }];
      events.push(chunk({ content: "", refusal: null, role: "assistant" }, null, {}));
      if (toolCall) {
        events.push(chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: "function", function: { name: toolName, arguments: "" } }] }, null, {}));
        events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] }, null, {}));
      } else {
        for (const w of answer.split(/(?<= )/)) events.push(chunk({ content: w }));
      }
      events.push(chunk({}, finish, filtered ? outFilter : {}));
      if (includeUsage) events.push({ choices: [], ...base, usage });
      events.push("[DONE]");
      let i = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            const e = events[i++];
            if (e === undefined) return c.close();
            c.enqueue(sse(e));
          },
        }),
        { headers: { "content-type": "text/event-stream; charset=utf-8", "apim-request-id": crypto.randomUUID() } },
      );
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    apiKey,
    apiVersion,
    calls,
    async stop() {
      await server.stop(true);
    },
  };
}
