import { useState } from "preact/hooks";
import type { Position } from "../api/types";
import { plainMessage } from "../errors";
import { direction, formatBRL, formatInteger, formatSignedBRL, parseAmountInput, toCents } from "../money";
import { moveCash, wallet } from "../state/account";
import { quotes } from "../state/market";
import { href } from "../state/route";
import { dateAndTime as when } from "../time";
import { Field } from "./Field";


const TRANSACTION_LABELS: Record<string, string> = {
  DEPOSIT: "Deposit",
  WITHDRAWAL: "Withdrawal",
  RESERVE: "Reserved for an order",
  RELEASE: "Released from an order",
  BUY: "Purchase",
  SELL: "Sale",
  FEE: "Fee",
};

export function WalletView() {
  const current = wallet.value;
  if (!current) return <section class="panel"><h1>Wallet</h1><p class="muted">Loading…</p></section>;
  return (
    <div class="wallet-view">
      <section class="panel balances" aria-labelledby="wallet-title">
        <h1 id="wallet-title">Wallet</h1>
        <dl>
          <div>
            <dt>Available</dt>
            <dd data-testid="available">{formatBRL(current.available)}</dd>
          </div>
          <div>
            <dt>Blocked by open orders</dt>
            <dd data-testid="blocked">{formatBRL(current.blocked)}</dd>
          </div>
          <PositionTotals positions={current.positions} />
        </dl>
        <CashForm />
      </section>
      <Positions positions={current.positions} />
      <section class="panel" aria-labelledby="transactions-title">
        <h2 id="transactions-title">Transactions</h2>
        {current.transactions.length === 0 ? (
          <p class="muted">No transactions yet. Deposit to start trading.</p>
        ) : (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time (Brasília)</th>
                  <th scope="col">What</th>
                  <th scope="col" class="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                {current.transactions.map((transaction) => (
                  <tr key={transaction.id}>
                    <td>{when.format(new Date(transaction.createdAt))}</td>
                    <td>{TRANSACTION_LABELS[transaction.type] ?? transaction.type}</td>
                    <td class={`num ${direction(transaction.amount) > 0 ? "up" : "down"}`}>{formatSignedBRL(transaction.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
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
      setError("Enter an amount in reais with up to two decimals, e.g. 1.000,00.");
      return;
    }
    setError(null);
    setBusy(true);
    try {
      await moveCash(kind, amount);
      setDone(`${kind === "deposit" ? "Deposited" : "Withdrew"} ${formatBRL(amount)}.`);
      setText("");
    } catch (failure) {
      setError(
        plainMessage(failure, {
          INSUFFICIENT_FUNDS: `You can withdraw at most your available cash${wallet.value ? `, ${formatBRL(wallet.value.available)}` : ""}.`,
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
      <Field label="Amount (R$)" error={error} hint="Simulated money: deposits are instant.">
        {(props) => <input {...props} name="amount" inputMode="decimal" placeholder="1.000,00" value={text} onInput={(e) => setText(e.currentTarget.value)} />}
      </Field>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Deposit
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void move("withdraw")}>
          Withdraw
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
        <dt>Positions at market</dt>
        <dd>{formatBRL(value)}</dd>
      </div>
      <div>
        <dt>Unrealized P&amp;L</dt>
        <dd class={pnl > 0n ? "up" : pnl < 0n ? "down" : undefined}>{formatSignedBRL(pnl)}</dd>
      </div>
    </>
  );
}

/** Market value and unrealized P&L at the latest quote: exact centavo arithmetic, moving with every tick. */
function Positions({ positions }: { positions: Position[] }) {
  return (
    <section class="panel positions" aria-labelledby="positions-title">
      <h2 id="positions-title">Positions</h2>
      {positions.length === 0 ? (
        <p class="muted">No positions yet.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Ticker</th>
                <th scope="col" class="num">Shares</th>
                <th scope="col" class="num">Blocked</th>
                <th scope="col" class="num">Avg price</th>
                <th scope="col" class="num">Last</th>
                <th scope="col" class="num">Market value</th>
                <th scope="col" class="num">Unrealized P&amp;L</th>
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
                    <td class="num quantity">{formatInteger(position.quantity)}</td>
                    <td class="num">{formatInteger(position.blockedQuantity)}</td>
                    <td class="num">{formatBRL(position.averagePrice)}</td>
                    <td class="num">{quote ? formatBRL(quote.price) : "—"}</td>
                    <td class="num">{value !== null ? formatBRL(value) : "—"}</td>
                    <td class={`num pnl ${pnl !== null && pnl > 0n ? "up" : pnl !== null && pnl < 0n ? "down" : ""}`}>
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
