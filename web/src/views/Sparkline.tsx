/** A price trend as a small SVG line; decorative next to the numbers it summarises.
 * Coloured by `trend`, the sign of the day's change the row shows beside it: the line's own
 * first and last points are only the ticks seen since the page opened, and coloured by
 * them it could read "down" on a day the change column says "up". */
export function Sparkline({ points, trend, width = 72, height = 24 }: { points: number[]; trend: number; width?: number; height?: number }) {
  const tone = trend > 0 ? "up" : trend < 0 ? "down" : "flat";
  if (points.length < 2) return <svg class={`sparkline ${tone}`} width={width} height={height} aria-hidden="true" />;
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const step = width / (points.length - 1);
  const line = points.map((p, i) => `${(i * step).toFixed(1)},${(height - 2 - ((p - low) / span) * (height - 4)).toFixed(1)}`).join(" ");
  return (
    <svg class={`sparkline ${tone}`} width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <polyline points={line} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}
