import { useEffect, useRef, useState } from "preact/hooks";
import type { AssetSummary } from "../api/types";
import { formatBRL, formatPercent, direction } from "../money";
import { addToWatchlist, catalog, history, quotes, removeFromWatchlist, searchAssets, watchlist } from "../state/market";
import { href, route } from "../state/route";
import { t } from "../i18n";
import { Sparkline } from "./Sparkline";

export function Watchlist() {
  const focused = route.value.view === "asset" ? route.value.ticker : null;
  return (
    <section class="panel watchlist" aria-labelledby="watchlist-title">
      <h2 id="watchlist-title">{t("watchlist.title")}</h2>
      <AddTicker />
      {watchlist.value.length === 0 ? (
        <p class="muted">{t("watchlist.empty")}</p>
      ) : (
        <table>
          <caption class="visually-hidden">{t("watchlist.caption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("watchlist.ticker")}</th>
              <th scope="col" class="num">{t("watchlist.price")}</th>
              <th scope="col" class="num">{t("watchlist.change")}</th>
              <th scope="col" class="trend">{t("watchlist.trend")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("watchlist.remove")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {watchlist.value.map((ticker) => (
              <WatchRow key={ticker} ticker={ticker} current={ticker === focused} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function WatchRow({ ticker, current }: { ticker: string; current: boolean }) {
  const quote = quotes.value[ticker];
  const name = catalog.value[ticker]?.name ?? "";
  const trend = direction(quote?.change ?? "0");
  const tick = useTick(quote?.price);
  return (
    <tr data-ticker={ticker} class={current ? "current" : undefined}>
      <th scope="row">
        <a href={href({ view: "asset", ticker })} aria-current={current ? "page" : undefined}>
          {ticker}
        </a>
        <small>{name}</small>
      </th>
      <td class={`num price ${tick}`} data-price={quote?.price}>
        {quote ? formatBRL(quote.price) : "—"}
      </td>
      <td class={`num change ${trend > 0 ? "up" : trend < 0 ? "down" : ""}`}>{quote ? formatPercent(quote.changePercent) : "—"}</td>
      <td class="trend">
        <Sparkline points={history.value[ticker] ?? []} trend={trend} />
      </td>
      <td>
        <button type="button" class="icon" aria-label={t("watchlist.removeTicker", { ticker })} onClick={() => removeFromWatchlist(ticker)}>
          ×
        </button>
      </td>
    </tr>
  );
}

/** "tick-up" or "tick-down" for a moment after the price moves up or down, so a trader's eye
 * catches which rows just traded (the cell flashes; styles.css). Comparing the decimal
 * strings as numbers is for the colour only, never for money. */
function useTick(price: string | undefined): "" | "tick-up" | "tick-down" {
  const previous = useRef(price);
  const [tick, setTick] = useState<"" | "tick-up" | "tick-down">("");
  useEffect(() => {
    const before = previous.current;
    previous.current = price;
    if (before === undefined || price === undefined || before === price) return;
    setTick(Number(price) > Number(before) ? "tick-up" : "tick-down");
    const timer = setTimeout(() => setTick(""), 700);
    return () => clearTimeout(timer);
  }, [price]);
  return tick;
}

function AddTicker() {
  const [text, setText] = useState("");
  const [results, setResults] = useState<AssetSummary[]>([]);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    const wanted = text.trim();
    if (!wanted) {
      setResults([]);
      setMessage(null);
      return;
    }
    // wait for a pause in typing before asking the server
    const timer = setTimeout(async () => {
      try {
        const found = await searchAssets(wanted);
        setResults(found);
        setMessage(found.length ? null : t("watchlist.noMatch", { text: wanted }));
      } catch {
        setMessage(t("watchlist.searchUnavailable"));
      }
    }, 200);
    return () => clearTimeout(timer);
  }, [text]);

  const add = (ticker: string) => {
    addToWatchlist(ticker);
    setText("");
  };

  return (
    <div class="add-ticker">
      <label for="ticker-search">{t("watchlist.search")}</label>
      <input
        id="ticker-search"
        type="search"
        placeholder={t("watchlist.searchPlaceholder")}
        autoComplete="off"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && results[0]) add(results[0].ticker);
        }}
      />
      {message && <p class="muted" role="status">{message}</p>}
      {results.length > 0 && (
        <ul class="results" aria-label={t("watchlist.results")}>
          {results.map((asset) => (
            <li key={asset.ticker}>
              <span>
                <strong>{asset.ticker}</strong> {asset.name}
              </span>
              {watchlist.value.includes(asset.ticker) ? (
                <span class="muted">{t("watchlist.onList")}</span>
              ) : (
                <button type="button" class="secondary" onClick={() => add(asset.ticker)} aria-label={t("watchlist.addTicker", { ticker: asset.ticker })}>
                  {t("watchlist.add")}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
