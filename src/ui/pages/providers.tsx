// Providers: every deployment's state from GET /health/providers (healthy, cooling, probing), errors, latency, in-flight; refreshed every 5 s.
import { call } from "../api.ts";
import { count, ms, relative, when } from "../format.ts";
import { useLoad } from "../parts/load.ts";
import { Failure } from "../parts/status.tsx";

/** As the gateway's router reports a deployment (src/routing/breaker.ts, TargetStatus). */
export interface Deployment {
  id: string;
  provider: string;
  upstream_model: string;
  models: string[];
  state: "healthy" | "cooling_down" | "probing";
  cooling_down_until: string | null;
  in_flight: number;
  requests: number;
  errors: { recent: number; total: number; last: string | null; last_at: string | null };
  latency_ms: { ewma: number | null; last: number | null };
}

const STATE_TEXT: Record<Deployment["state"], string> = { healthy: "Healthy", cooling_down: "Cooling down", probing: "Probing" };

function byProvider(list: Deployment[]): [string, Deployment[]][] {
  const groups = new Map<string, Deployment[]>();
  for (const d of list) groups.set(d.provider, [...(groups.get(d.provider) ?? []), d]);
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function State({ d }: { d: Deployment }) {
  return (
    <span class={`badge ${d.state}`}>
      {STATE_TEXT[d.state]}
      {d.state === "cooling_down" && d.cooling_down_until && <span title={d.cooling_down_until}> (ends {relative(d.cooling_down_until)})</span>}
    </span>
  );
}

export function Providers() {
  const health = useLoad((signal) => call<{ data: Deployment[] }>("/health/providers", { signal }), [], 5000);
  const list = health.data?.data;
  return (
    <>
      <p class="lede">
        Every deployment the router can send to: its circuit breaker, the errors it gave lately and how fast it answers. Updated every 5 seconds.
      </p>
      <Failure error={health.error} />
      {!list && !health.error && <p role="status">Loading…</p>}
      {list && list.length === 0 && <p>No deployments are configured.</p>}
      {list &&
        byProvider(list).map(([provider, deployments], i) => {
          const cooling = deployments.filter((d) => d.state !== "healthy").length;
          return (
            <section key={provider} class="card" aria-labelledby={`provider-${i}`}>
              <h2 id={`provider-${i}`}>
                {provider} <span class="muted">{cooling === 0 ? "all healthy" : `${cooling} of ${deployments.length} not healthy`}</span>
              </h2>
              <div class="scroll">
                <table>
                  <caption class="visually-hidden">Deployments of {provider}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Upstream model</th>
                      <th scope="col">Serves</th>
                      <th scope="col">State</th>
                      <th scope="col" class="num">In flight</th>
                      <th scope="col" class="num">Requests</th>
                      <th scope="col" class="num">Errors (recent / total)</th>
                      <th scope="col">Last error</th>
                      <th scope="col" class="num">Latency (avg / last)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {deployments.map((d) => (
                      <tr key={d.id}>
                        <th scope="row">{d.upstream_model}</th>
                        <td>{d.models.join(", ")}</td>
                        <td>
                          <State d={d} />
                        </td>
                        <td class="num">{count(d.in_flight)}</td>
                        <td class="num">{count(d.requests)}</td>
                        <td class="num">
                          {count(d.errors.recent)} / {count(d.errors.total)}
                        </td>
                        <td class="wrap">
                          {d.errors.last ? (
                            <>
                              <span title={d.errors.last_at ?? undefined}>{when(d.errors.last_at)}</span>: {d.errors.last}
                            </>
                          ) : (
                            "—"
                          )}
                        </td>
                        <td class="num">
                          {ms(d.latency_ms.ewma)} / {ms(d.latency_ms.last)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          );
        })}
    </>
  );
}
