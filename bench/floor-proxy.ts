// The floor for any Bun gateway: forward the request body to UPSTREAM and stream the answer straight back.
// No validation, auth, limits or translation. Env: PORT, UPSTREAM (e.g. http://127.0.0.1:9000).
export {}; // a module, not a global script: its own scope, and top-level await
const UPSTREAM = process.env.UPSTREAM!;
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1", idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    const up = await fetch(UPSTREAM + url.pathname.replace(/^\/api/, ""), {
      method: req.method, body: req.body, signal: req.signal,
      headers: { "content-type": "application/json", authorization: "Bearer upstream-key" },
    });
    return new Response(up.body, { status: up.status, headers: { "content-type": up.headers.get("content-type") ?? "application/json" } });
  },
});
console.log(`http://127.0.0.1:${server.port}`);
