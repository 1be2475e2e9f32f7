// Reads a Prometheus text exposition into series → value, and compares two scrapes.

/** `name{labels}` (as exposed, labels in their exposed order) → value. Comment lines are skipped. */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** A series key from a name and labels in the order the gateway exposes them. */
export const series = (name: string, labels: Record<string, string | number> = {}): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length ? `${name}{${parts.join(",")}}` : name;
};

export async function scrape(url: string, key?: string): Promise<Map<string, number>> {
  const r = await fetch(`${url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseProm(await r.text());
}

/** after − before for one series (a series absent before counts from 0). */
export const delta = (before: Map<string, number>, after: Map<string, number>, key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);
