import { useEffect, useState } from "preact/hooks";
import { ApiError, gql } from "../api/graphql";
import { every } from "../api/live";
import type { BookLevel, OrderBook, Trade } from "../api/types";
import { formatBRL, formatInteger } from "../money";
import { t } from "../i18n";
import { clockTime } from "../time";

type Depth = { state: "loading" } | { state: "ready"; book: OrderBook; trades: Trade[] } | { state: "unavailable" } | { state: "failed" };


/** The B3 book's best levels and the tape (Asset.book and Asset.trades), re-read every 1.5 s. */
export function MarketDepth({ ticker }: { ticker: string }) {
  const [depth, setDepth] = useState<Depth>({ state: "loading" });

  useEffect(
    () =>
      every(1_500, async () => {
        try {
          const data = await gql<{ asset: { book: OrderBook; trades: Trade[] } | null }>(
            `query Depth($ticker: ID!) { asset(ticker: $ticker) {
               book(depth: 5) { time bids { price quantity orders } asks { price quantity orders } }
               trades(limit: 15) { price quantity time } } }`,
            { ticker },
          );
          setDepth(data.asset ? { state: "ready", book: data.asset.book, trades: data.asset.trades } : { state: "unavailable" });
        } catch (error) {
          // A server without the exchange's fields refuses the query itself: say so, keep asking.
          const refused = error instanceof ApiError && error.code !== "NETWORK" && error.code !== "INTERNAL_SERVER_ERROR";
          setDepth((previous) => (refused ? { state: "unavailable" } : previous.state === "ready" ? previous : { state: "failed" }));
        }
      }),
    [ticker],
  );

  return (
    <div class="depth">
      <section class="panel book" aria-labelledby="book-title">
        <h2 id="book-title">{t("depth.book")}</h2>
        {depth.state === "ready" ? <Book book={depth.book} /> : <Unavailable depth={depth} />}
      </section>
      <section class="panel tape" aria-labelledby="tape-title">
        <h2 id="tape-title">{t("depth.trades")}</h2>
        {depth.state === "ready" ? <Tape trades={depth.trades} /> : <Unavailable depth={depth} />}
      </section>
    </div>
  );
}

function Unavailable({ depth }: { depth: Depth }) {
  if (depth.state === "loading") return <p class="muted">{t("common.loading")}</p>;
  if (depth.state === "unavailable") return <p class="muted">{t("depth.unavailable")}</p>;
  return <p class="muted">{t("depth.failed")}</p>;
}

function Book({ book }: { book: OrderBook }) {
  const largest = Math.max(1, ...book.bids.map((l) => l.quantity), ...book.asks.map((l) => l.quantity));
  const rows = Math.max(book.bids.length, book.asks.length);
  if (rows === 0) return <p class="muted">{t("depth.empty")}</p>;
  return (
    <div class="scroll">
    <table class="book-table">
      <caption class="visually-hidden">{t("depth.caption")}</caption>
      <thead>
        <tr>
          <th scope="col" class="num count">{t("depth.orders")}</th>
          <th scope="col" class="num">{t("depth.bidQty")}</th>
          <th scope="col" class="num">{t("depth.bid")}</th>
          <th scope="col" class="num">{t("depth.ask")}</th>
          <th scope="col" class="num">{t("depth.askQty")}</th>
          <th scope="col" class="num count">{t("depth.orders")}</th>
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: rows }, (_, i) => (
          <tr>
            <Side level={book.bids[i]} largest={largest} side="bid" />
            <Side level={book.asks[i]} largest={largest} side="ask" />
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

function Side({ level, largest, side }: { level?: BookLevel; largest: number; side: "bid" | "ask" }) {
  if (!level) return <><td class="count" /><td /><td /></>;
  // the bar's width shows the level's size against the largest level on either side
  const bar = { "--depth": `${Math.round((level.quantity / largest) * 100)}%` } as Record<string, string>;
  const cells = [
    <td class="num muted count">{level.orders}</td>,
    <td class={`num qty ${side}`} style={bar}>{formatInteger(level.quantity)}</td>,
    <td class={`num price ${side}`}>{formatBRL(level.price)}</td>,
  ];
  return <>{side === "bid" ? cells : cells.reverse()}</>;
}

function Tape({ trades }: { trades: Trade[] }) {
  if (trades.length === 0) return <p class="muted">{t("depth.noTrades")}</p>;
  return (
    <table>
      <caption class="visually-hidden">{t("depth.tapeCaption")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("depth.time")}</th>
          <th scope="col" class="num">{t("depth.price")}</th>
          <th scope="col" class="num">{t("depth.quantity")}</th>
        </tr>
      </thead>
      <tbody>
        {trades.map((trade) => (
          <tr>
            <td>{clockTime.format(new Date(trade.time))}</td>
            <td class="num">{formatBRL(trade.price)}</td>
            <td class="num">{formatInteger(trade.quantity)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
