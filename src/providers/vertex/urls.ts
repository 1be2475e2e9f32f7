// Vertex AI endpoints: the host follows the location (`global` has none in its name), the path names project, location, publisher and model.

/**
 * `https://{location}-aiplatform.googleapis.com/v1`, `https://aiplatform.googleapis.com/v1` for `global`, and the
 * multi-region `us` / `eu` hosts, as Google's and Anthropic's Vertex SDKs resolve them. A `base_url` replaces the
 * host (its own version path kept when it ends in one, e.g. …/v1beta1).
 */
export function vertexBase(location: string, baseUrl?: string): string {
  if (baseUrl) {
    const b = baseUrl.replace(/\/+$/, "");
    return /\/v\d+(?:alpha|beta)?\d*$/.test(b) ? b : `${b}/v1`;
  }
  if (location === "global") return "https://aiplatform.googleapis.com/v1";
  if (location === "us" || location === "eu") return `https://aiplatform.${location}.rep.googleapis.com/v1`;
  return `https://${location}-aiplatform.googleapis.com/v1`;
}

export type Publisher = "google" | "anthropic";

/** `{base}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}` (segments escaped). */
export function vertexModelUrl(base: string, project: string, location: string, publisher: Publisher, model: string, method: string): string {
  const seg = encodeURIComponent;
  return `${base}/projects/${seg(project)}/locations/${seg(location)}/publishers/${publisher}/models/${seg(model)}:${method}`;
}

/** Claude's ids on Vertex (`claude-sonnet-4-5@20250929`) go to Anthropic's publisher; everything else to Google's. */
export const isVertexClaude = (model: string): boolean => model.startsWith("claude-");
