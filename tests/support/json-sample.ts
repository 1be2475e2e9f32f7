// The fixture providers' stand-in for constrained decoding: a deterministic value matching a JSON schema.

/** A value matching a JSON schema: what constrained decoding would produce, deterministically. */
export function sampleFor(schema: unknown, root: unknown): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop()!;
    const r = root as Record<string, Record<string, unknown> | undefined>;
    return sampleFor((r.$defs ?? r.definitions ?? {})[name], root);
  }
  if (Array.isArray(s.enum)) return s.enum[0];
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.anyOf)) return sampleFor(s.anyOf[0], root);
  const raw = Array.isArray(s.type) ? s.type[0] : s.type;
  // Gemini's Schema spells types in upper case (OBJECT); JSON Schema in lower case.
  const type = typeof raw === "string" ? raw.toLowerCase() : raw;
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries((s.properties ?? {}) as Record<string, unknown>).map(([k, v]) => [k, sampleFor(v, root)]));
    case "array":
      return [sampleFor(s.items, root)];
    case "string":
      return "text";
    case "integer":
    case "number":
      return 42;
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return {};
  }
}
