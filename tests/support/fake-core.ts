// The core every fake provider shares: a server on port 0 that records calls and aborts, resolves fault names by model, and answers scripted replies through a provider's wire encoder.

export type Json = Record<string, unknown>;

export const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** One request as a fake received it (fakes add their own fields: deployment, operation, …). */
export interface Call {
  method: string;
  /** Pathname and query, as sent. */
  path: string;
  headers: Record<string, string>;
  body: Json;
  /** The model the request names (in its path or its body); "" when none. */
  model: string;
  /** Set when the client went away before or during the answer (request aborted, or the response stream cancelled). */
  aborted: boolean;
}

/** What a model says, block by block. The vocabulary is Anthropic's (the richest); each wire encoder maps it to its own. */
export type Block =
  | { type: "text"; text: string }
  /** A tool call; `signature` is a thought signature riding on it (Gemini's), ignored by the other wires. */
  | { type: "tool_use"; id?: string; name: string; input: Json; signature?: string }
  | { type: "thinking"; thinking: string; signature?: string }
  | { type: "redacted_thinking"; data: string };

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** The thinking (reasoning) share of output_tokens. */
  thinking_tokens?: number;
}

/** One answer of the model, neutral of any wire format. */
export interface Message {
  content: Block[];
  /** end_turn, tool_use, max_tokens, stop_sequence, or a provider's own word. Default: tool_use with a tool call, else end_turn. */
  stop_reason?: string;
  stop_sequence?: string | null;
  /** Unset counts are the wire's own defaults. */
  usage?: Usage;
}

/** An error answer; the wire picks the provider's type and message for the status when the reply names none. */
export interface ErrorReply {
  status: number;
  type?: string;
  message?: string;
  headers?: Record<string, string>;
}

/** How a streamed answer goes wrong after `after` events (when unset: the wire's `breakAfter`, else 1). */
export type Break =
  /** Silence until the client leaves. */
  | { then: "hang"; after?: number }
  /** The connection breaks (no end of body). */
  | { then: "reset"; after?: number }
  /** A clean end before the answer is complete; `partial` bytes of the next event go first. */
  | { then: "end"; after?: number; partial?: number }
  /** The provider's error event (the wire fills what `error` leaves unset), then the end. */
  | { then: "error"; after?: number; error?: StreamError }
  /** Silence for `ms`, then the rest. */
  | { then: "pause"; after?: number; ms: number };

export interface StreamError {
  type?: string;
  message?: string;
  status?: number;
}

/** How a stream is delivered: `gapMs` between events, `split` (write it `split` bytes at a time), a `break`. */
export interface Delivery {
  gapMs?: number;
  split?: number;
  break?: Break;
}

/** What a fake says to one request. */
export type Reply =
  | ({ kind: "message"; message: Message } & Delivery)
  /** Wire events as they are (a recording), framed by the wire; always streamed. Bytes go unframed. */
  | ({ kind: "events"; events: unknown[] } & Delivery)
  | ({ kind: "error" } & ErrorReply)
  | { kind: "raw"; status: number; body: ConstructorParameters<typeof Response>[0]; headers?: Record<string, string> }
  /** No answer, not even headers, until the client leaves. */
  | { kind: "hang" };

/** A script entry: a reply, a status (503 → that error), or a fault name ("hang", "hang-stream", "reset", …; "ok" → as the model says). */
export type Scripted = Reply | number | string;

/** A text answer. */
export const text = (t: string, extra: Partial<Message> = {}): Reply => ({ kind: "message", message: { content: [{ type: "text", text: t }], ...extra } });

/** An answer calling tools, after some text when `lead` is given. */
export const toolUse = (calls: { name: string; input: Json; id?: string; signature?: string }[], lead?: string): Reply => ({
  kind: "message",
  message: { content: [...(lead ? [{ type: "text" as const, text: lead }] : []), ...calls.map((c) => ({ type: "tool_use" as const, ...c }))] },
});

