// The trader's wallet and orders. Orders follow Subscription.orderUpdates (polled
// otherwise); the wallet has no subscription, so it is re-read every few seconds and
// right after anything that moves it (an order event, a deposit, a withdrawal).
import { signal } from "@preact/signals";
import { gql } from "../api/graphql";
import { every, follow } from "../api/live";
import type { Order, OrderSide, OrderType, TimeInForce, Wallet } from "../api/types";
import { heldTickers } from "./market";

const ORDER_FIELDS = `id side type timeInForce quantity limitPrice filledQuantity averagePrice status rejectReason
  createdAt updatedAt asset { ticker } executions { id quantity price executedAt }`;
const WALLET_FIELDS = `available blocked
  positions { quantity blockedQuantity averagePrice asset { ticker name type lotSize } }
  transactions(first: 30) { id type amount orderId createdAt }`;

export const wallet = signal<Wallet | null>(null);
export const orders = signal<Order[]>([]);
export const accountError = signal<string | null>(null);

export async function refreshWallet(): Promise<void> {
  const data = await gql<{ me: { wallet: Wallet } | null }>(`query Wallet { me { wallet { ${WALLET_FIELDS} } } }`);
  if (data.me) setWallet(data.me.wallet);
}

function setWallet(next: Wallet): void {
  wallet.value = next;
  heldTickers.value = next.positions.map((position) => position.asset.ticker);
}

export async function refreshOrders(): Promise<void> {
  const data = await gql<{ orders: Order[] }>(`query Orders { orders(first: 50) { ${ORDER_FIELDS} } }`);
  orders.value = data.orders;
}

/** An order as it changed: replaces the known one, or comes first when new (newest first). */
export function applyOrder(order: Order): void {
  const known = orders.value.findIndex((o) => o.id === order.id);
  if (known === -1) {
    orders.value = [order, ...orders.value];
  } else if (orders.value[known].updatedAt <= order.updatedAt) {
    const next = [...orders.value];
    next[known] = order;
    orders.value = next;
  }
}

export function followAccount(): () => void {
  const stopOrders = follow<{ orderUpdates: Order }>({
    query: `subscription OrderUpdates { orderUpdates { ${ORDER_FIELDS} } }`,
    onEvent: (data) => {
      applyOrder(data.orderUpdates);
      void refreshWallet().catch(() => undefined);
    },
    poll: refreshOrders,
    pollEveryMs: 2_000,
  });
  const stopWallet = every(3_000, refreshWallet);
  return () => {
    stopOrders();
    stopWallet();
  };
}

export interface OrderRequest {
  ticker: string;
  side: OrderSide;
  type: OrderType;
  quantity: number;
  limitPrice: string | null;
  timeInForce: TimeInForce;
  /** idempotency key: a retried click never places two orders */
  clientOrderId: string;
}

export async function placeOrder(request: OrderRequest): Promise<Order> {
  const { limitPrice, ...rest } = request;
  const input = limitPrice === null ? rest : { ...rest, limitPrice };
  const data = await gql<{ placeOrder: Order }>(
    `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`,
    { input },
  );
  applyOrder(data.placeOrder);
  void refreshWallet().catch(() => undefined);
  return data.placeOrder;
}

export async function cancelOrder(id: string): Promise<void> {
  const data = await gql<{ cancelOrder: Order }>(
    `mutation CancelOrder($id: ID!) { cancelOrder(id: $id) { ${ORDER_FIELDS} } }`,
    { id },
  );
  applyOrder(data.cancelOrder);
}

export async function moveCash(kind: "deposit" | "withdraw", amount: string): Promise<void> {
  await gql(`mutation MoveCash($amount: Decimal!) { ${kind}(amount: $amount) { available } }`, { amount });
  await refreshWallet();
}

export function newClientOrderId(): string {
  // randomUUID needs a secure context; a LAN address over http is not one.
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
