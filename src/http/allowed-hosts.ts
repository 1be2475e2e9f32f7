// server.allowed_hosts: the Host names the gateway answers; anything else is refused before routing (DNS rebinding).
import type { Config } from "../config/schema.ts";
import { GatewayError } from "../openai/errors.ts";

/** Whether a request's Host is allowed; null when the config allows any. */
export type HostCheck = ((host: string) => boolean) | null;

/** `Example.COM.:8080` → host `example.com`, port `8080`; `[::1]:80` → `[::1]`, `80`. */
function split(hostHeader: string): { host: string; port: string | null } {
  const h = hostHeader.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(h);
  const host = (m?.[1] ?? h).replace(/\.$/, "");
  return { host, port: m?.[2] || null };
}

const compiled = new WeakMap<Config, HostCheck>();

/** The check of a config's list, built once per config (a reload brings a new config, so a new check). */
export function hostCheckOf(config: Config): HostCheck {
  if (compiled.has(config)) return compiled.get(config)!;
  const list = config.server.allowed_hosts;
  let check: HostCheck = null;
  if (list && !list.includes("*")) {
    const rules = list.map((entry) => {
      const { host, port } = split(entry);
      return { host, port, wildcard: host.startsWith("*.") ? host.slice(1) : null };
    });
    check = (header) => {
      const { host, port } = split(header);
      return rules.some((r) => (r.port === null || r.port === port) && (r.wildcard ? host.endsWith(r.wildcard) && host.length > r.wildcard.length : host === r.host));
    };
  }
  compiled.set(config, check);
  return check;
}

/** The request's Host: its header, or (a request made in process, without one) its URL's. */
function hostOf(request: Request): string {
  const h = request.headers.get("host");
  if (h !== null) return h;
  try {
    return new URL(request.url).host;
  } catch {
    return "";
  }
}

/** Throws the 403 when the request's Host is not allowed. */
export function checkHost(request: Request, check: HostCheck): void {
  if (check === null) return;
  const host = hostOf(request);
  if (check(host)) return;
  // The name is echoed only as far as it is a plausible host name (it is the client's own input).
  const shown = /^[A-Za-z0-9_.:[\]-]{1,100}$/.test(host) ? `'${host}'` : "this host";
  throw new GatewayError(
    "host_not_allowed",
    `This gateway does not answer requests for ${shown}. Use an address it serves, or add the name to server.allowed_hosts (the built-in default config answers only localhost, 127.0.0.1 and [::1]).`,
  );
}
