// An OpenAI-type upstream whose streams send their first chunk at once and then wait for the test: counts open streams.
const enc = new TextEncoder();
const chunk = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\n\n`);

export interface SlowUpstream {
  url: string;
  /** Streams open right now, and the most seen at once. */
  open: number;
  peak: number;
  /** Streams that ran to [DONE]. */
  completed: number;
  /** Lets every held stream (and every later one) finish. */
  release(): void;
  stop(): Promise<void>;
}

export function startSlowUpstream(): SlowUpstream {
  let releaseAll!: () => void;
  let released = new Promise<void>((r) => (releaseAll = r));
  const state: SlowUpstream = {
    url: "",
    open: 0,
    peak: 0,
    completed: 0,
    release: () => releaseAll(),
    stop: async () => void server.stop(true),
  };
  const server = Bun.serve({
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const base = { id: "chatcmpl-slow", object: "chat.completion.chunk", created: 1, model: "slow" };
      state.open++;
      state.peak = Math.max(state.peak, state.open);
      let closed = false;
      const done = () => {
        if (!closed) {
          closed = true;
          state.open--;
        }
      };
      req.signal.addEventListener("abort", done);
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(chunk({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }));
            await released;
            if (closed) return;
            c.enqueue(chunk({ ...base, choices: [{ index: 0, delta: { content: "done" }, finish_reason: null }] }));
            c.enqueue(chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
            c.enqueue(chunk({ ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
            c.enqueue(enc.encode("data: [DONE]\n\n"));
            state.completed++;
            done();
            c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  state.url = `http://127.0.0.1:${server.port}/v1`;
  // A fresh hold for tests that run after a release.
  state.release = () => {
    releaseAll();
    released = new Promise<void>((r) => (releaseAll = r));
  };
  return state;
}
