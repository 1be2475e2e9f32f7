// Reads one run's raw rows (wrk results, extra figures, the fixed-rate tail) and prints the tables and the targets, as ratios to the floor.
// Usage: bun report.ts <run>.tsv <run>.extra.tsv [<run>.tail.tsv]
export {}; // a module, not a global script: its own scope, and top-level await
const [resPath, extraPath, tailPath] = Bun.argv.slice(2);
if (!resPath || !extraPath) throw new Error("usage: bun report.ts RUN.tsv RUN.extra.tsv");
const rows = (text: string) => text.trim().split("\n").slice(1).map((l) => l.split("\t"));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Cell = { rps: number[]; p50: number[]; p99: number[]; errors: number };
const cells = new Map<string, Cell>();
for (const [mode, conc, target, , rps, p50, p99, errors, non2xx] of rows(await Bun.file(resPath).text())) {
  const k = `${mode} ${conc} ${target}`;
  const c = cells.get(k) ?? { rps: [], p50: [], p99: [], errors: 0 };
  c.rps.push(Number(rps)); c.p50.push(Number(p50)); c.p99.push(Number(p99)); c.errors += Number(errors) + Number(non2xx);
  cells.set(k, c);
}
const med = (mode: string, conc: string, target: string) => {
  const c = cells.get(`${mode} ${conc} ${target}`);
  // spread: how far the rounds of this cell disagree ((max − min) / median of requests/s), the run's own noise gauge.
  return c && { rps: median(c.rps), p50: median(c.p50), p99: median(c.p99), errors: c.errors, spread: (Math.max(...c.rps) - Math.min(...c.rps)) / median(c.rps) };
};
const noisy: string[] = [];
const extra = new Map<string, number>();
for (const [what, target, value] of rows(await Bun.file(extraPath).text())) extra.set(`${what} ${target}`, Number(value));
const x = (what: string, target: string) => extra.get(`${what} ${target}`) ?? NaN;

const pad = (s: string, n: number) => s.padStart(n);
const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "-");
console.log(`\n${"mode".padEnd(7)}${"conc".padEnd(6)}${"target".padEnd(9)}${pad("rps", 9)}${pad("p50_ms", 9)}${pad("p99_ms", 9)}${pad("errors", 7)}${pad("rps/floor", 11)}${pad("p99/floor", 11)}${pad("+p50_ms", 9)}${pad("-floor's", 10)}${pad("spread", 8)}`);
const modes = [...new Set([...cells.keys()].map((k) => k.split(" ")[0]!))];
const concs = [...new Set([...cells.keys()].map((k) => k.split(" ")[1]!))].sort((a, b) => Number(a) - Number(b));
const targets = ["direct", "floor", "portkey", "ours", "ours_s01"];
for (const mode of modes) for (const conc of concs) {
  const fl = med(mode, conc, "floor"), dir = med(mode, conc, "direct");
  for (const t of targets) {
    const m = med(mode, conc, t);
    if (!m || !fl || !dir) continue;
    const added = m.p50 - dir.p50;
    console.log(`${mode.padEnd(7)}${conc.padEnd(6)}${t.padEnd(9)}${pad(m.rps.toFixed(0), 9)}${pad(f(m.p50), 9)}${pad(f(m.p99), 9)}${pad(String(m.errors), 7)}${pad(f(m.rps / fl.rps), 11)}${pad(f(m.p99 / fl.p99, 2), 11)}${pad(f(added), 9)}${pad(f(added - (fl.p50 - dir.p50)), 10)}${pad(f(m.spread, 2), 8)}`);
    if (t !== "direct" && m.spread > 0.15) noisy.push(`${mode} c=${conc} ${t}`);
  }
}
console.log(`\n${"target".padEnd(9)}${pad("idle_MiB", 10)}${pad("streams:start", 14)}${pad("peak", 8)}${pad("after", 8)}${pad("held", 6)}${pad("ok", 6)}${pad("after/start", 12)}${pad("ttfb_ms", 9)}${pad("+ttfb_vs_floor", 16)}`);
for (const t of targets) {
  if (!extra.has(`rss_idle ${t}`) && !extra.has(`ttfb_p50 ${t}`)) continue;
  console.log(`${t.padEnd(9)}${pad(f(x("rss_idle", t), 1), 10)}${pad(f(x("rss_streams_start", t), 1), 14)}${pad(f(x("rss_streams_peak", t), 1), 8)}${pad(f(x("rss_streams_after", t), 1), 8)}${pad(f(x("streams_max_open", t), 0), 6)}${pad(f(x("streams_ok", t), 0), 6)}${pad(f(x("rss_streams_after", t) / x("rss_streams_start", t), 2), 12)}${pad(f(x("ttfb_p50", t)), 9)}${pad(f(x("ttfb_p50", t) - x("ttfb_p50", "floor")), 16)}`);
}

