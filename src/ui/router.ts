// Client-side routes: /ui/<page> paths (each served as the same page by the gateway), history navigation without reloads.
import { useEffect, useState } from "preact/hooks";

export const PAGES = ["overview", "keys", "usage", "providers"] as const;
export type Page = (typeof PAGES)[number];

export const TITLES: Record<Page, string> = { overview: "Overview", keys: "Keys", usage: "Usage", providers: "Providers" };

export const pathOf = (page: Page) => `/ui/${page}`;

export function pageOf(pathname: string): Page {
  const name = pathname.replace(/^\/ui\/?/, "").replace(/\/$/, "");
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : "overview";
}

const listeners = new Set<() => void>();

export function navigate(page: Page): void {
  if (pathOf(page) !== location.pathname) history.pushState(null, "", pathOf(page));
  for (const fn of listeners) fn();
}

/** The page the address bar names, kept current across links, back and forward. */
export function usePage(): Page {
  const [page, setPage] = useState(() => pageOf(location.pathname));
  useEffect(() => {
    const update = () => setPage(pageOf(location.pathname));
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return page;
}

/** A plain click on a link navigates in place; a modified click (new tab, new window) is left to the browser. */
export function onLinkClick(page: Page) {
  return (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(page);
  };
}
