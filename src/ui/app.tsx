// The shell: session state (checking, signed out, signed in), the navigation, and the page the address names.
import { useEffect, useRef, useState } from "preact/hooks";
import { session, whenSignedOut } from "./api.ts";
import { PAGES, TITLES, onLinkClick, pathOf, usePage, type Page } from "./router.ts";
import { SignIn } from "./pages/sign-in.tsx";
import { Providers } from "./pages/providers.tsx";
import { Overview } from "./pages/overview.tsx";
import { Keys } from "./pages/keys.tsx";
import { Usage } from "./pages/usage.tsx";

type Auth = { state: "checking" } | { state: "signed-out"; notice?: string } | { state: "signed-in" };

const VIEWS: Record<Page, () => preact.JSX.Element> = { overview: Overview, keys: Keys, usage: Usage, providers: Providers };

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: "checking" });

  useEffect(() => {
    session.check().then(
      (s) => setAuth(s.signed_in ? { state: "signed-in" } : { state: "signed-out" }),
      () => setAuth({ state: "signed-out", notice: "The gateway did not answer. Reload the page to try again." }),
    );
    return whenSignedOut(() => setAuth({ state: "signed-out", notice: "Your session ended. Sign in again." }));
  }, []);

  if (auth.state === "checking") return <p class="loading" role="status">Loading…</p>;
  if (auth.state === "signed-out") return <SignIn notice={auth.notice} onSignedIn={() => setAuth({ state: "signed-in" })} />;
  return <Shell onSignedOut={() => setAuth({ state: "signed-out", notice: "You are signed out." })} />;
}

function Shell({ onSignedOut }: { onSignedOut: () => void }) {
  const page = usePage();
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  const View = VIEWS[page];

  useEffect(() => {
    document.title = `${TITLES[page]} · Switchboard`;
    // After a navigation, keyboard and screen-reader users continue from the new page's heading.
    if (!first.current) heading.current?.focus();
    first.current = false;
  }, [page]);

  const signOut = () => session.signOut().finally(onSignedOut);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Switchboard</span>
        <nav aria-label="Dashboard">
          <ul>
            {PAGES.map((p) => (
              <li key={p}>
                <a href={pathOf(p)} aria-current={p === page ? "page" : undefined} onClick={onLinkClick(p)}>
                  {TITLES[p]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {TITLES[page]}
        </h1>
        <View />
      </main>
    </>
  );
}
