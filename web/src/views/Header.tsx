import { signOut, type User } from "../api/session";
import { route } from "../state/route";
import { t } from "../i18n";
import { ConnectionBadge } from "./ConnectionBadge";
import { LanguageSwitch } from "./LanguageSwitch";

const LINKS = [
  { view: "markets", label: "header.markets", href: "#/" },
  { view: "orders", label: "header.orders", href: "#/orders" },
  { view: "wallet", label: "header.wallet", href: "#/wallet" },
] as const;

export function Header({ user }: { user: User }) {
  const view = route.value.view;
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        My Broker <span>B3</span>
      </a>
      <nav aria-label={t("header.main")}>
        {LINKS.map((link) => (
          <a href={link.href} aria-current={view === link.view || (view === "asset" && link.view === "markets") ? "page" : undefined}>
            {t(link.label)}
          </a>
        ))}
      </nav>
      <ConnectionBadge />
      <div class="account">
        <span class="user" title={user.email}>
          {user.name}
        </span>
        <LanguageSwitch />
        <button type="button" class="secondary" onClick={signOut}>
          {t("header.signOut")}
        </button>
      </div>
    </header>
  );
}
