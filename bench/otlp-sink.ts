// A local OpenTelemetry collector stand-in for benchmarks: accepts OTLP/HTTP JSON on /v1/traces and counts spans.
// Env: PORT. GET /count answers the number of spans received.
export {}; // a module, not a global script: its own scope, and top-level await
let spans = 0;
Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/count") return new Response(String(spans));
    if (req.method === "POST" && url.pathname === "/v1/traces") {
      const body = (await req.json()) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
      for (const r of body.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) spans += s.spans?.length ?? 0;
      return Response.json({});
    }
    return new Response("ok");
  },
});
