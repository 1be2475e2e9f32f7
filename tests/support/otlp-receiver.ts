// A local OTLP/HTTP collector on port 0: takes JSON `POST /v1/traces`, keeps the spans; or hangs, to play a slow collector.

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number };
  /** The resource's attributes (service.name …), copied onto each span for convenience. */
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  /** Raw request bodies, to check what was never sent (prompts). */
  bodies: string[];
  contentTypes: string[];
  /** The spans of one trace, once `n` of them have arrived (rejects after `ms`). */
  waitForTrace(traceId: string, n: number, ms?: number): Promise<OtlpSpan[]>;
  stop(): void;
}

/** An attribute's value, as a plain JS value. */
export function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

const plain = (attrs: OtlpAttribute[]) => Object.fromEntries(attrs.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.boolValue]));

/** `hang: true` never answers (a collector that accepted the connection and went silent). */
export function startOtlpReceiver(opts: { hang?: boolean } = {}): OtlpReceiver {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const contentTypes: string[] = [];
  let waiters: (() => void)[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      if (opts.hang) return new Promise<Response>(() => {});
      if (new URL(req.url).pathname !== "/v1/traces" || req.method !== "POST") return new Response("not found", { status: 404 });
      const body = await req.text();
      bodies.push(body);
      contentTypes.push(req.headers.get("content-type") ?? "");
      const doc = JSON.parse(body) as { resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: Omit<OtlpSpan, "resource">[] }[] }[] };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, resource: plain(rs.resource.attributes) });
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
      return Response.json({});
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    spans,
    bodies,
    contentTypes,
    async waitForTrace(traceId, n, ms = 5000) {
      const until = Date.now() + ms;
      for (;;) {
        const mine = spans.filter((s) => s.traceId === traceId);
        if (mine.length >= n) return mine;
        if (Date.now() > until) throw new Error(`trace ${traceId}: ${mine.length} of ${n} spans arrived`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), Bun.sleep(50)]);
      }
    },
    stop: () => void server.stop(true),
  };
}