// The tail at a fixed rate (hey, 64 workers, half the floor's saturated requests/s).
const tail = new Map<string, { rate: number; p50: number; p99: number; p999: number; errors: number }>();
if (tailPath && (await Bun.file(tailPath).exists())) {
  for (const [mode, target, rate, p50, p99, p999, errors] of rows(await Bun.file(tailPath).text())) {
    tail.set(`${mode} ${target}`, { rate: Number(rate), p50: Number(p50), p99: Number(p99), p999: Number(p999), errors: Number(errors) });
  }
}
if (tail.size > 0) {
  console.log(`\nfixed rate  ${"mode".padEnd(7)}${"target".padEnd(9)}${pad("req/s", 8)}${pad("p50_ms", 9)}${pad("p99_ms", 9)}${pad("p99.9_ms", 10)}${pad("errors", 7)}${pad("p99/floor", 11)}`);
  for (const mode of modes) for (const t of targets) {
    const r = tail.get(`${mode} ${t}`), fl = tail.get(`${mode} floor`);
    if (!r || !fl) continue;
    console.log(`            ${mode.padEnd(7)}${t.padEnd(9)}${pad(String(r.rate), 8)}${pad(f(r.p50), 9)}${pad(f(r.p99), 9)}${pad(f(r.p999), 10)}${pad(String(r.errors), 7)}${pad(f(r.p99 / fl.p99, 2), 11)}`);
  }
}
const loadPeak = (t: string) => x("rss_load_peak", t);
if (extra.has("rss_load_peak ours")) console.log(`\npeak RSS under the 64-connection load (MiB): ${targets.filter((t) => extra.has(`rss_load_peak ${t}`)).map((t) => `${t} ${f(loadPeak(t), 1)}`).join(", ")}`);

// The control plane under the load above, and the big hold.
const queueMax = Math.max(0, ...[...extra].filter(([k]) => k.startsWith("usage_queue_max ")).map(([, v]) => v));
if (extra.has("events_written ours")) {
  console.log(`\nstore under load: ${f(x("events_written", "ours"), 0)} usage events written, ${f(x("events_per_s", "ours"), 0)} per second of load; usage queue max ${f(queueMax, 0)}, ${f(x("usage_queue_end", "ours"), 0)} left after; ${f(x("spans_exported", "ours"), 0)} spans exported`);
}
for (const t of ["floor", "ours"]) {
  if (!extra.has(`big_streams_max_open ${t}`)) continue;
  console.log(`big hold via ${t}: ${f(x("big_streams_max_open", t), 0)} open at once, ${f(x("big_streams_ok", t), 0)} completed; RSS ${f(x("big_rss_streams_start", t), 1)} → peak ${f(x("big_rss_streams_peak", t), 1)} → after ${f(x("big_rss_streams_after", t), 1)} MiB`);
}

// The targets, each checked on this run.
const checks: [string, number, string, boolean][] = [];
const check = (name: string, value: number, want: string, ok: boolean) => checks.push([name, value, want, ok]);
for (const mode of modes) {
  const o = med(mode, "64", "ours"), fl = med(mode, "64", "floor");
  if (o && fl) check(`${mode} rps at 64 conns / floor, traces on`, o.rps / fl.rps, ">= 0.70", o.rps / fl.rps >= 0.7);
  const s = med(mode, "64", "ours_s01");
  if (s && fl) check(`${mode} rps at 64 conns / floor, 1 trace in 10`, s.rps / fl.rps, ">= 0.70", s.rps / fl.rps >= 0.7);
  const to = tail.get(`${mode} ours`), tf = tail.get(`${mode} floor`);
  if (to && tf) check(`${mode} p99 at a fixed rate / floor`, to.p99 / tf.p99, "<= 1.50", to.p99 / tf.p99 <= 1.5);
  const o1 = med(mode, "1", "ours"), f1 = med(mode, "1", "floor");
  if (o1 && f1) check(`${mode} added p50 at 1 conn, minus floor's (ms)`, o1.p50 - f1.p50, "<= 0.15", o1.p50 - f1.p50 <= 0.15);
}
if (extra.has("rss_load_peak portkey")) check("peak RSS under load, ours vs Portkey's (MiB)", loadPeak("ours"), `<= ${f(loadPeak("portkey"), 1)}`, loadPeak("ours") <= loadPeak("portkey"));
const idle = x("rss_idle", "ours");
check("idle RSS (MiB)", idle, "<= 60", idle <= 60);
const peak = x("rss_streams_peak", "ours"), held = x("streams_max_open", "ours");
check(`RSS with ${held} streams held (MiB)`, peak, "<= 250", peak <= 250 && held >= Number(process.env.STREAMS ?? 2000));
const back = x("rss_streams_after", "ours") / x("rss_streams_start", "ours");
check("RSS after streams / before", back, "<= 1.10", back <= 1.1);
const ttfb = x("ttfb_p50", "ours") - x("ttfb_p50", "floor");
check("stream TTFB over floor (ms)", ttfb, "<= 1.00", ttfb <= 1);
if (extra.has("usage_queue_end ours")) check("usage queue at the end of the load", x("usage_queue_end", "ours"), "<= 500 (one batch)", x("usage_queue_end", "ours") <= 500);
if (extra.has("big_streams_max_open ours")) {
  const n = x("big_streams_max_open", "ours");
  check(`${n} streams held at once: all completed`, x("big_streams_ok", "ours"), `= ${n}`, x("big_streams_ok", "ours") === n);
}
console.log("\ntargets");
if (noisy.length) console.log(`  (noisy run: the rounds of ${noisy.join(", ")} differ by more than 15% — something else was using the CPU; rerun)`);
for (const [name, value, want, ok] of checks) console.log(`  ${ok ? "MET " : "MISS"}  ${name.padEnd(44)} ${f(value).padStart(9)}  (${want})`);
