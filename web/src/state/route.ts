// Hash routes, so the router only ever serves one index.html:
//   #/            markets (watchlist)     #/asset/PETR4   an asset and its ticket
//   #/orders      the blotter             #/wallet        cash, positions, transactions
import { signal } from "@preact/signals";

export type Route = { view: "markets" } | { view: "asset"; ticker: string } | { view: "orders" } | { view: "wallet" };

export const route = signal<Route>(parse(location.hash));

window.addEventListener("hashchange", () => (route.value = parse(location.hash)));

export function href(target: Route): string {
  return target.view === "asset" ? `#/asset/${encodeURIComponent(target.ticker)}` : target.view === "markets" ? "#/" : `#/${target.view}`;
}

function parse(hash: string): Route {
  const [, view, arg] = hash.replace(/^#/, "").split("/");
  if (view === "asset" && arg) return { view: "asset", ticker: decodeURIComponent(arg).toUpperCase() };
  if (view === "orders") return { view: "orders" };
  if (view === "wallet") return { view: "wallet" };
  return { view: "markets" };
}
