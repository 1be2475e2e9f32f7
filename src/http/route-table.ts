// Which methods a path takes, from the app's own route list: turns a wrong method on a known route into 405 + Allow.

export interface RouteEntry {
  method: string;
  path: string;
}

export type AllowedMethods = (path: string) => string[];

/** `/v1/models/*` → any rest; `:id` → one segment; everything else literal. */
function matcher(path: string): RegExp {
  const src = path
    .split("/")
    .map((seg) => (seg === "*" ? ".*" : seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${src}$`);
}

/** Built once from the routes (after the app is assembled); only error answers call the result. */
export function allowedMethods(routes: readonly RouteEntry[]): AllowedMethods {
  const table = routes.filter((r) => r.method !== "ALL").map((r) => ({ method: r.method.toUpperCase(), test: matcher(r.path) }));
  return (path) => {
    const methods = new Set<string>();
    for (const r of table) if (r.test.test(path)) methods.add(r.method);
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
