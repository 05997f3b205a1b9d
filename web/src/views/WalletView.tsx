import { useState } from "preact/hooks";
import type { Position } from "../api/types";
import { plainMessage } from "../errors";
import { direction, formatBRL, formatInteger, formatSignedBRL, parseAmountInput, toCents } from "../money";
import { moveCash, wallet } from "../state/account";
import { quotes } from "../state/market";
import { href } from "../state/route";
import { dateAndTime as when } from "../time";
import { t } from "../i18n";
import { Field } from "./Field";
import { MonthlyStatement } from "./MonthlyStatement";



export function WalletView() {
  const current = wallet.value;
  if (!current) return <section class="panel"><h1>{t("wallet.title")}</h1><p class="muted">{t("common.loading")}</p></section>;
  return (
    <div class="wallet-view">
      <section class="panel balances" aria-labelledby="wallet-title">
        <h1 id="wallet-title">{t("wallet.title")}</h1>
        <dl>
          <div>
            <dt>{t("wallet.available")}</dt>
            <dd data-testid="available">{formatBRL(current.available)}</dd>
          </div>
          <div>
            <dt>{t("wallet.blocked")}</dt>
            <dd data-testid="blocked">{formatBRL(current.blocked)}</dd>
          </div>
          <PositionTotals positions={current.positions} />
        </dl>
        <CashForm />
      </section>
      <Positions positions={current.positions} />
      <section class="panel" aria-labelledby="transactions-title">
        <h2 id="transactions-title">{t("wallet.statement")}</h2>
        {current.transactions.length === 0 ? (
          <p class="muted">{t("wallet.noTransactions")}</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("wallet.time")}</th>
                  <th scope="col">{t("wallet.what")}</th>
                  <th scope="col" class="num">{t("wallet.amountColumn")}</th>
                </tr>
              </thead>
              <tbody>
                {current.transactions.map((transaction) => (
                  <tr key={transaction.id}>
                    <td>{when.format(new Date(transaction.createdAt))}</td>
                    <td>{t(`wallet.tx.${transaction.type}`, { defaultValue: transaction.type })}</td>
                    <td class={`num ${direction(transaction.amount) > 0 ? "up" : "down"}`}>{formatSignedBRL(transaction.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <MonthlyStatement />
    </div>
  );
}

function CashForm() {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const move = async (kind: "deposit" | "withdraw") => {
    setDone(null);
    const amount = parseAmountInput(text);
    if (!amount || toCents(amount) <= 0n) {
      setError(t("wallet.amountInvalid"));
      return;
    }
    setError(null);
    setBusy(true);
    try {
      await moveCash(kind, amount);
      setDone(t(kind === "deposit" ? "wallet.deposited" : "wallet.withdrew", { amount: formatBRL(amount) }));
      setText("");
    } catch (failure) {
      setError(
        plainMessage(failure, {
          INSUFFICIENT_FUNDS: wallet.value ? t("wallet.withdrawTooMuchHave", { available: formatBRL(wallet.value.available) }) : t("wallet.withdrawTooMuch"),
        }),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      class="cash"
      onSubmit={(event) => {
        event.preventDefault();
        void move("deposit");
      }}
      noValidate
    >
      <Field label={t("wallet.amount")} error={error} hint={t("wallet.amountHint")}>
        {(props) => <input {...props} name="amount" inputMode="decimal" placeholder="10.000,00" value={text} onInput={(e) => setText(e.currentTarget.value)} />}
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {t("wallet.deposit")}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void move("withdraw")}>
          {t("wallet.withdraw")}
        </button>
      </div>
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </form>
  );
}

/** The positions' market value and unrealized P&L summed, once every position has a quote. */
function PositionTotals({ positions }: { positions: Position[] }) {
  if (positions.length === 0) return null;
  let value = 0n;
  let pnl = 0n;
  for (const position of positions) {
    const quote = quotes.value[position.asset.ticker];
    if (!quote) return null;
    const quantity = BigInt(position.quantity);
    value += toCents(quote.price) * quantity;
    pnl += (toCents(quote.price) - toCents(position.averagePrice)) * quantity;
  }
  return (
    <>
      <div>
        <dt>{t("wallet.positionsAtMarket")}</dt>
        <dd>{formatBRL(value)}</dd>
      </div>
      <div>
        <dt>{t("wallet.unrealized")}</dt>
        <dd class={pnl > 0n ? "up" : pnl < 0n ? "down" : undefined}>{formatSignedBRL(pnl)}</dd>
      </div>
    </>
  );
}

/** Market value and unrealized P&L at the latest quote: exact centavo arithmetic, moving with every tick. */
function Positions({ positions }: { positions: Position[] }) {
  return (
    <section class="panel positions" aria-labelledby="positions-title">
      <h2 id="positions-title">{t("wallet.positions")}</h2>
      {positions.length === 0 ? (
        <p class="muted">{t("wallet.noPositions")}</p>
      ) : (
        <div class="scroll">
          {/* "cards": on a phone each position is a card of labelled figures (styles.css) */}
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">{t("wallet.ticker")}</th>
                <th scope="col" class="num">{t("wallet.shares")}</th>
                <th scope="col" class="num">{t("wallet.blockedShares")}</th>
                <th scope="col" class="num">{t("wallet.average")}</th>
                <th scope="col" class="num">{t("wallet.last")}</th>
                <th scope="col" class="num">{t("wallet.marketValue")}</th>
                <th scope="col" class="num">{t("wallet.pnl")}</th>
              </tr>
            </thead>
            <tbody>
              {positions.map((position) => {
                const ticker = position.asset.ticker;
                const quote = quotes.value[ticker];
                const quantity = BigInt(position.quantity);
                const value = quote ? toCents(quote.price) * quantity : null;
                const pnl = quote ? (toCents(quote.price) - toCents(position.averagePrice)) * quantity : null;
                return (
                  <tr key={ticker} data-ticker={ticker}>
                    <th scope="row">
                      <a href={href({ view: "asset", ticker })}>{ticker}</a>
                      <small>{position.asset.name}</small>
                    </th>
                    <td class="num quantity" data-label={t("wallet.shares")}>{formatInteger(position.quantity)}</td>
                    <td class="num" data-label={t("wallet.blockedShares")}>{formatInteger(position.blockedQuantity)}</td>
                    <td class="num" data-label={t("wallet.average")}>{formatBRL(position.averagePrice)}</td>
                    <td class="num" data-label={t("wallet.last")}>{quote ? formatBRL(quote.price) : "—"}</td>
                    <td class="num" data-label={t("wallet.marketValue")}>{value !== null ? formatBRL(value) : "—"}</td>
                    <td class={`num pnl ${pnl !== null && pnl > 0n ? "up" : pnl !== null && pnl < 0n ? "down" : ""}`} data-label={t("wallet.pnl")}>
                      {pnl !== null ? formatSignedBRL(pnl) : "—"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
