// The "Create key" form: name, budget and its period, rpm, tpm, max concurrent, allowed models, expiry → POST /admin/v1/keys, then the secret once.
import { useState } from "preact/hooks";
import { ApiError, call } from "../api.ts";
import { SecretOnce } from "../parts/secret.tsx";
import type { BudgetPeriod, KeyWithSecret } from "../types.ts";

interface Fields {
  name: string;
  budget: string;
  period: BudgetPeriod;
  rpm: string;
  tpm: string;
  concurrent: string;
  models: string[];
  expires: string;
}

const EMPTY: Fields = { name: "", budget: "", period: "month", rpm: "", tpm: "", concurrent: "", models: [], expires: "" };

/** The API's field (the error's `param`) → the form control that sets it. */
const CONTROL_OF: Record<string, string> = {
  name: "key-name",
  budget: "key-budget",
  "budget.usd": "key-budget",
  "budget.period": "key-period",
  rpm: "key-rpm",
  tpm: "key-tpm",
  max_concurrent: "key-concurrent",
  expires_at: "key-expires",
};

/** A number field: empty → not sent; anything else is sent as typed, and the gateway's validation names what is wrong. */
const numberOrUndefined = (v: string) => (v.trim() === "" ? undefined : Number(v));

function bodyOf(f: Fields): Record<string, unknown> {
  const body: Record<string, unknown> = { name: f.name.trim() };
  const budget = numberOrUndefined(f.budget);
  if (budget !== undefined) body.budget = { usd: budget, period: f.period };
  const rpm = numberOrUndefined(f.rpm);
  if (rpm !== undefined) body.rpm = rpm;
  const tpm = numberOrUndefined(f.tpm);
  if (tpm !== undefined) body.tpm = tpm;
  const concurrent = numberOrUndefined(f.concurrent);
  if (concurrent !== undefined) body.max_concurrent = concurrent;
  if (f.models.length > 0) body.models = f.models;
  // datetime-local is the viewer's local time; the API takes an instant.
  if (f.expires) body.expires_at = new Date(f.expires).toISOString();
  return body;
}

export function CreateKeyForm({ models, onCreated, onCancel }: { models: string[]; onCreated: () => void; onCancel: () => void }) {
  const [f, setF] = useState<Fields>(EMPTY);
  const [error, setError] = useState<ApiError | Error>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<KeyWithSecret>();
  const set = (k: keyof Fields) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const invalid = error instanceof ApiError && error.param ? (CONTROL_OF[error.param] ?? (error.param.startsWith("models") ? "key-models" : undefined)) : undefined;
  const aria = (id: string) => (invalid === id ? { "aria-invalid": true, "aria-describedby": "key-error" } : {});

  if (created) return <SecretOnce secret={created.key} keyName={created.name} onDone={onCancel} />;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const key = await call<KeyWithSecret>("/admin/v1/keys", { method: "POST", body: bodyOf(f) });
      setCreated(key);
      onCreated();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };

  const toggleModel = (m: string) => setF({ ...f, models: f.models.includes(m) ? f.models.filter((x) => x !== m) : [...f.models, m] });

  return (
    <form onSubmit={submit} noValidate class="key-form">
      <label for="key-name">Name</label>
      <input id="key-name" required maxLength={200} autoComplete="off" value={f.name} onInput={set("name")} {...aria("key-name")} />

      <div class="grid2">
        <div>
          <label for="key-budget">Budget (USD)</label>
          <input id="key-budget" type="number" inputMode="decimal" min="0" step="0.01" value={f.budget} onInput={set("budget")} aria-describedby="key-budget-hint" {...aria("key-budget")} />
          <p id="key-budget-hint" class="hint">
            Empty: no budget.
          </p>
        </div>
        <div>
          <label for="key-period">Budget period</label>
          <select id="key-period" value={f.period} onChange={set("period")} {...aria("key-period")}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
            <option value="total">Total (never resets)</option>
          </select>
        </div>
        <div>
          <label for="key-rpm">Requests per minute</label>
          <input id="key-rpm" type="number" inputMode="numeric" min="1" step="1" value={f.rpm} onInput={set("rpm")} {...aria("key-rpm")} />
        </div>
        <div>
          <label for="key-tpm">Tokens per minute</label>
          <input id="key-tpm" type="number" inputMode="numeric" min="1" step="1" value={f.tpm} onInput={set("tpm")} {...aria("key-tpm")} />
        </div>
        <div>
          <label for="key-concurrent">Max concurrent requests</label>
          <input id="key-concurrent" type="number" inputMode="numeric" min="1" step="1" value={f.concurrent} onInput={set("concurrent")} {...aria("key-concurrent")} />
        </div>
        <div>
          <label for="key-expires">Expires</label>
          <input id="key-expires" type="datetime-local" value={f.expires} onInput={set("expires")} aria-describedby="key-expires-hint" {...aria("key-expires")} />
          <p id="key-expires-hint" class="hint">
            Your local time. Empty: never.
          </p>
        </div>
      </div>

      <fieldset class="models" id="key-models" {...(invalid === "key-models" ? { "aria-describedby": "key-error" } : {})}>
        <legend>Allowed models</legend>
        <p class="hint">None ticked: every model.</p>
        <div class="checks">
          {models.map((m) => (
            <label key={m} class="check">
              <input type="checkbox" checked={f.models.includes(m)} onChange={() => toggleModel(m)} /> {m}
            </label>
          ))}
        </div>
      </fieldset>

      {error && (
        <p id="key-error" class="error" role="alert">
          {error.message}
        </p>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create
        </button>
        <button type="button" class="quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
