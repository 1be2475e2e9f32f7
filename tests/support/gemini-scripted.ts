// A scripted Gemini (v1beta) server on port 0: each request gets the next scripted turn, in Google's wire format (JSON or SSE).

/** One model turn: the parts of the candidate's content (text, a functionCall with its thoughtSignature, thoughts). */
export type GeminiTurn = Record<string, unknown>[];

export interface ScriptedGemini {
  /** Base URL as the gateway's `base_url` takes it. */
  url: string;
  apiKey: string;
  requests: { path: string; body: Record<string, unknown> }[];
  /** Queues turns, one per request in order; with none left the model says "done". */
  reply(...turns: GeminiTurn[]): void;
  stop(): Promise<void>;
}

const enc = new TextEncoder();

export async function startScriptedGemini(apiKey = "gemini-scripted-key-321"): Promise<ScriptedGemini> {
  const queue: GeminiTurn[] = [];
  const requests: ScriptedGemini["requests"] = [];
  let n = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return Response.json({ error: { code: 404, message: "Not found", status: "NOT_FOUND" } }, { status: 404 });
      if (req.headers.get("x-goog-api-key") !== apiKey) {
        return Response.json({ error: { code: 400, message: "API key not valid. Please pass a valid API key.", status: "INVALID_ARGUMENT" } }, { status: 400 });
      }
      const body = (await req.json()) as Record<string, unknown>;
      requests.push({ path: url.pathname + url.search, body });
      const parts = queue.shift() ?? [{ text: "done" }];
      const usageMetadata = { promptTokenCount: 40 + 10 * n, candidatesTokenCount: 12, totalTokenCount: 52 + 10 * n };
      const payload = { candidates: [{ content: { parts, role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: m[1], responseId: `scripted-${++n}` };
      if (m[2] === "generateContent") return Response.json(payload);
      return new Response(enc.encode(`data: ${JSON.stringify(payload)}\r\n\r\n`), { headers: { "content-type": "text/event-stream" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    apiKey,
    requests,
    reply: (...turns) => void queue.push(...turns),
    stop: () => server.stop(true),
  };
}
