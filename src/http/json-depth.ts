// Nesting depth of a JSON text, checked before JSON.parse: linear, no recursion, strings skipped natively.

/**
 * Whether `text` nests arrays/objects deeper than `max`. A 200 KB body of 100,000 `[` parses, but everything that walks
 * it afterwards (validation, translation, JSON.stringify towards the provider) recurses once per level and blocks
 * the event loop for seconds, or overflows the stack. Malformed text is left to JSON.parse to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Fewer brackets than the limit cannot nest past it: most bodies are decided without a scan.
  if (text.length <= max) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Jump to the closing quote: a quote preceded by an odd number of backslashes is escaped.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return false;
        let b = j - 1;
        while (text.charCodeAt(b) === 92 /* \ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
      }
      i = j;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}
