// Hostile-input helpers: a /health latency probe that runs beside an attack, and raw HTTP over a TCP socket.
import { connect } from "node:net";

export interface HealthProbe {
  /** Stops probing; resolves with the slowest /health answer seen (ms) and how many were made. */
  stop(): Promise<{ worstMs: number; count: number }>;
}

/**
 * Asks `${url}/health` back to back (one at a time, `gapMs` apart) until stopped. A gateway whose event loop is
 * blocked answers late: the worst latency is the stall the attack caused.
 */
export function probeHealth(url: string, gapMs = 5): HealthProbe {
  let running = true;
  let worstMs = 0;
  let count = 0;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
      worstMs = Math.max(worstMs, ms);
      count++;
      await Bun.sleep(gapMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worstMs, count };
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, as text. */
  raw: string;
}

/** Parses one HTTP/1.1 response (Content-Length or chunked) from the start of `raw`. */
export function parseRawResponse(raw: string): RawResponse {
  const headEnd = raw.indexOf("\r\n\r\n");
  const head = headEnd === -1 ? raw : raw.slice(0, headEnd);
  const [statusLine, ...lines] = head.split("\r\n");
  const status = Number(statusLine!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = headEnd === -1 ? "" : raw.slice(headEnd + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) {
    let out = "";
    let rest = body;
    for (;;) {
      const nl = rest.indexOf("\r\n");
      if (nl === -1) break;
      const size = parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  } else if (headers["content-length"] !== undefined) body = body.slice(0, Number(headers["content-length"]));
  return { status, headers, body, raw };
}

/**
 * Sends `request` (raw bytes: request line, headers, body) over a fresh TCP connection and reads until the server
 * closes or `timeoutMs` passes; `Connection: close` in the request makes the server close after answering.
 */
export function rawHttp(port: number, request: string | Uint8Array, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawResponse(Buffer.concat(parts).toString("utf8")));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("connect", () => socket.write(request));
    socket.on("data", (d: Buffer) => parts.push(d));
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", (err) => {
      clearTimeout(timer);
      if (parts.length > 0) done();
      else reject(err);
    });
  });
}
