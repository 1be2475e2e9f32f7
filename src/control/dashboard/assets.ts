// The dashboard's files (HTML, JS, CSS) from Bun's HTML import: embedded by `bun build --compile`, bundled once in memory when run from source.
import page from "../../ui/index.html";

export const ASSETS_PREFIX = "/ui/assets/";

export interface Asset {
  body: Blob;
  type: string;
}

export interface DashboardAssets {
  html: string;
  /** File name (content-hashed) → file, served under ASSETS_PREFIX. */
  files: ReadonlyMap<string, Asset>;
}

const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * Inside the executable the HTML import comes built: its files are in the embedded file system and the page names
 * them from the root (`/chunk-….js`). The gateway serves them under /ui/assets/ with its own headers (Bun's static
 * routes would serve them without the CSP), so the page's references are pointed there.
 */
async function fromEmbedded(files: NonNullable<typeof page.files>): Promise<DashboardAssets> {
  let html = "";
  const out = new Map<string, Asset>();
  for (const f of files) {
    if (f.loader === "html") html = await Bun.file(f.path).text();
    else out.set(baseName(f.path), { body: Bun.file(f.path), type: f.headers["content-type"] });
  }
  for (const name of out.keys()) html = html.replaceAll(`"/${name}"`, `"${ASSETS_PREFIX}${name}"`).replaceAll(`"./${name}"`, `"${ASSETS_PREFIX}${name}"`);
  return { html, files: out };
}

/** From source (`bun run`, `bun test`): the same bundle, built by Bun's bundler into memory with the build's flags. */
async function fromSource(entry: string): Promise<DashboardAssets> {
  const built = await Bun.build({ entrypoints: [entry], publicPath: ASSETS_PREFIX, minify: { whitespace: true, syntax: true }, target: "browser" });
  if (!built.success) throw new AggregateError(built.logs, "the dashboard did not build");
  let html = "";
  const out = new Map<string, Asset>();
  for (const o of built.outputs) {
    if (o.path.endsWith(".html")) html = await o.text();
    else out.set(baseName(o.path), { body: o, type: o.type });
  }
  return { html, files: out };
}

let loaded: Promise<DashboardAssets> | undefined;

/** Built or read once per process, at the first dashboard request (gateways that never serve /ui pay nothing). */
export function dashboardAssets(): Promise<DashboardAssets> {
  loaded ??= page.files ? fromEmbedded(page.files) : fromSource(page.index);
  // A failed build is not cached: the next request tries again (and the error reaches the log each time).
  loaded.catch(() => (loaded = undefined));
  return loaded;
}
