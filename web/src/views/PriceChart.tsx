import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { gql } from "../api/graphql";
import { every } from "../api/live";
import type { Candle } from "../api/types";
import { formatBRL } from "../money";
import { EXCHANGE_TIME_ZONE } from "../time";

const INTERVALS = [
  { value: "ONE_MINUTE", label: "1m", limit: 120 },
  { value: "ONE_HOUR", label: "1h", limit: 120 },
  { value: "ONE_DAY", label: "1d", limit: 90 },
] as const;
type Interval = (typeof INTERVALS)[number]["value"];

/** Closing prices of the candles as a line, re-read every few seconds. */
export function PriceChart({ ticker }: { ticker: string }) {
  const [interval, chooseInterval] = useState<Interval>("ONE_MINUTE");
  const [candles, setCandles] = useState<Candle[]>([]);
  const [failed, setFailed] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const limit = INTERVALS.find((i) => i.value === interval)!.limit;
    return every(5_000, async () => {
      try {
        const data = await gql<{ asset: { candles: Candle[] } | null }>(
          `query Candles($ticker: ID!, $interval: CandleInterval!, $limit: Int!) {
             asset(ticker: $ticker) { candles(interval: $interval, limit: $limit) { time open high low close volume } } }`,
          { ticker, interval, limit },
        );
        setCandles(data.asset?.candles ?? []);
        setFailed(false);
      } catch (error) {
        setFailed(true);
        throw error;
      }
    });
  }, [ticker, interval]);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const series: uPlot.AlignedData = [candles.map((c) => Date.parse(c.time) / 1000), candles.map((c) => Number(c.close))];
    if (chart.current) {
      chart.current.setData(series);
      return;
    }
    chart.current = new uPlot(
      {
        width: element.clientWidth || 600,
        height: 220,
        legend: { show: false },
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), EXCHANGE_TIME_ZONE),
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: "#a7b0bf", grid: { stroke: "#263040" }, ticks: { stroke: "#263040" } },
          { stroke: "#a7b0bf", grid: { stroke: "#263040" }, ticks: { stroke: "#263040" }, size: 70, values: (_u, values) => values.map((v) => formatBRL(v.toFixed(2))) },
        ],
        series: [{}, { label: "Close", stroke: "#60a5fa", width: 2, fill: "rgba(96,165,250,0.08)" }],
      },
      series,
      element,
    );
  }, [candles]);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: element.clientWidth, height: 220 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, []);

  const last = candles[candles.length - 1];
  return (
    <section class="panel chart" aria-labelledby="chart-title">
      <div class="panel-head">
        <h2 id="chart-title">Price</h2>
        <div class="segmented" role="group" aria-label="Candle interval">
          {INTERVALS.map((option) => (
            <button type="button" aria-pressed={interval === option.value} onClick={() => chooseInterval(option.value)}>
              {option.label}
            </button>
          ))}
        </div>
      </div>
      <div ref={host} class="chart-host" role="img" aria-label={last ? `${ticker} closing prices, last close ${formatBRL(last.close)}` : `${ticker} price chart`} />
      {failed && <p class="muted">The chart could not be loaded; trying again.</p>}
      {!failed && candles.length < 2 && <p class="muted">Not enough candles yet for a line at this interval.</p>}
    </section>
  );
}