export const stopReasonOf = (m: Message): string => m.stop_reason ?? (m.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");

/** A provider's wire format: how a neutral reply becomes its bytes. */
export interface Wire<C extends Call = Call> {
  /** The provider's error answer (status, body and its own headers). */
  error(e: ErrorReply, call: C): Response;
  /** A message as the provider's JSON answer. */
  json(m: Message, call: C): Response;
  /** A message as the provider's stream events, in order. */
  events(m: Message, call: C): unknown[];
  /** One stream event as bytes on the wire. */
  frame(event: unknown): Uint8Array;
  /** The event the provider sends when a stream fails after it began. */
  errorEvent(e: StreamError | undefined): unknown;
  /** Headers of a stream answer. */
  streamHeaders: Record<string, string>;
  /** Events sent before each kind of break when the break says not (default 1): where "mid-stream" is in this wire. */
  breakAfter?: Partial<Record<Break["then"], number>>;
  /** The provider's own fault names, looked up before the shared ones (a function for replies built per request). */
  faults?: Record<string, Reply | Delivery | ((call: C) => Reply | Delivery)>;
}

/**
 * The fault names every fake knows, as `fault-<name>` ending a model or as a script string: `<status>` (that error),
 * `hang` (no headers until the client leaves), `hang-stream` (headers and the first events, then silence), `reset`
 * (the connection breaks mid-stream), `cut` (a clean end mid-stream), `midstream-error` (the provider's error event
 * mid-stream), `slow` (events 150 ms apart), `pause` (2.5 s of silence after the second event).
 */
const SHARED: Record<string, Reply | Delivery> = {
  hang: { kind: "hang" },
  "hang-stream": { break: { then: "hang" } },
  reset: { break: { then: "reset" } },
  cut: { break: { then: "end" } },
  "midstream-error": { break: { then: "error" } },
  slow: { gapMs: 150 },
  pause: { break: { then: "pause", after: 2, ms: 2500 } },
};

/** The fault name a model asks for: what follows `fault-` at its start or after a dash. */
export const faultName = (model: string): string | undefined => /(?:^|-)fault-([a-z0-9-]+)$/.exec(model)?.[1];

function faultNamed<C extends Call>(name: string, call: C, wire: Wire<C>): Reply | Delivery | undefined {
  const f = wire.faults?.[name] ?? SHARED[name];
  if (typeof f === "function") return f(call);
  if (f) return f;
  return /^\d{3}$/.test(name) ? { kind: "error", status: Number(name) } : undefined;
}

const isReply = (p: Reply | Delivery): p is Reply => "kind" in p;

/** A running fake: what tests read and steer. Fakes extend it with their own fields (apiKey, …). */
export interface Fake<C extends Call = Call> {
  /** http://127.0.0.1:PORT */
  url: string;
  calls: C[];
  /** Replies for the next requests, consumed one per request whatever their model. */
  script: Scripted[];
  /** Queues replies (onto `script`). */
  reply(...replies: Scripted[]): void;
  /** Answers a request the script and its model leave alone; undefined → the fake's own answer. */
  respond?: (body: Json, call: C) => Reply | undefined;
  /** Milliseconds to wait before every answer. */
  delayMs: number;
  /** Calls whose client went away. */
  readonly aborted: number;
  /** Resolves when `n` calls have been seen aborted (rejects after `ms`). */
  waitForAbort(n?: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** What a fake's request handler gets from the core. */
export interface Kit<C extends Call> {
  /** Records a call (and watches for its client going away). */
  record(req: Request, fields: Omit<C, "method" | "path" | "headers" | "aborted">): C;
  /**
   * Answers a recorded call: the script's next entry, else the fault its model names, else `respond`, else the
   * fake's own `answer` (a reply, or a Response for what no wire encodes); a fault on a stream applies to that answer.
   */
  answer(req: Request, call: C, wire: Wire<C>, o: { stream: boolean; headers?: Record<string, string>; answer: () => Reply | Response }): Promise<Response>;
}

export async function startFake<C extends Call>(handle: (req: Request, url: URL, kit: Kit<C>) => Response | Promise<Response>): Promise<Fake<C>> {
  const calls: C[] = [];
  const waiters = new Set<() => void>();
  let release!: () => void;
  const stopped = new Promise<void>((r) => (release = r));
  const mark = (call: C) => {
    if (call.aborted) return;
    call.aborted = true;
    for (const w of waiters) w();
  };
  const gone = (req: Request) =>
    new Promise<void>((resolve) => {
      if (req.signal.aborted) return resolve();
      req.signal.addEventListener("abort", () => resolve(), { once: true });
      void stopped.then(resolve);
    });

  const fake: Fake<C> = {
    url: "",
    calls,
    script: [],
    reply: (...r) => void fake.script.push(...r),
    delayMs: 0,
    get aborted() {
      return calls.filter((c) => c.aborted).length;
    },
    waitForAbort(n = 1, ms = 3000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (fake.aborted < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the fake saw ${fake.aborted} aborts, wanted ${n}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      release();
      await server.stop(true);
    },
  };

  /** The script's next entry, the fault the model names, or `respond`'s reply. */
  function plan(call: C, wire: Wire<C>): Reply | Delivery | undefined {
    const s = fake.script.shift();
    if (typeof s === "number") return { kind: "error", status: s };
    if (typeof s === "string" && s !== "ok") return faultNamed(s, call, wire) ?? { kind: "raw", status: 500, body: `fake: unknown script entry "${s}"` };
    if (typeof s === "object") return s;
    const name = faultName(call.model);
    const f = name === undefined ? undefined : faultNamed(name, call, wire);
    return f ?? fake.respond?.(call.body, call);
  }

  async function answer(req: Request, call: C, wire: Wire<C>, o: Parameters<Kit<C>["answer"]>[3]): Promise<Response> {
    const planned = plan(call, wire);
    if (fake.delayMs > 0) await Bun.sleep(fake.delayMs);
    let reply: Reply | Response;
    if (planned && isReply(planned)) reply = planned;
    else {
      reply = o.answer();
      if (planned && !(reply instanceof Response) && (reply.kind === "message" || reply.kind === "events")) reply = { ...reply, ...planned };
    }
    if (reply instanceof Response) return reply;
    const withHeaders = (r: Response, extra: Record<string, string> = {}) => {
      for (const [k, v] of Object.entries({ ...o.headers, ...extra })) r.headers.set(k, v);
      return r;
    };
    switch (reply.kind) {
      case "error":
        return withHeaders(wire.error(reply, call), reply.headers);
      case "raw":
        return new Response(reply.body, { status: reply.status, headers: { ...o.headers, ...reply.headers } });
      case "hang":
        await gone(req);
        return new Response(null, { status: 499 });
      case "message":
        if (!o.stream) return withHeaders(wire.json(reply.message, call));
        return stream(req, call, wire.events(reply.message, call), wire, reply, o.headers);
      case "events":
        return stream(req, call, reply.events, wire, reply, o.headers);
    }
  }

  /** The events framed and sent one per pull, as the delivery says; a cancelled body marks the call aborted. */
  function stream(req: Request, call: C, events: unknown[], wire: Wire<C>, d: Delivery, headers: Record<string, string> = {}): Response {
    let pieces = events.map((e) => (e instanceof Uint8Array ? e : wire.frame(e)));
    const size = d.split;
    if (size) pieces = pieces.flatMap((p) => Array.from({ length: Math.ceil(p.length / size) }, (_, i) => p.slice(i * size, (i + 1) * size)));
    const brk = d.break;
    let at = brk ? (brk.after ?? wire.breakAfter?.[brk.then] ?? 1) : -1;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (brk && i === at) {
          at = -1;
          switch (brk.then) {
            case "pause":
              await Bun.sleep(brk.ms);
              break;
            case "hang":
              await gone(req);
              try {
                c.close();
              } catch {
                /* already cancelled by the client */
              }
              return;
            case "reset":
              await Bun.sleep(50); // let the first events reach the wire: the failure is truly mid-stream
              c.error(new Error("connection reset by the fake"));
              return;
            case "end":
              if (brk.partial && pieces[i]) c.enqueue(pieces[i]!.slice(0, brk.partial));
              c.close();
              return;
            case "error":
              c.enqueue(wire.frame(wire.errorEvent(brk.error)));
              c.close();
              return;
          }
        }
        if (d.gapMs && i > 0) await Bun.sleep(d.gapMs);
        const p = pieces[i++];
        if (p === undefined) return c.close();
        if (size) await Bun.sleep(0);
        c.enqueue(p);
      },
      cancel() {
        mark(call);
      },
    });
    return new Response(body, { headers: { ...wire.streamHeaders, ...headers } });
  }

  const kit: Kit<C> = {
    record(req, fields) {
      const url = new URL(req.url);
      const call = { method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers.entries()), aborted: false, ...fields } as C;
      calls.push(call);
      req.signal.addEventListener("abort", () => mark(call), { once: true });
      return call;
    },
    answer,
  };
  // idleTimeout 0: hangs and slow streams must outlive Bun's 10 s default.
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: (req) => handle(req, new URL(req.url), kit) });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
