// Time to first byte of a streamed chat completion: N sequential requests, median and p90 (ms) of fetch → first body chunk.
// Usage: bun ttfb.ts URL [N] [KEY]   prints `TTFB p50_ms=… p90_ms=… n=…`
// EXTRA_HEADERS ("name:value;name:value", as post.lua takes it) adds headers: Portkey's provider and host.
export {}; // a module, not a global script: its own scope, and top-level await
const [url, nText = "300", key = "sk-bench"] = Bun.argv.slice(2);
if (!url) throw new Error("usage: bun ttfb.ts URL [N] [KEY]");
const n = Number(nText);
const body = JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "Say hello in twenty words please." }] });
const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${key}` };
for (const pair of (process.env.EXTRA_HEADERS ?? "").split(";")) {
  const colon = pair.indexOf(":");
  if (colon > 0) headers[pair.slice(0, colon)] = pair.slice(colon + 1);
}

async function once(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url!, { method: "POST", headers, body });
  const reader = res.body!.getReader();
  const first = await reader.read();
  const t = performance.now() - t0;
  if (res.status !== 200 || first.done) throw new Error(`bad stream from ${url}: ${res.status}`);
  while (!(await reader.read()).done);
  return t;
}

for (let i = 0; i < 30; i++) await once(); // warm-up: connection, JIT
const times: number[] = [];
for (let i = 0; i < n; i++) times.push(await once());
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
console.log(`TTFB p50_ms=${q(0.5).toFixed(3)} p90_ms=${q(0.9).toFixed(3)} n=${n}`);
