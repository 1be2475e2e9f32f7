// A time chart drawn by uPlot on a canvas: sized to its box, coloured from the page's light or dark palette, summarised in text for screen readers.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: (number | null)[];
  /** A CSS custom property of the palette (`--chart-1` …). */
  colour: string;
  dashed?: boolean;
}

export interface ChartProps {
  title: string;
  /** Seconds since the epoch, ascending. */
  t: number[];
  lines: Line[];
  /** How a y value is written (axis ticks and legend). */
  format: (v: number) => string;
  /** One sentence for assistive technology: the canvas itself says nothing. */
  summary: string;
  height?: number;
}

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const dark = matchMedia("(prefers-color-scheme: dark)");

function options(p: ChartProps, width: number): uPlot.Options {
  const ink = cssVar("--muted");
  const grid = cssVar("--border");
  const axis: uPlot.Axis = { stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  return {
    width,
    height: p.height ?? 180,
    series: [
      {},
      ...p.lines.map((l): uPlot.Series => ({
        label: l.label,
        stroke: cssVar(l.colour),
        width: 2,
        dash: l.dashed ? [6, 4] : undefined,
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? "—" : p.format(v)),
      })),
    ],
    scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [axis, { ...axis, size: 64, values: (_u, ticks) => ticks.map((v) => p.format(v)) }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
}

export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current!;
    let plot: uPlot | undefined;
    const draw = () => {
      plot?.destroy();
      plot = new uPlot(options(p, Math.max(200, el.clientWidth)), [p.t, ...p.lines.map((l) => l.values)] as uPlot.AlignedData, el);
    };
    draw();
    const resize = new ResizeObserver(() => plot?.setSize({ width: Math.max(200, el.clientWidth), height: p.height ?? 180 }));
    resize.observe(el);
    // The palette changes with the system's light or dark setting: redraw in the new colours.
    dark.addEventListener("change", draw);
    return () => {
      resize.disconnect();
      dark.removeEventListener("change", draw);
      plot?.destroy();
    };
  }, [p.t, p.lines, p.format, p.height]);

  return (
    <figure class="chart card">
      <figcaption>{p.title}</figcaption>
      <div ref={box} role="img" aria-label={`${p.title}: ${p.summary}`} />
    </figure>
  );
}
