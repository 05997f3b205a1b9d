import { useEffect } from "preact/hooks";
import { direction, formatBRL, formatInteger, formatPercent, formatSignedBRL } from "../money";
import { addToWatchlist, catalog, focusedTicker, quotes, watchlist } from "../state/market";
import { t } from "../i18n";
import { Blotter } from "./Blotter";
import { MarketDepth } from "./MarketDepth";
import { OrderTicket } from "./OrderTicket";
import { PriceChart } from "./PriceChart";

export function AssetView({ ticker }: { ticker: string }) {
  useEffect(() => {
    focusedTicker.value = ticker;
    return () => {
      focusedTicker.value = null;
    };
  }, [ticker]);

  const asset = catalog.value[ticker];
  const quote = quotes.value[ticker];
  const trend = direction(quote?.change ?? "0");
  const known = Object.keys(catalog.value).length > 0;

  if (known && !asset) {
    return (
      <section class="panel">
        <h1>{ticker}</h1>
        <p>{t("asset.notTraded")}</p>
      </section>
    );
  }
  return (
    <div class="asset-view">
      <section class="panel asset-head" aria-labelledby="asset-title">
        <div>
          <h1 id="asset-title">
            {ticker} <small>{asset?.name}</small>
          </h1>
          <p class="muted">
            {asset ? `${asset.type} · ${t("asset.lotOf", { lot: formatInteger(asset.lotSize) })}` : ""}
            {quote ? ` · ${t("asset.volume", { volume: formatInteger(quote.volume) })}` : ""}
          </p>
        </div>
        <div class="last" aria-live="off">
          <span class="price" data-testid="asset-price">
            {quote ? formatBRL(quote.price) : "—"}
          </span>
          {quote && (
            <span class={`change ${trend > 0 ? "up" : trend < 0 ? "down" : ""}`}>
              {formatSignedBRL(quote.change)} ({formatPercent(quote.changePercent)})
            </span>
          )}
        </div>
        {!watchlist.value.includes(ticker) && (
          <button type="button" class="secondary" onClick={() => addToWatchlist(ticker)}>
            {t("asset.addToWatchlist")}
          </button>
        )}
      </section>
      <PriceChart ticker={ticker} />
      <div class="trade-grid">
        <OrderTicket ticker={ticker} />
        <MarketDepth ticker={ticker} />
      </div>
      <Blotter title={t("asset.yourOrders", { ticker })} ticker={ticker} />
    </div>
  );
}
