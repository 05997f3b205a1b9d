import { useState } from "preact/hooks";
import type { OrderSide, OrderType, TimeInForce } from "../api/types";
import { errorCode, plainMessage } from "../errors";
import { formatBRL, formatInteger, parseAmountInput, toCents } from "../money";
import { newClientOrderId, placeOrder, wallet } from "../state/account";
import { catalog, quotes } from "../state/market";
import { Field } from "./Field";

type FieldName = "lots" | "limitPrice" | "timeInForce" | "form";

const TIME_IN_FORCE: { value: TimeInForce; label: string }[] = [
  { value: "DAY", label: "Day (expires at the close)" },
  { value: "GTC", label: "Good till cancelled" },
  { value: "IOC", label: "Immediate or cancel" },
  { value: "FOK", label: "Fill or kill" },
];

/** Which field a server error concerns: the codes first, then what BAD_USER_INPUT names. */
function fieldOf(code: string | null, message: string): FieldName {
  if (code === "INSUFFICIENT_FUNDS" || code === "INSUFFICIENT_POSITION") return "lots";
  if (code !== "BAD_USER_INPUT") return "form";
  const lower = message.toLowerCase();
  if (lower.includes("price")) return "limitPrice";
  if (lower.includes("quantity") || lower.includes("lot")) return "lots";
  if (lower.includes("time in force") || lower.includes("timeinforce")) return "timeInForce";
  return "form";
}

export function OrderTicket({ ticker }: { ticker: string }) {
  const [side, setSide] = useState<OrderSide>("BUY");
  const [type, setType] = useState<OrderType>("MARKET");
  const [lots, setLots] = useState("1");
  const [limitText, setLimitText] = useState("");
  const [timeInForce, setTimeInForce] = useState<TimeInForce>("DAY");
  const [errors, setErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [placed, setPlaced] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Lots become shares with the asset's lot size: no ticket until the catalog says what it is.
  const asset = catalog.value[ticker];
  const lotSize = asset?.lotSize ?? 1;
  const quote = quotes.value[ticker];
  const lotCount = /^\d+$/.test(lots.trim()) ? Number(lots.trim()) : NaN;
  const shares = Number.isInteger(lotCount) && lotCount > 0 ? lotCount * lotSize : 0;
  const limitPrice = type === "LIMIT" ? parseAmountInput(limitText) : null;
  const position = wallet.value?.positions.find((p) => p.asset.ticker === ticker);
  const freeShares = position ? position.quantity - position.blockedQuantity : 0;

  // LIMIT: exactly price x shares. MARKET: the last price is only a guide (≈).
  const pricePerShare = type === "LIMIT" ? limitPrice : quote?.price ?? null;
  const value = shares && pricePerShare ? toCents(pricePerShare) * BigInt(shares) : null;
  const estimate = type === "MARKET" ? "≈ " : "";

  const submit = async (event: Event) => {
    event.preventDefault();
    setPlaced(null);
    const problems: Partial<Record<FieldName, string>> = {};
    if (!shares) problems.lots = "Enter a whole number of lots, 1 or more.";
    if (type === "LIMIT" && !(limitPrice && toCents(limitPrice) > 0n)) problems.limitPrice = "Enter a price in reais with up to two decimals, e.g. 31,45.";
    setErrors(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      const order = await placeOrder({ ticker, side, type, quantity: shares, limitPrice, timeInForce, clientOrderId: newClientOrderId() });
      const at = order.limitPrice ? `at ${formatBRL(order.limitPrice)}` : "at market";
      setPlaced(`${side === "BUY" ? "Buy" : "Sell"} order for ${formatInteger(order.quantity)} ${ticker} ${at} sent (${order.status.toLowerCase()}).`);
    } catch (error) {
      const code = errorCode(error);
      const wording: Record<string, string> = {
        INSUFFICIENT_FUNDS: `Not enough available cash for this order${wallet.value ? ` (you have ${formatBRL(wallet.value.available)} available)` : ""}.`,
        INSUFFICIENT_POSITION: `Not enough free ${ticker} shares to sell (you have ${formatInteger(freeShares)}).`,
      };
      const message = plainMessage(error, wording);
      setErrors({ [fieldOf(code, message)]: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class={`panel ticket ${side.toLowerCase()}`} aria-labelledby="ticket-title">
      <h2 id="ticket-title">Order ticket · {ticker}</h2>
      <form onSubmit={submit} noValidate>
        <fieldset class="segmented">
          <legend>Side</legend>
          {(["BUY", "SELL"] as const).map((value) => (
            <label class={`choice ${value.toLowerCase()}`}>
              <input type="radio" name="side" value={value} checked={side === value} onChange={() => setSide(value)} />
              {value === "BUY" ? "Buy" : "Sell"}
            </label>
          ))}
        </fieldset>
        <fieldset class="segmented">
          <legend>Type</legend>
          {(["MARKET", "LIMIT"] as const).map((value) => (
            <label class="choice">
              <input type="radio" name="type" value={value} checked={type === value} onChange={() => setType(value)} />
              {value === "MARKET" ? "Market" : "Limit"}
            </label>
          ))}
        </fieldset>
        <Field label="Quantity in lots" error={errors.lots} hint={`1 lot = ${formatInteger(lotSize)} ${lotSize === 1 ? "share" : "shares"}${shares ? ` · ${formatInteger(shares)} shares` : ""}`}>
          {(props) => <input {...props} name="lots" inputMode="numeric" value={lots} onInput={(e) => setLots(e.currentTarget.value)} />}
        </Field>
        {type === "LIMIT" && (
          <Field label="Limit price (R$)" error={errors.limitPrice} hint={quote ? `Last ${formatBRL(quote.price)}` : undefined}>
            {(props) => <input {...props} name="limitPrice" inputMode="decimal" placeholder="0,00" value={limitText} onInput={(e) => setLimitText(e.currentTarget.value)} />}
          </Field>
        )}
        <Field label="Time in force" error={errors.timeInForce}>
          {(props) => (
            <select {...props} name="timeInForce" value={timeInForce} onChange={(e) => setTimeInForce(e.currentTarget.value as TimeInForce)}>
              {TIME_IN_FORCE.map((option) => (
                <option value={option.value}>{option.label}</option>
              ))}
            </select>
          )}
        </Field>
        <dl class="summary">
          <dt>Estimated value</dt>
          <dd data-testid="ticket-value">{value !== null ? `${estimate}${formatBRL(value)}` : "—"}</dd>
          <dt>Reserves</dt>
          <dd data-testid="ticket-reserve">
            {side === "SELL"
              ? `${formatInteger(shares)} of your ${formatInteger(freeShares)} free shares`
              : value === null
                ? "—"
                : type === "LIMIT"
                  ? `${formatBRL(value)} of cash`
                  : `≈ ${formatBRL(value)} of cash plus a safety margin above the last price`}
          </dd>
          <dt>Available cash</dt>
          <dd>{wallet.value ? formatBRL(wallet.value.available) : "—"}</dd>
        </dl>
        {errors.form && (
          <p class="error" role="alert">
            {errors.form}
          </p>
        )}
        {placed && (
          <p class="ok" role="status">
            {placed}
          </p>
        )}
        <button type="submit" class={side === "BUY" ? "buy" : "sell"} disabled={busy || !asset}>
          {side === "BUY" ? "Buy" : "Sell"} {ticker}
        </button>
      </form>
    </section>
  );
}
