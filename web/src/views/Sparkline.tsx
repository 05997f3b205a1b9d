/** A price trend as a small SVG line; decorative next to the numbers it summarises. */
export function Sparkline({ points, width = 72, height = 24 }: { points: number[]; width?: number; height?: number }) {
  if (points.length < 2) return <svg class="sparkline" width={width} height={height} aria-hidden="true" />;
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const step = width / (points.length - 1);
  const line = points.map((p, i) => `${(i * step).toFixed(1)},${(height - 2 - ((p - low) / span) * (height - 4)).toFixed(1)}`).join(" ");
  const rising = points[points.length - 1] >= points[0];
  return (
    <svg class={`sparkline ${rising ? "up" : "down"}`} width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden="true">
      <polyline points={line} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}
