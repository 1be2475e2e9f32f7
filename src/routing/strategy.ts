// Picks the next target among the available ones: weighted random, least busy, lowest latency, or config order.
import type { Strategy, Target } from "./plan.ts";

/** Weighted random choice; `random` is injectable so tests can seed it. */
function weighted(candidates: Target[], random: () => number): Target {
  const total = candidates.reduce((s, t) => s + t.weight, 0);
  let r = random() * total;
  for (const t of candidates) {
    r -= t.weight;
    if (r < 0) return t;
  }
  return candidates[candidates.length - 1]!;
}

/** The candidates with the lowest score; ties share the load by weight rather than piling onto the first listed. */
function lowest(candidates: Target[], score: (t: Target) => number, random: () => number): Target {
  let best = Infinity;
  let tied: Target[] = [];
  for (const t of candidates) {
    const s = score(t);
    if (s < best) {
      best = s;
      tied = [t];
    } else if (s === best) tied.push(t);
  }
  return tied.length === 1 ? tied[0]! : weighted(tied, random);
}

export function pick(strategy: Strategy, candidates: Target[], random: () => number): Target | undefined {
  if (candidates.length <= 1) return candidates[0];
  switch (strategy) {
    case "ordered":
      return candidates.reduce((a, b) => (b.index < a.index ? b : a));
    case "least-busy":
      return lowest(candidates, (t) => t.health.inFlight, random);
    case "latency":
      // A target never measured scores 0, so every deployment gets measured once before the fastest takes over.
      return lowest(candidates, (t) => t.health.latencyEwma ?? 0, random);
    case "weighted":
      return weighted(candidates, random);
  }
}
