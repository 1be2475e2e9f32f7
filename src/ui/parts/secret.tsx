// A new key's secret, shown once: read-only field, a copy button, the warning that it will not be shown again.
import { useRef, useState } from "preact/hooks";

async function copy(field: HTMLInputElement): Promise<boolean> {
  try {
    // The async clipboard needs a secure context (https or localhost)…
    await navigator.clipboard.writeText(field.value);
    return true;
  } catch {
    // …elsewhere the selection is copied the old way.
    field.select();
    return document.execCommand("copy");
  }
}

export function SecretOnce({ secret, keyName, onDone }: { secret: string; keyName: string; onDone: () => void }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <div class="secret">
      <p class="warning" role="alert">
        Copy the secret of <strong>{keyName}</strong> now: it is shown only this once and cannot be shown again.
      </p>
      <label for="new-secret">New secret</label>
      <div class="row">
        <input id="new-secret" ref={field} class="mono" readOnly value={secret} spellcheck={false} autoComplete="off" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={async () => setCopied(await copy(field.current!))}>
          Copy
        </button>
      </div>
      <p role="status" class="muted">
        {copied === true ? "Copied to the clipboard." : copied === false ? "Copying failed: select the secret and copy it by hand." : ""}
      </p>
      <div class="actions">
        <button type="button" class="quiet" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
