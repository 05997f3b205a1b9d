import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  LineSeries,
  TickMarkType,
  type CandlestickData,
  type IChartApi,
  type ISeriesApi,
  type MouseEventParams,
  type Time,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api/graphql";
import { every } from "../api/live";
import type { Candle } from "../api/types";
import { t } from "../i18n";
import { formatAmount, formatBRL, formatInteger } from "../money";
import { quotes } from "../state/market";
import { EXCHANGE_TIME_ZONE } from "../time";
import { DOWN, INTERVALS, MOVING_AVERAGE, UP, movingAverage, toBars, toVolumes, withQuote, type Interval } from "./chartData";

const HEIGHT = 260;
const axisDay = new Intl.DateTimeFormat("pt-BR", { timeZone: EXCHANGE_TIME_ZONE, day: "2-digit", month: "2-digit" });
const axisMonth = new Intl.DateTimeFormat("pt-BR", { timeZone: EXCHANGE_TIME_ZONE, month: "short", year: "2-digit" });
const axisTime = new Intl.DateTimeFormat("pt-BR", { timeZone: EXCHANGE_TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const crosshairTime = new Intl.DateTimeFormat("pt-BR", {
  timeZone: EXCHANGE_TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const at = (time: Time) => new Date((time as number) * 1000);

interface Series {
  chart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  volume: ISeriesApi<"Histogram">;
  average: ISeriesApi<"Line">;
}

interface Legend {
  time: Time;
  bar: CandlestickData<UTCTimestamp>;
  volume: number | null;
}

/** Candlesticks with volume and a moving average (TradingView's lightweight-charts), read
 * every few seconds and moved between reads by each quote. */
export function PriceChart({ ticker }: { ticker: string }) {
  const [interval, chooseInterval] = useState<Interval>("ONE_MINUTE");
  const [candles, setCandles] = useState<Candle[]>([]);
  const [failed, setFailed] = useState(false);
  const [legend, setLegend] = useState<Legend | null>(null);
  const host = useRef<HTMLDivElement>(null);
  const series = useRef<Series | null>(null);
  const lastBar = useRef<CandlestickData<UTCTimestamp> | undefined>(undefined);
  const bucket = INTERVALS.find((i) => i.value === interval)!;

  useEffect(() => {
    setCandles([]);
    return every(5_000, async () => {
      try {
        const data = await gql<{ asset: { candles: Candle[] } | null }>(
          `query Candles($ticker: ID!, $interval: CandleInterval!, $limit: Int!) {
             asset(ticker: $ticker) { candles(interval: $interval, limit: $limit) { time open high low close volume } } }`,
          { ticker, interval, limit: bucket.limit },
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
    const element = host.current!;
    const chart = createChart(element, {
      width: element.clientWidth || 600,
      height: HEIGHT,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: "#a7b0bf", attributionLogo: false },
      grid: { vertLines: { color: "#263040" }, horzLines: { color: "#263040" } },
      localization: { locale: "pt-BR", priceFormatter: (price: number) => formatAmount(price.toFixed(2)), timeFormatter: (time: Time) => crosshairTime.format(at(time)) },
      timeScale: {
        timeVisible: true,
        barSpacing: 9,
        rightOffset: 4,
        secondsVisible: false,
        borderColor: "#263040",
        tickMarkFormatter: (time: Time, type: TickMarkType) =>
          type === TickMarkType.Year || type === TickMarkType.Month ? axisMonth.format(at(time)) : type === TickMarkType.DayOfMonth ? axisDay.format(at(time)) : axisTime.format(at(time)),
      },
      rightPriceScale: { borderColor: "#263040" },
    });
    const candles = chart.addSeries(CandlestickSeries, { upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN });
    const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
    const average = chart.addSeries(LineSeries, { color: "#f59e0b", lineWidth: 2, lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false });
    series.current = { chart, candles, volume, average };

    const onMove = (param: MouseEventParams) => {
      const bar = param.seriesData.get(candles) as CandlestickData<UTCTimestamp> | undefined;
      const bars = param.seriesData.get(volume) as { value: number } | undefined;
      setLegend(param.time && bar ? { time: param.time, bar, volume: bars?.value ?? null } : null);
    };
    chart.subscribeCrosshairMove(onMove);
    const resize = new ResizeObserver(() => chart.applyOptions({ width: element.clientWidth }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.unsubscribeCrosshairMove(onMove);
      chart.remove();
      series.current = null;
    };
  }, []);

  useEffect(() => {
    const drawn = series.current;
    if (!drawn) return;
    const bars = toBars(candles);
    drawn.candles.setData(bars);
    drawn.volume.setData(toVolumes(candles));
    drawn.average.setData(movingAverage(bars));
    lastBar.current = bars[bars.length - 1];
    if (bars.length) drawn.chart.timeScale().scrollToRealTime();
  }, [candles]);

  // Between reads, each quote moves the last candle (or opens the next one).
  const quote = quotes.value[ticker];
  useEffect(() => {
    const drawn = series.current;
    if (!drawn || !quote || !lastBar.current) return;
    const moved = withQuote(lastBar.current, quote, bucket.seconds);
    if (!moved) return;
    drawn.candles.update(moved);
    lastBar.current = moved;
  }, [quote?.time]);

  const last = candles[candles.length - 1];
  const shown = legend ?? (last ? { time: 0 as Time, bar: toBars([last])[0], volume: last.volume } : null);
  return (
    <section class="panel chart" aria-labelledby="chart-title">
      <div class="panel-head">
        <h2 id="chart-title">{t("chart.title")}</h2>
        <div class="segmented" role="group" aria-label={t("chart.interval")}>
          {INTERVALS.map((option) => (
            <button type="button" aria-pressed={interval === option.value} onClick={() => chooseInterval(option.value)}>
              {option.label}
            </button>
          ))}
        </div>
      </div>
      <dl class="chart-legend" data-testid="chart-legend" aria-live="off">
        {shown && (
          <>
            <div><dt>{t("chart.open")}</dt><dd>{formatAmount(shown.bar.open.toFixed(2))}</dd></div>
            <div><dt>{t("chart.high")}</dt><dd>{formatAmount(shown.bar.high.toFixed(2))}</dd></div>
            <div><dt>{t("chart.low")}</dt><dd>{formatAmount(shown.bar.low.toFixed(2))}</dd></div>
            <div><dt>{t("chart.close")}</dt><dd class={shown.bar.close >= shown.bar.open ? "up" : "down"}>{formatAmount(shown.bar.close.toFixed(2))}</dd></div>
            <div><dt>{t("chart.volume")}</dt><dd>{shown.volume !== null ? formatInteger(shown.volume) : "—"}</dd></div>
            <div class="ma"><dt>{t("chart.movingAverage", { period: MOVING_AVERAGE })}</dt><dd aria-hidden="true">━</dd></div>
          </>
        )}
      </dl>
      <div
        ref={host}
        class="chart-host"
        role="img"
        data-candles={candles.length}
        data-volume={candles.reduce((sum, c) => sum + c.volume, 0)}
        aria-label={last ? t("chart.labelLast", { ticker, close: formatBRL(last.close) }) : t("chart.label", { ticker })}
      />
      {failed && <p class="muted">{t("chart.failed")}</p>}
      {!failed && candles.length === 0 && <p class="muted">{t("chart.notEnough")}</p>}
    </section>
  );
}
