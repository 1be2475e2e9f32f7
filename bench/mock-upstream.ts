// A fast OpenAI-compatible provider for benchmarks: fixed JSON answer, or an SSE stream of CHUNKS chunks.
// Env: PORT (default 0 = any), CHUNKS (default 20), CHUNK_DELAY_MS (default 0), FIRST_BYTE_MS (default 0).
export {}; // a module, not a global script: its own scope, and top-level await
const CHUNKS = Number(process.env.CHUNKS ?? 20);
const CHUNK_DELAY = Number(process.env.CHUNK_DELAY_MS ?? 0);
const FIRST_BYTE = Number(process.env.FIRST_BYTE_MS ?? 0);
const enc = new TextEncoder();
const usage = { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS };
const json = (model: string) => JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", created: 1700000000, model,
  choices: [{ index: 0, message: { role: "assistant", content: "word ".repeat(CHUNKS).trim() }, finish_reason: "stop" }], usage,
});
const chunk = (model: string, delta: object, finish: string | null = null) =>
  enc.encode(`data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1", idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname.endsWith("/models")) return Response.json({ object: "list", data: [{ id: "bench-model", object: "model", created: 0, owned_by: "bench" }] });
    if (!url.pathname.endsWith("/chat/completions")) return new Response("not found", { status: 404 });
    const body: any = await req.json();
    const model = String(body.model ?? "bench-model");
    if (FIRST_BYTE) await Bun.sleep(FIRST_BYTE);
    if (!body.stream) return new Response(json(model), { headers: { "content-type": "application/json" } });
    const withUsage = body.stream_options?.include_usage;
    let i = -1;
    return new Response(new ReadableStream({
      async pull(c) {
        if (CHUNK_DELAY && i >= 0) await Bun.sleep(CHUNK_DELAY);
        if (i === -1) c.enqueue(chunk(model, { role: "assistant", content: "" }));
        else if (i < CHUNKS) c.enqueue(chunk(model, { content: i ? " word" : "word" }));
        else {
          c.enqueue(chunk(model, {}, "stop"));
          if (withUsage) c.enqueue(enc.encode(`data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model, choices: [], usage })}\n\n`));
          c.enqueue(enc.encode("data: [DONE]\n\n"));
          c.close();
        }
        i++;
      },
    }), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
  },
});
console.log(`http://127.0.0.1:${server.port}`);
