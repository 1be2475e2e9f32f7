// The provider secrets of the running config, and their redaction from any text the gateway sends or logs.
//
// A provider may echo the gateway's own key back (some do in a 4xx for a malformed key); that text reaches clients
// and logs through a GatewayError message, a stream error event or a passed-through stream. Every secret that was
// ever configured in this process is kept (a reload must not un-redact the old ones).

/** Shorter values (a version string, an org id fragment) would redact ordinary words. */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = "[redacted]";

const secrets = new Set<string>();
let pattern: RegExp | null = null;
let asBytes: Uint8Array[] = [];

/** Adds values that must never appear in a response or log line: an API key, a header value and its bearer token. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  let added = false;
  for (const v of values) {
    if (!v) continue;
    for (const s of [v, /^bearer\s+(\S+)$/i.exec(v.trim())?.[1]]) {
      if (s && s.length >= MIN_SECRET_LENGTH && !secrets.has(s)) {
        secrets.add(s);
        added = true;
      }
    }
  }
  if (!added) return;
  // Longest first, so a secret that contains another is replaced whole.
  const list = [...secrets].sort((a, b) => b.length - a.length);
  pattern = new RegExp(list.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  const enc = new TextEncoder();
  asBytes = list.map((s) => enc.encode(s));
}

/** `text` with every registered secret replaced by [redacted]. */
export function redact(text: string): string {
  if (!pattern || text.length < MIN_SECRET_LENGTH) return text;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, REDACTED) : text;
}

const find = (b: Uint8Array, key: Uint8Array): number => Buffer.prototype.indexOf.call(b as Buffer, key, 0);

/**
 * Bytes of a passed-through stream with every secret replaced: the same array when none occurs (one native search per
 * secret, so a clean block costs next to nothing); only a block that holds one is decoded and rebuilt.
 */
export function redactBytes(b: Uint8Array): Uint8Array {
  for (const s of asBytes) {
    if (find(b, s) !== -1) return new TextEncoder().encode(redact(new TextDecoder().decode(b)));
  }
  return b;
}
