// Quotes for every ticker the screen shows: the watchlist, the asset page and the
// positions. Live through Subscription.quotes, polled through Query.assets otherwise.
import { computed, effect, signal, untracked } from "@preact/signals";
import { gql } from "../api/graphql";
import { follow } from "../api/live";
import type { AssetSummary, Quote } from "../api/types";

const QUOTE_FIELDS = "ticker price change changePercent volume time";
const SPARKLINE_POINTS = 60;
const DEFAULT_WATCHLIST = ["PETR4", "VALE3", "ITUB4", "BBAS3", "WEGE3", "BOVA11"];

export const catalog = signal<Record<string, AssetSummary>>({});
export const quotes = signal<Record<string, Quote>>({});
/** recent prices per ticker, oldest first: the sparklines (drawing only) */
export const history = signal<Record<string, number[]>>({});
export const watchlist = signal<string[]>([]);
/** the ticker the asset page shows, followed even when not on the watchlist */
export const focusedTicker = signal<string | null>(null);
/** tickers of the wallet's positions (set by the account state) */
export const heldTickers = signal<string[]>([]);

const followed = computed(() => {
  const tickers = new Set([...watchlist.value, ...heldTickers.value]);
  if (focusedTicker.value) tickers.add(focusedTicker.value);
  return [...tickers].sort();
});

let watchlistKey: string | null = null;

export function loadWatchlist(userId: string): void {
  // A preference, not a secret: kept per user in localStorage across sessions.
  watchlistKey = `mybroker.watchlist.${userId}`;
  const stored = localStorage.getItem(watchlistKey);
  watchlist.value = stored ? (JSON.parse(stored) as string[]) : DEFAULT_WATCHLIST;
}

export function addToWatchlist(ticker: string): void {
  if (watchlist.value.includes(ticker)) return;
  saveWatchlist([...watchlist.value, ticker]);
  void seedHistory(ticker);
}

export function removeFromWatchlist(ticker: string): void {
  saveWatchlist(watchlist.value.filter((t) => t !== ticker));
}

function saveWatchlist(tickers: string[]): void {
  watchlist.value = tickers;
  if (watchlistKey) localStorage.setItem(watchlistKey, JSON.stringify(tickers));
}

export async function loadCatalog(): Promise<void> {
  const data = await gql<{ assets: (AssetSummary & { quote: Quote | null })[] }>(
    `query Catalog { assets(first: 200) { ticker name type lotSize quote { ${QUOTE_FIELDS} } } }`,
  );
  const byTicker: Record<string, AssetSummary> = {};
  for (const { quote, ...asset } of data.assets) {
    byTicker[asset.ticker] = asset;
    if (quote) applyQuote(quote);
  }
  catalog.value = byTicker;
  await Promise.all(watchlist.value.map(seedHistory));
}

export async function searchAssets(text: string): Promise<AssetSummary[]> {
  const data = await gql<{ assets: AssetSummary[] }>(
    `query Search($text: String) { assets(search: $text, first: 10) { ticker name type lotSize } }`,
    { text },
  );
  return data.assets;
}

/** Starts following quotes for the followed tickers; re-subscribes when they change. */
export function followQuotes(): () => void {
  let stopFeed: (() => void) | null = null;
  const stopEffect = effect(() => {
    const tickers = followed.value;
    stopFeed?.();
    // untracked: only the ticker set restarts the feed, not the signals its first poll reads
    stopFeed = tickers.length
      ? untracked(() => follow<{ quotes: Quote }>({
          query: `subscription Quotes($tickers: [ID!]!) { quotes(tickers: $tickers) { ${QUOTE_FIELDS} } }`,
          variables: { tickers },
          onEvent: (data) => applyQuote(data.quotes),
          poll: () => pollQuotes(tickers),
          pollEveryMs: 2_000,
        }))
      : null;
  });
  return () => {
    stopEffect();
    stopFeed?.();
  };
}

async function pollQuotes(tickers: string[]): Promise<void> {
  const wanted = new Set(tickers);
  const data = await gql<{ assets: { ticker: string; quote: Quote | null }[] }>(
    `query Quotes { assets(first: 200) { ticker quote { ${QUOTE_FIELDS} } } }`,
  );
  for (const { ticker, quote } of data.assets) {
    if (quote && wanted.has(ticker)) applyQuote(quote);
  }
}

export function applyQuote(quote: Quote): void {
  const previous = quotes.value[quote.ticker];
  if (previous && previous.time === quote.time) return;
  quotes.value = { ...quotes.value, [quote.ticker]: quote };
  const points = [...(history.value[quote.ticker] ?? []), Number(quote.price)].slice(-SPARKLINE_POINTS);
  history.value = { ...history.value, [quote.ticker]: points };
}

/** The sparkline starts from the last minutes' candles instead of a blank line. */
async function seedHistory(ticker: string): Promise<void> {
  try {
    const data = await gql<{ asset: { candles: { close: string }[] } | null }>(
      `query Seed($ticker: ID!) { asset(ticker: $ticker) { candles(interval: ONE_MINUTE, limit: 30) { close } } }`,
      { ticker },
    );
    const closes = data.asset?.candles.map((candle) => Number(candle.close)) ?? [];
    const live = history.value[ticker] ?? [];
    history.value = { ...history.value, [ticker]: [...closes, ...live].slice(-SPARKLINE_POINTS) };
  } catch {
    // no history yet: the line grows from live ticks
  }
}
