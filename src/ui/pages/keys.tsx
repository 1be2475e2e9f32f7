// Keys: every key (config keys read-only) with its limits and budget; create, rotate with a grace period, revoke after confirming, block and unblock.
import { useState } from "preact/hooks";
import { call } from "../api.ts";
import { count, day, relative, short, usd } from "../format.ts";
import { Dialog } from "../parts/dialog.tsx";
import { useLoad } from "../parts/load.ts";
import { SecretOnce } from "../parts/secret.tsx";
import { Failure } from "../parts/status.tsx";
import type { Key, KeyWithSecret, List, Price } from "../types.ts";
import { CreateKeyForm } from "./key-form.tsx";

type Open = { kind: "create" } | { kind: "rotate"; key: Key } | { kind: "revoke"; key: Key } | null;

const PERIOD: Record<string, string> = { day: "per day", week: "per week", month: "per month", total: "in total" };

function Limits({ k }: { k: Key }) {
  const parts: string[] = [];
  if (k.rpm !== null) parts.push(`${count(k.rpm)} rpm`);
  if (k.tpm !== null) parts.push(`${short(k.tpm)} tpm`);
  if (k.max_concurrent !== null) parts.push(`${count(k.max_concurrent)} concurrent`);
  return (
    <>
      {parts.length ? parts.join(" · ") : <span class="muted">No rate limits</span>}
      <br />
      <span class="muted">{k.models ? `Models: ${k.models.join(", ")}` : "All models"}</span>
    </>
  );
}

function BudgetCell({ k }: { k: Key }) {
  const b = k.budget;
  if (!b) return <span class="muted">None</span>;
  const used = b.usd > 0 ? Math.min(1, b.spent_usd / b.usd) : 1;
  return (
    <div class="budget">
      <div class={`bar${used >= 0.9 ? " high" : ""}`} aria-hidden="true">
        <div style={{ width: `${(used * 100).toFixed(1)}%` }} />
      </div>
      {usd(b.spent_usd)} of {usd(b.usd)} {PERIOD[b.period]}
      {b.resets_at && (
        <>
          <br />
          <span class="muted" title={b.resets_at}>
            resets {relative(b.resets_at)}
          </span>
        </>
      )}
    </div>
  );
}

const GRACE: [number, string][] = [
  [0, "At once"],
  [300, "After 5 minutes"],
  [3600, "After 1 hour"],
  [86_400, "After 24 hours"],
  [7 * 86_400, "After 7 days"],
];

function RotateDialog({ k, onDone, onChanged }: { k: Key; onDone: () => void; onChanged: () => void }) {
  const [grace, setGrace] = useState(3600);
  const [error, setError] = useState<Error>();
  const [rotated, setRotated] = useState<KeyWithSecret>();
  const rotate = async (e: Event) => {
    e.preventDefault();
    try {
      setRotated(await call<KeyWithSecret>(`/admin/v1/keys/${encodeURIComponent(k.id)}/rotate`, { method: "POST", body: { grace_period_s: grace } }));
      onChanged();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <Dialog title={`Rotate key ${k.name}`} onClose={onDone}>
      {rotated ? (
        <SecretOnce secret={rotated.key} keyName={rotated.name} onDone={onDone} />
      ) : (
        <form onSubmit={rotate} noValidate>
          <p>A new secret replaces the current one. Clients using the current secret need the new one before it stops working.</p>
          <label for="grace">Old secret stops working</label>
          <select id="grace" value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
            {GRACE.map(([s, label]) => (
              <option key={s} value={s}>
                {label}
              </option>
            ))}
          </select>
          <Failure error={error} />
          <div class="actions">
            <button type="submit">Rotate key</button>
            <button type="button" class="quiet" onClick={onDone}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function RevokeDialog({ k, onDone, onChanged }: { k: Key; onDone: () => void; onChanged: () => void }) {
  const [error, setError] = useState<Error>();
  const revoke = async () => {
    try {
      await call<Key>(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      onChanged();
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <Dialog title={`Revoke key ${k.name}?`} onClose={onDone}>
      <p>Requests with this key are refused from now on, on every instance. A revoked key cannot be restored.</p>
      <Failure error={error} />
      <div class="actions">
        <button type="button" class="danger" onClick={revoke}>
          Revoke key
        </button>
        <button type="button" class="quiet" onClick={onDone} autoFocus>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

export function Keys() {
  const keys = useLoad((signal) => call<List<Key>>("/admin/v1/keys", { signal }), [], 15_000);
  const prices = useLoad((signal) => call<List<Price>>("/admin/v1/prices", { signal }), []);
  const [open, setOpen] = useState<Open>(null);
  const [error, setError] = useState<Error>();
  const close = () => setOpen(null);

  const setStatus = async (k: Key, status: "active" | "blocked") => {
    setError(undefined);
    try {
      await call<Key>(`/admin/v1/keys/${encodeURIComponent(k.id)}`, { method: "PATCH", body: { status } });
      keys.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const list = keys.data?.data;
  return (
    <>
      <div class="toolbar">
        <p class="lede">Keys from the config file are read-only here; keys created here take effect on every instance within 2 seconds.</p>
        <button type="button" onClick={() => setOpen({ kind: "create" })}>
          Create key
        </button>
      </div>
      <Failure error={keys.error ?? error} />
      {!list && !keys.error && <p role="status">Loading…</p>}
      {list && (
        <div class="card scroll">
          <table class="keys">
            <caption class="visually-hidden">Keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Source</th>
                <th scope="col">Status</th>
                <th scope="col">Limits</th>
                <th scope="col">Budget</th>
                <th scope="col">Expires</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.id} class={k.status === "revoked" ? "gone" : undefined}>
                  <th scope="row" class="wrap">
                    {k.name}
                    {k.prefix && (
                      <>
                        <br />
                        <span class="mono muted" title="The secret's first characters">
                          {k.prefix}…
                        </span>
                      </>
                    )}
                  </th>
                  <td>{k.source === "config" ? "Config" : "API"}</td>
                  <td>
                    <span class={`badge ${k.status}`}>{k.status}</span>
                  </td>
                  <td>
                    <Limits k={k} />
                  </td>
                  <td>
                    <BudgetCell k={k} />
                  </td>
                  <td title={k.expires_at ?? undefined}>{k.expires_at ? day(k.expires_at) : "Never"}</td>
                  <td title={k.created_at ?? undefined}>{day(k.created_at)}</td>
                  <td>
                    {k.source === "config" ? (
                      <span class="muted">Read-only</span>
                    ) : k.status === "revoked" ? null : (
                      <div class="row-actions">
                        <button type="button" class="small quiet" onClick={() => setOpen({ kind: "rotate", key: k })}>
                          Rotate
                        </button>
                        {k.status === "blocked" ? (
                          <button type="button" class="small quiet" onClick={() => setStatus(k, "active")}>
                            Unblock
                          </button>
                        ) : (
                          <button type="button" class="small quiet" onClick={() => setStatus(k, "blocked")}>
                            Block
                          </button>
                        )}
                        <button type="button" class="small danger" onClick={() => setOpen({ kind: "revoke", key: k })}>
                          Revoke
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open?.kind === "create" && (
        <Dialog title="Create key" onClose={close}>
          <CreateKeyForm models={(prices.data?.data ?? []).map((p) => p.model)} onCreated={keys.reload} onCancel={close} />
        </Dialog>
      )}
      {open?.kind === "rotate" && <RotateDialog k={open.key} onDone={close} onChanged={keys.reload} />}
      {open?.kind === "revoke" && <RevokeDialog k={open.key} onDone={close} onChanged={keys.reload} />}
    </>
  );
}
