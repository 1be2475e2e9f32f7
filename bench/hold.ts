// Opens N concurrent streamed chat completions to a slow provider and holds them until they end.
// Usage: bun hold.ts URL [N] [KEY]   prints `HOLD opened=… max_open=… ok=… failed=… ms=…`
// Needs BUN_CONFIG_MAX_HTTP_REQUESTS ≥ N (Bun's fetch caps concurrent requests at 256 by default).
export {}; // a module, not a global script: its own scope, and top-level await
const [url, nText = "2000", key = "sk-bench"] = Bun.argv.slice(2);
if (!url) throw new Error("usage: bun hold.ts URL [N] [KEY]");
const n = Number(nText);
const body = JSON.stringify({ model: "slow-model", stream: true, messages: [{ role: "user", content: "Say hello in twenty words please." }] });
const headers = { "content-type": "application/json", authorization: `Bearer ${key}` };
let open = 0, maxOpen = 0, opened = 0, ok = 0, failed = 0;
const t0 = performance.now();

async function one(): Promise<void> {
  try {
    const res = await fetch(url!, { method: "POST", headers, body });
    const reader = res.body!.getReader();
    let first = true;
    let text = "";
    const dec = new TextDecoder();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      if (first) {
        first = false;
        opened++;
        maxOpen = Math.max(maxOpen, ++open);
      }
      text += dec.decode(r.value, { stream: true });
    }
    if (!first) open--;
    if (res.status === 200 && text.includes("[DONE]")) ok++;
    else failed++;
  } catch {
    failed++;
  }
}

await Promise.all(Array.from({ length: n }, one));
console.log(`HOLD opened=${opened} max_open=${maxOpen} ok=${ok} failed=${failed} ms=${Math.round(performance.now() - t0)}`);
