// What the Responses API adds to a translated stream: the same Anthropic stream asked for as chat completions and as Responses.
//
//   bun bench/responses-stream.ts            (N=400 sequential streams per mode, then 16 connections for 5 s each)
//
// The gateway runs as its own process (`bun src/main.ts`, SQLite store in a temp dir); a fast fake Anthropic API streams
// 20 text deltas per answer. Modes alternate request by request so drift hits them alike.
import { startGatewayProcess } from "../tests/support/process.ts";

const N = Number(process.env.N ?? 400);
const CONC = Number(process.env.CONC ?? 16);
const SECONDS = Number(process.env.SECONDS ?? 5);
const KEY = "sk-bench-responses-0001";
const enc = new TextEncoder();

/** Anthropic's Messages stream, as fast as it can go: message_start, one text block of 20 deltas, message_delta, message_stop. */
const upstream = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    await req.arrayBuffer();
    const ev = (o: Record<string, unknown>) => `event: ${String(o.type)}\ndata: ${JSON.stringify(o)}\n\n`;
    let s = ev({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "claude-bench", content: [], stop_reason: null, usage: { input_tokens: 25, output_tokens: 1 } } });
    s += ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    for (let i = 0; i < 20; i++) s += ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: `word${i} ` } });
    s += ev({ type: "content_block_stop", index: 0 });
    s += ev({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 40 } });
    s += ev({ type: "message_stop" });
    return new Response(enc.encode(s), { headers: { "content-type": "text/event-stream" } });
  },
});

const gw = await startGatewayProcess({
  providers: { anth: { type: "anthropic", base_url: `http://127.0.0.1:${upstream.port}`, api_key: "sk-ant-bench" } },
  models: [{ id: "claude", provider: "anth", upstream_model: "claude-sonnet-4-5-20250929", max_tokens: 256 }],
  keys: [{ name: "bench", key: KEY }],
});

type Mode = "chat" | "responses" | "responses+store";
const bodies: Record<Mode, { path: string; body: string }> = {
  chat: { path: "/v1/chat/completions", body: JSON.stringify({ model: "claude", stream: true, messages: [{ role: "user", content: "Say twenty words." }] }) },
  responses: { path: "/v1/responses", body: JSON.stringify({ model: "claude", stream: true, store: false, input: "Say twenty words." }) },
  "responses+store": { path: "/v1/responses", body: JSON.stringify({ model: "claude", stream: true, input: "Say twenty words." }) },
};
const MODES = Object.keys(bodies) as Mode[];

/** One whole stream: [time to first byte, time to the last byte] in ms. */
async function once(mode: Mode): Promise<[number, number]> {
  const t0 = performance.now();
  const res = await fetch(gw.url + bodies[mode].path, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: bodies[mode].body });
  const reader = res.body!.getReader();
  let first = -1;
  let text = "";
  const dec = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (first < 0) first = performance.now() - t0;
    text += dec.decode(value, { stream: true });
  }
  if (res.status !== 200 || !(text.includes("[DONE]") || text.includes("response.completed"))) throw new Error(`${mode}: ${res.status} ${text.slice(0, 300)}`);
  return [first, performance.now() - t0];
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

try {
  for (let i = 0; i < 50; i++) for (const m of MODES) await once(m); // warm-up
  const ttfb: Record<Mode, number[]> = { chat: [], responses: [], "responses+store": [] };
  const total: Record<Mode, number[]> = { chat: [], responses: [], "responses+store": [] };
  for (let i = 0; i < N; i++) {
    for (const m of MODES) {
      const [f, t] = await once(m);
      ttfb[m].push(f);
      total[m].push(t);
    }
  }
  const rps: Record<Mode, number> = { chat: 0, responses: 0, "responses+store": 0 };
  for (const m of MODES) {
    const until = performance.now() + SECONDS * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (performance.now() < until) {
          await once(m);
          done++;
        }
      }),
    );
    rps[m] = done / SECONDS;
  }
  console.log(`sequential streams: ${N} per mode (20 text deltas each); then ${CONC} connections for ${SECONDS} s per mode`);
  console.log("mode               ttfb p50  ttfb p90  whole p50  whole p90   streams/s");
  for (const m of MODES) {
    const row = [pct(ttfb[m], 50), pct(ttfb[m], 90), pct(total[m], 50), pct(total[m], 90)].map((x) => `${x.toFixed(2)} ms`.padStart(9));
    console.log(`${m.padEnd(17)} ${row.join(" ")}  ${rps[m].toFixed(0).padStart(9)}`);
  }
  const add = (m: Mode) => pct(total[m], 50) - pct(total.chat, 50);
  console.log(`added over chat (whole stream, p50): responses ${add("responses").toFixed(2)} ms, responses+store ${add("responses+store").toFixed(2)} ms`);
} finally {
  await gw.stop();
  upstream.stop(true);
}
