import { useState } from "preact/hooks";
import { OPEN_STATUSES, type Order } from "../api/types";
import { plainMessage } from "../errors";
import { formatBRL, formatInteger } from "../money";
import { cancelOrder, orders } from "../state/account";
import { href } from "../state/route";
import { t } from "../i18n";
import { dayAndTime as when } from "../time";



/** The trader's orders, newest first, as they change; open ones can be cancelled. */
export function Blotter({ title, ticker, limit }: { title: string; ticker?: string; limit?: number }) {
  const shown = orders.value.filter((order) => !ticker || order.asset.ticker === ticker).slice(0, limit ?? 50);
  const headingId = `blotter-${ticker ?? "all"}`;
  return (
    <section class="panel blotter" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {shown.length === 0 ? (
        <p class="muted">{t("blotter.none")}</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{t("blotter.time")}</th>
                <th scope="col">{t("blotter.ticker")}</th>
                <th scope="col">{t("blotter.side")}</th>
                <th scope="col">{t("blotter.type")}</th>
                <th scope="col" class="num">{t("blotter.quantity")}</th>
                <th scope="col" class="num">{t("blotter.filled")}</th>
                <th scope="col" class="num">{t("blotter.limit")}</th>
                <th scope="col" class="num">{t("blotter.average")}</th>
                <th scope="col">{t("blotter.status")}</th>
                <th scope="col">{t("blotter.executions")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("blotter.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((order) => (
                <OrderRow key={order.id} order={order} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OrderRow({ order }: { order: Order }) {
  const [error, setError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const open = OPEN_STATUSES.includes(order.status);

  const cancel = async () => {
    setCancelling(true);
    setError(null);
    try {
      await cancelOrder(order.id);
    } catch (failure) {
      setError(plainMessage(failure));
    } finally {
      setCancelling(false);
    }
  };

  const describe = t(order.side === "BUY" ? "blotter.describeBuy" : "blotter.describeSell", { quantity: formatInteger(order.quantity), ticker: order.asset.ticker });
  return (
    <tr data-order-id={order.id} data-status={order.status}>
      <td>{when.format(new Date(order.createdAt))}</td>
      <td>
        <a href={href({ view: "asset", ticker: order.asset.ticker })}>{order.asset.ticker}</a>
      </td>
      <td class={order.side === "BUY" ? "up" : "down"}>{t(`side.${order.side}`)}</td>
      <td>
        {t(`ticket.${order.type}`)} · {t(`tifShort.${order.timeInForce}`)}
      </td>
      <td class="num">{formatInteger(order.quantity)}</td>
      <td class="num filled">{formatInteger(order.filledQuantity)}</td>
      <td class="num">{order.limitPrice ? formatBRL(order.limitPrice) : "—"}</td>
      <td class="num">{order.averagePrice ? formatBRL(order.averagePrice) : "—"}</td>
      <td>
        <span class={`status ${order.status.toLowerCase()}`}>{t(`status.${order.status}`, { defaultValue: order.status })}</span>
        {order.rejectReason && <small class="reason">{order.rejectReason}</small>}
      </td>
      <td>
        {order.executions.length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <details>
            <summary>{t("blotter.fills", { count: order.executions.length })}</summary>
            <ul class="fills">
              {order.executions.map((execution) => (
                <li key={execution.id}>
                  {formatInteger(execution.quantity)} × {formatBRL(execution.price)} <small>{when.format(new Date(execution.executedAt))}</small>
                </li>
              ))}
            </ul>
          </details>
        )}
      </td>
      <td>
        {open && (
          <button type="button" class="secondary" disabled={cancelling} onClick={cancel} aria-label={t("blotter.cancelOrder", { describe })}>
            {t("blotter.cancel")}
          </button>
        )}
        {error && (
          <small class="error" role="alert">
            {error}
          </small>
        )}
      </td>
    </tr>
  );
}
