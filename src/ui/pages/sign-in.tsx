// Sign-in: the admin key is posted once for a session cookie; the field is emptied at once and the key kept nowhere.
import { useRef, useState } from "preact/hooks";
import { session } from "../api.ts";

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const field = input.current!;
    const key = field.value;
    if (!key) {
      setError("Enter the admin key.");
      field.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await session.signIn(key);
      field.value = "";
      onSignedIn();
    } catch (err) {
      field.value = "";
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
      field.focus();
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Switchboard</h1>
      <p>Sign in with the gateway's admin key (<code>server.admin_key</code>).</p>
      {notice && !error && <p role="status">{notice}</p>}
      <form onSubmit={submit} noValidate>
        <label for="admin-key">Admin key</label>
        <input id="admin-key" ref={input} type="password" autoComplete="current-password" spellcheck={false} autoFocus aria-describedby={error ? "sign-in-error" : undefined} aria-invalid={error ? true : undefined} />
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
