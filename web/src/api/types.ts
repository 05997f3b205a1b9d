// The shapes the screen asks for (a subset of ../shared/contract/schema.graphql).
export interface Quote {
  ticker: string;
  price: string;
  change: string;
  changePercent: number;
  volume: number;
  time: string;
}

export interface AssetSummary {
  ticker: string;
  name: string;
  type: string;
  lotSize: number;
}

export interface Candle {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: number;
}

export interface BookLevel {
  price: string;
  quantity: number;
  orders: number;
}

export interface OrderBook {
  bids: BookLevel[];
  asks: BookLevel[];
  time: string;
}

export interface Trade {
  price: string;
  quantity: number;
  time: string;
}

export type OrderSide = "BUY" | "SELL";
export type OrderType = "MARKET" | "LIMIT";
export type TimeInForce = "DAY" | "GTC" | "IOC" | "FOK";
export type OrderStatus = "PENDING" | "OPEN" | "PARTIALLY_FILLED" | "FILLED" | "CANCELLED" | "REJECTED" | "EXPIRED";

export interface Execution {
  id: string;
  quantity: number;
  price: string;
  executedAt: string;
}

export interface Order {
  id: string;
  asset: { ticker: string };
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: number;
  limitPrice: string | null;
  filledQuantity: number;
  averagePrice: string | null;
  status: OrderStatus;
  rejectReason: string | null;
  executions: Execution[];
  createdAt: string;
  updatedAt: string;
}

export interface Position {
  asset: AssetSummary;
  quantity: number;
  blockedQuantity: number;
  averagePrice: string;
}

export interface WalletTransaction {
  id: string;
  type: string;
  amount: string;
  orderId: string | null;
  createdAt: string;
}

export interface Wallet {
  available: string;
  blocked: string;
  positions: Position[];
  transactions: WalletTransaction[];
}

export const OPEN_STATUSES: OrderStatus[] = ["PENDING", "OPEN", "PARTIALLY_FILLED"];

/** One line of the monthly statement (Wallet.statement): structured, so the screen words it. */
export interface StatementLine {
  id: string;
  kind: string;
  ticker: string | null;
  quantity: number | null;
  price: string | null;
  amount: string;
  balance: string;
  settlesOn: string | null;
  feeKind: string | null;
  postedAt: string;
}

export interface Statement {
  month: string;
  openingBalance: string;
  closingBalance: string;
  lines: StatementLine[];
}
