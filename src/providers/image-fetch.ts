// Opt-in: fetches image URLs the provider could not reach itself and inlines them as data: URIs (size cap, timeout, SSRF guard).
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { GatewayError, invalidRequest } from "../openai/errors.ts";
import type { ChatRequest } from "../openai/schemas.ts";
import type { CallContext } from "./types.ts";

export interface ImageFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Allow loopback, private, link-local and other non-public addresses (an internal image server). */
  allowPrivate: boolean;
}

const MAX_REDIRECTS = 3;

function ipv4Private(ip: string): boolean {
  const [a = 0, b = 0] = ip.split(".").map(Number);
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224
  );
}

/** Loopback, private, link-local, CGNAT, unique-local, multicast, unspecified (and IPv4 ones mapped into IPv6). */
export function isPrivateAddress(ip: string): boolean {
  if (isIP(ip) === 4) return ipv4Private(ip);
  const v6 = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (mapped) return ipv4Private(mapped[1]!);
  return v6 === "::" || v6 === "::1" || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith("ff") || v6.startsWith("64:ff9b:");
}

async function checkHost(url: URL, opts: ImageFetchOptions, param: string): Promise<void> {
  if (opts.allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw invalidRequest(`Could not resolve the image host '${host}'.`, param);
  if (addresses.some(isPrivateAddress)) {
    throw invalidRequest(`The image URL points to a private or local address, which the gateway does not fetch (set image_fetch.allow_private to allow it).`, param);
  }
}

/** Downloads one image within the limits; returns it as a base64 data: URI. */
export async function fetchImage(raw: string, opts: ImageFetchOptions, signal: AbortSignal, param: string): Promise<string> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]);
  let url = new URL(raw);
  let res: Response | undefined;
  try {
    for (let hop = 0; ; hop++) {
      await checkHost(url, opts, param);
      res = await fetch(url, { signal: deadline, redirect: "manual", headers: { accept: "image/*" } });
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) break;
      await res.body?.cancel().catch(() => {});
      // Each hop is checked again: a public URL must not redirect into the private network.
      if (hop >= MAX_REDIRECTS) throw invalidRequest(`The image URL redirects more than ${MAX_REDIRECTS} times.`, param);
      url = new URL(location, url);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw invalidRequest("The image URL redirects to a non-HTTP URL.", param);
    }
    if (!res.ok) throw invalidRequest(`Fetching the image failed with status ${res.status}.`, param);
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!type.startsWith("image/")) throw invalidRequest(`The image URL answered '${type || "no content type"}', not an image.`, param);
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > opts.maxBytes) throw invalidRequest(`The image is larger than the gateway's limit of ${opts.maxBytes} bytes.`, param);
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > opts.maxBytes) throw invalidRequest(`The image is larger than the gateway's limit of ${opts.maxBytes} bytes.`, param);
      parts.push(chunk);
    }
    return `data:${type};base64,${Buffer.concat(parts).toString("base64")}`;
  } catch (err) {
    await res?.body?.cancel().catch(() => {});
    if (err instanceof GatewayError) throw err;
    if (signal.aborted) throw err;
    const timedOut = deadline.aborted;
    throw invalidRequest(timedOut ? `Fetching the image took longer than ${opts.timeoutMs} ms.` : "The image URL could not be fetched.", param);
  }
}

/** The request with every http(s) image URL replaced by its bytes (in parallel); untouched when there are none. */
export async function inlineImageUrls(req: ChatRequest, opts: ImageFetchOptions, ctx: Pick<CallContext, "signal">): Promise<ChatRequest> {
  const jobs: Promise<void>[] = [];
  const messages = req.messages.map((m, i) => {
    if (!Array.isArray(m.content) || !m.content.some((p) => p.type === "image_url" && !p.image_url.url.startsWith("data:"))) return m;
    const content = m.content.map((p, j) => {
      if (p.type !== "image_url" || p.image_url.url.startsWith("data:")) return p;
      const part = { ...p, image_url: { ...p.image_url } };
      jobs.push(fetchImage(p.image_url.url, opts, ctx.signal, `messages[${i}].content[${j}].image_url.url`).then((uri) => void (part.image_url.url = uri)));
      return part;
    });
    return { ...m, content };
  });
  if (jobs.length === 0) return req;
  await Promise.all(jobs);
  return { ...req, messages };
}

/** The provider's `image_fetch` settings with their defaults, or undefined when the option is off. */
export function imageFetchOptions(config: { image_fetch?: { max_bytes?: number; timeout_ms?: number; allow_private?: boolean } }): ImageFetchOptions | undefined {
  const f = config.image_fetch;
  if (!f) return undefined;
  return { maxBytes: f.max_bytes ?? 5 * 1024 * 1024, timeoutMs: f.timeout_ms ?? 10000, allowPrivate: f.allow_private ?? false };
}
