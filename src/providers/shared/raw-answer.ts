// A provider's own JSON text for an answer object that can go to the client as it is: relayed instead of re-encoded.

const raw = new WeakMap<object, string>();

/** Notes that `text` is `answer` as JSON, ready to send (the provider already put the public model id in both). */
export function keepRaw(answer: object, text: string): void {
  raw.set(answer, text);
}

/** The answer's own JSON text, when a provider kept it; undefined otherwise (then encode the object). */
export const rawOf = (answer: object): string | undefined => raw.get(answer);

const MODEL_FIELD = /"model"(\s*):(\s*)"((?:[^"\\]|\\.)*)"/g;

/**
 * The JSON text with every `"model":"…"` member set to `publicModel`: the same bytes otherwise. A `"model":"` run can
 * only be a member (inside a JSON string its quotes would be escaped), as the stream passthrough relies on too.
 */
export function withModel(text: string, publicModel: string): string {
  const encoded = JSON.stringify(publicModel);
  return text.replace(MODEL_FIELD, (whole, a: string, b: string, value: string) => (value === encoded.slice(1, -1) ? whole : `"model"${a}:${b}${encoded}`));
}
