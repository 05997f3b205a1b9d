// Candles from the API as lightweight-charts data: times in UTC seconds (the axis and
// crosshair format them in Brasília time), prices as numbers only for drawing.
import type { CandlestickData, HistogramData, LineData, UTCTimestamp } from "lightweight-charts";
import type { Candle, Quote } from "../api/types";

export const INTERVALS = [
  { value: "ONE_MINUTE", label: "1m", seconds: 60, limit: 180 },
  { value: "FIVE_MINUTES", label: "5m", seconds: 300, limit: 180 },
  { value: "FIFTEEN_MINUTES", label: "15m", seconds: 900, limit: 160 },
  { value: "ONE_HOUR", label: "1h", seconds: 3600, limit: 120 },
  { value: "ONE_DAY", label: "1d", seconds: 86400, limit: 90 },
] as const;
export type Interval = (typeof INTERVALS)[number]["value"];
export const MOVING_AVERAGE = 9;

export const UP = "#22c55e";
export const DOWN = "#ef4444";

export function toBars(candles: Candle[]): CandlestickData<UTCTimestamp>[] {
  return candles.map((c) => ({ time: seconds(c.time), open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) }));
}

export function toVolumes(candles: Candle[]): HistogramData<UTCTimestamp>[] {
  return candles.map((c) => ({ time: seconds(c.time), value: c.volume, color: Number(c.close) >= Number(c.open) ? `${UP}80` : `${DOWN}80` }));
}

/** The simple moving average of the closes over `period` bars, from the period-th bar on. */
export function movingAverage(bars: CandlestickData<UTCTimestamp>[], period = MOVING_AVERAGE): LineData<UTCTimestamp>[] {
  const line: LineData<UTCTimestamp>[] = [];
  let sum = 0;
  bars.forEach((bar, i) => {
    sum += bar.close;
    if (i >= period) sum -= bars[i - period].close;
    if (i >= period - 1) line.push({ time: bar.time, value: sum / period });
  });
  return line;
}

/** The last bar moved by a quote: the same bucket grows, a later one opens a new bar. */
export function withQuote(last: CandlestickData<UTCTimestamp> | undefined, quote: Quote, bucketSeconds: number): CandlestickData<UTCTimestamp> | null {
  const at = seconds(quote.time);
  const start = (at - (at % bucketSeconds)) as UTCTimestamp;
  const price = Number(quote.price);
  if (!last || start < last.time) return null; // older than the chart: the next read brings it
  if (start > last.time) return { time: start, open: price, high: price, low: price, close: price };
  return { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price };
}

function seconds(iso: string): UTCTimestamp {
  return Math.floor(Date.parse(iso) / 1000) as UTCTimestamp;
}
