// useLoad: one request per change of its inputs, the previous one aborted, an optional refresh while the tab is visible.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, inputs: readonly unknown[], refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const current = useRef(load);
  current.current = load;

  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    current.current(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (error: unknown) => !ctl.signal.aborted && setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false })),
    );
    return () => ctl.abort();
  }, [...inputs, tick]);

  useEffect(() => {
    if (!refreshMs) return;
    const id = setInterval(() => document.visibilityState === "visible" && reload(), refreshMs);
    return () => clearInterval(id);
  }, [refreshMs, reload]);

  return { data: state.data, error: state.error, loading: state.loading, reload };
}
