import { useEffect } from "preact/hooks";
import { reachable } from "../api/graphql";
import { every, socketState, startLive, stopLive } from "../api/live";
import { renew, session, type User } from "../api/session";
import { followAccount, orders, wallet } from "../state/account";
import { catalog, followQuotes, loadCatalog, loadWatchlist } from "../state/market";
import { route } from "../state/route";
import { t } from "../i18n";
import { AssetView } from "./AssetView";
import { AuthView } from "./AuthView";
import { Blotter } from "./Blotter";
import { Header } from "./Header";
import { Watchlist } from "./Watchlist";
import { WalletView } from "./WalletView";

export function App() {
  const current = session.value;
  if (!current) return <AuthView />;
  // keyed by user: signing in as someone else starts from a clean slate
  return <TradingScreen key={current.user.id} user={current.user} />;
}

function TradingScreen({ user }: { user: User }) {
  useEffect(() => {
    startLive(
      () => session.peek()?.accessToken ?? null,
      // a token that expired while the router was away: renew it now, not at the next poll
      () => {
        if (Date.now() >= (session.peek()?.expiresAt ?? Infinity)) void renew();
      },
    );
    loadWatchlist(user.id);
    // The catalog (names, lot sizes) is read once, retried until the router answers.
    const stopCatalog = every(5_000, async () => {
      if (Object.keys(catalog.peek()).length === 0) await loadCatalog();
    });
    const stopQuotes = followQuotes();
    const stopAccount = followAccount();
    // A socket that answers proves the router is there, whatever the last POST saw.
    const stopReachable = socketState.subscribe((state) => {
      if (state === "open") reachable.value = true;
    });
    return () => {
      stopCatalog();
      stopQuotes();
      stopAccount();
      stopReachable();
      stopLive();
      wallet.value = null;
      orders.value = [];
    };
  }, [user.id]);

  const current = route.value;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t("header.skip")}
      </a>
      <Header user={user} />
      <div class={`layout view-${current.view}`}>
        <aside class="sidebar" aria-label={t("watchlist.title")}>
          <Watchlist />
        </aside>
        <main id="main" tabIndex={-1}>
          {current.view === "asset" && <AssetView key={current.ticker} ticker={current.ticker} />}
          {current.view === "orders" && <Blotter title={t("header.orders")} />}
          {current.view === "wallet" && <WalletView />}
          {current.view === "markets" && <MarketsIntro />}
        </main>
      </div>
    </div>
  );
}

function MarketsIntro() {
  return (
    <section class="panel intro">
      <h1>{t("markets.title")}</h1>
      <p>{t("markets.intro")}</p>
      <Blotter title={t("markets.recentOrders")} limit={5} />
    </section>
  );
}
