// `data:` URIs, as clients send images and files inline: parsed once, the same way for every provider.

export interface DataUri {
  /** Lower-cased media type (may be empty: `data:,…`). */
  mediaType: string;
  base64: boolean;
  /** The payload as written (still base64 or percent-encoded). */
  data: string;
}

/** `data:<type>[;param…][;base64],<data>` → its parts; undefined when the string is no data URI. */
export function parseDataUri(url: string): DataUri | undefined {
  const m = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!m) return undefined;
  return { mediaType: m[1]!.toLowerCase(), base64: m[2]!.split(";").includes("base64"), data: m[3]! };
}
