import { useState } from "preact/hooks";
import { OPEN_STATUSES, type Order } from "../api/types";
import { plainMessage } from "../errors";
import { formatBRL, formatInteger } from "../money";
import { cancelOrder, orders } from "../state/account";
import { href } from "../state/route";
import { dayAndTime as when } from "../time";


const STATUS_LABELS: Record<string, string> = {
  PENDING: "Pending",
  OPEN: "Open",
  PARTIALLY_FILLED: "Partially filled",
  FILLED: "Filled",
  CANCELLED: "Cancelled",
  REJECTED: "Rejected",
  EXPIRED: "Expired",
};

/** The trader's orders, newest first, as they change; open ones can be cancelled. */
export function Blotter({ title, ticker, limit }: { title: string; ticker?: string; limit?: number }) {
  const shown = orders.value.filter((order) => !ticker || order.asset.ticker === ticker).slice(0, limit ?? 50);
  const headingId = `blotter-${ticker ?? "all"}`;
  return (
    <section class="panel blotter" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {shown.length === 0 ? (
        <p class="muted">No orders yet.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Time (Brasília)</th>
                <th scope="col">Ticker</th>
                <th scope="col">Side</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">Quantity</th>
                <th scope="col" class="num">Filled</th>
                <th scope="col" class="num">Limit</th>
                <th scope="col" class="num">Avg price</th>
                <th scope="col">Status</th>
                <th scope="col">Executions</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
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

  const describe = `${order.side === "BUY" ? "buy" : "sell"} ${formatInteger(order.quantity)} ${order.asset.ticker}`;
  return (
    <tr data-order-id={order.id} data-status={order.status}>
      <td>{when.format(new Date(order.createdAt))}</td>
      <td>
        <a href={href({ view: "asset", ticker: order.asset.ticker })}>{order.asset.ticker}</a>
      </td>
      <td class={order.side === "BUY" ? "up" : "down"}>{order.side === "BUY" ? "Buy" : "Sell"}</td>
      <td>
        {order.type === "LIMIT" ? "Limit" : "Market"} · {order.timeInForce}
      </td>
      <td class="num">{formatInteger(order.quantity)}</td>
      <td class="num filled">{formatInteger(order.filledQuantity)}</td>
      <td class="num">{order.limitPrice ? formatBRL(order.limitPrice) : "—"}</td>
      <td class="num">{order.averagePrice ? formatBRL(order.averagePrice) : "—"}</td>
      <td>
        <span class={`status ${order.status.toLowerCase()}`}>{STATUS_LABELS[order.status] ?? order.status}</span>
        {order.rejectReason && <small class="reason">{order.rejectReason}</small>}
      </td>
      <td>
        {order.executions.length === 0 ? (
          <span class="muted">—</span>
        ) : (
          <details>
            <summary>{order.executions.length === 1 ? "1 fill" : `${order.executions.length} fills`}</summary>
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
          <button type="button" class="secondary" disabled={cancelling} onClick={cancel} aria-label={`Cancel order to ${describe}`}>
            Cancel
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
