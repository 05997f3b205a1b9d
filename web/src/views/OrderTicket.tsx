import { useState } from "preact/hooks";
import type { OrderSide, OrderType, TimeInForce } from "../api/types";
import { errorCode, plainMessage } from "../errors";
import { formatBRL, formatInteger, parseAmountInput, toCents } from "../money";
import { newClientOrderId, placeOrder, wallet } from "../state/account";
import { catalog, quotes } from "../state/market";
import { t } from "../i18n";
import { Field } from "./Field";

type FieldName = "lots" | "limitPrice" | "timeInForce" | "form";

const TIME_IN_FORCE: TimeInForce[] = ["DAY", "GTC", "IOC", "FOK"];

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
    if (!shares) problems.lots = t("ticket.lotsInvalid");
    if (type === "LIMIT" && !(limitPrice && toCents(limitPrice) > 0n)) problems.limitPrice = t("ticket.priceInvalid");
    setErrors(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      const order = await placeOrder({ ticker, side, type, quantity: shares, limitPrice, timeInForce, clientOrderId: newClientOrderId() });
      const at = order.limitPrice ? t("ticket.atPrice", { price: formatBRL(order.limitPrice) }) : t("ticket.atMarket");
      const status = t(`status.${order.status}`).toLowerCase();
      setPlaced(t(side === "BUY" ? "ticket.sentBuy" : "ticket.sentSell", { quantity: formatInteger(order.quantity), ticker, at, status }));
    } catch (error) {
      const code = errorCode(error);
      const wording: Record<string, string> = {
        INSUFFICIENT_FUNDS: wallet.value ? t("ticket.notEnoughCashHave", { available: formatBRL(wallet.value.available) }) : t("ticket.notEnoughCash"),
        INSUFFICIENT_POSITION: t("ticket.notEnoughShares", { ticker, free: formatInteger(freeShares) }),
      };
      const message = plainMessage(error, wording);
      setErrors({ [fieldOf(code, message)]: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class={`panel ticket ${side.toLowerCase()}`} aria-labelledby="ticket-title">
      <h2 id="ticket-title">{t("ticket.title", { ticker })}</h2>
      <form onSubmit={submit} noValidate>
        <fieldset class="segmented">
          <legend>{t("ticket.side")}</legend>
          {(["BUY", "SELL"] as const).map((value) => (
            <label class={`choice ${value.toLowerCase()}`}>
              <input type="radio" name="side" value={value} checked={side === value} onChange={() => setSide(value)} />
              {value === "BUY" ? t("ticket.buy") : t("ticket.sell")}
            </label>
          ))}
        </fieldset>
        <fieldset class="segmented">
          <legend>{t("ticket.type")}</legend>
          {(["MARKET", "LIMIT"] as const).map((value) => (
            <label class="choice">
              <input type="radio" name="type" value={value} checked={type === value} onChange={() => setType(value)} />
              {t(`ticket.${value}`)}
            </label>
          ))}
        </fieldset>
        <Field
          label={t("ticket.lots")}
          error={errors.lots}
          hint={`${t("ticket.lotHint", { count: lotSize, formatted: formatInteger(lotSize) })}${shares ? t("ticket.sharesHint", { shares: formatInteger(shares) }) : ""}`}
        >
          {(props) => <input {...props} name="lots" inputMode="numeric" value={lots} onInput={(e) => setLots(e.currentTarget.value)} />}
        </Field>
        {type === "LIMIT" && (
          <Field label={t("ticket.limitPrice")} error={errors.limitPrice} hint={quote ? t("ticket.last", { price: formatBRL(quote.price) }) : undefined}>
            {(props) => <input {...props} name="limitPrice" inputMode="decimal" placeholder="0,00" value={limitText} onInput={(e) => setLimitText(e.currentTarget.value)} />}
          </Field>
        )}
        <Field label={t("ticket.timeInForce")} error={errors.timeInForce}>
          {(props) => (
            <select {...props} name="timeInForce" value={timeInForce} onChange={(e) => setTimeInForce(e.currentTarget.value as TimeInForce)}>
              {TIME_IN_FORCE.map((option) => (
                <option value={option}>{t(`ticket.tif.${option}`)}</option>
              ))}
            </select>
          )}
        </Field>
        <dl class="summary">
          <dt>{t("ticket.value")}</dt>
          <dd data-testid="ticket-value">{value !== null ? `${estimate}${formatBRL(value)}` : "—"}</dd>
          <dt>{t("ticket.reserves")}</dt>
          <dd data-testid="ticket-reserve">
            {side === "SELL"
              ? t("ticket.reserveShares", { shares: formatInteger(shares), free: formatInteger(freeShares) })
              : value === null
                ? "—"
                : type === "LIMIT"
                  ? t("ticket.reserveCash", { value: formatBRL(value) })
                  : t("ticket.reserveMarket", { value: formatBRL(value) })}
          </dd>
          <dt>{t("ticket.available")}</dt>
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
          {t(side === "BUY" ? "ticket.submitBuy" : "ticket.submitSell", { ticker })}
        </button>
      </form>
    </section>
  );
}
