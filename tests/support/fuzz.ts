// A seeded mutation engine for hostile request bodies: the same seed gives the same requests, so a failure replays.
export type Json = Record<string, unknown>;

/** xorshift32. */
export function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)]! };
}
export type Rng = ReturnType<typeof rng>;

/** A hostile value: wrong types, huge or invalid strings, NUL and lone surrogates, prototype keys, unsafe URLs. */
export function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 3 ? 7 : 10)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4096, 3]);
    case 3:
      return r.pick(["", "user", "assistant", "tool", "function", "image_url", "text", "auto", "none", "\u0000", "\ud800", "💥".repeat(50), "<script>", "__proto__"]);
    case 4:
      return "x".repeat(r.pick([1, 100, 10_000, 100_000]));
    case 5:
      return `data:image/png;base64,${r.pick(["", "!!!", "iVBORw0KGgo="])}`;
    case 6:
      return r.pick(["https://example.com/a.png", "http://10.0.0.1/x", "file:///etc/passwd", "javascript:alert(1)"]);
    case 7:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Json = {};
      for (let i = r.int(4); i > 0; i--) o[r.pick(["role", "content", "type", "text", "function", "name", "arguments", "__proto__", "constructor", "url", "id"])] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** Every (container, key) pair in the tree, to pick a place to mutate. */
function places(v: unknown, out: [Json | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), places(x, out)));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (out.push([v as Json, k]), places(x, out));
  return out;
}

/** What a front door's mutations may add at the top level, and the model names they may set. */
export interface Vocabulary {
  fields: readonly string[];
  models: readonly string[];
}

/** One to three mutations: delete, replace, add a top-level field, grow an array, nest around the depth limit, set a model. */
export function mutateTree(r: Rng, body: Json, vocabulary: Vocabulary): void {
  for (let n = 1 + r.int(3); n > 0; n--) {
    const all = places(body);
    // Every member deleted by an earlier mutation: put one back.
    if (all.length === 0) {
      body.model = r.pick(vocabulary.models);
      continue;
    }
    const [container, key] = r.pick(all);
    const op = r.int(6);
    if (op === 0) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (op === 1) (container as Record<string | number, unknown>)[key] = randomValue(r);
    else if (op === 2) body[r.pick(vocabulary.fields)] = randomValue(r);
    else if (op === 3) {
      const v = (container as Record<string | number, unknown>)[key];
      if (Array.isArray(v)) for (let i = r.int(40); i > 0; i--) v.push(structuredClone(v[0] ?? null));
    } else if (op === 4) {
      // Nesting around the depth limit (64): under it must be served or refused cleanly, over it refused.
      let deep: unknown = "leaf";
      for (let i = r.pick([10, 60, 70, 500]); i > 0; i--) deep = r.next() < 0.5 ? [deep] : { a: deep };
      (container as Record<string | number, unknown>)[key] = deep;
    } else body.model = r.pick(vocabulary.models);
  }
}

/** Breaks the JSON text itself: truncated, a stray character, wrapped, a duplicate key, or not JSON at all. */
export function mutateText(r: Rng, text: string): string {
  switch (r.int(5)) {
    case 0:
      return text.slice(0, r.int(text.length));
    case 1: {
      const at = r.int(text.length);
      return text.slice(0, at) + r.pick(["{", "}", '"', "\\", ",", "\u0000", "\ud800", "]]]]"]) + text.slice(at);
    }
    case 2:
      return `[${text}]`;
    case 3:
      return text.replace(/"role"/, '"role","role"');
    default:
      return r.pick(["", "null", "123", '"str"', "{}", "{", "\u00ff\u00fe"]);
  }
}
