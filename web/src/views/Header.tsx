import { signOut, type User } from "../api/session";
import { route } from "../state/route";
import { ConnectionBadge } from "./ConnectionBadge";

const LINKS = [
  { view: "markets", label: "Markets", href: "#/" },
  { view: "orders", label: "Orders", href: "#/orders" },
  { view: "wallet", label: "Wallet", href: "#/wallet" },
] as const;

export function Header({ user }: { user: User }) {
  const view = route.value.view;
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        My Broker <span>B3</span>
      </a>
      <nav aria-label="Main">
        {LINKS.map((link) => (
          <a href={link.href} aria-current={view === link.view || (view === "asset" && link.view === "markets") ? "page" : undefined}>
            {link.label}
          </a>
        ))}
      </nav>
      <ConnectionBadge />
      <div class="account">
        <span class="user" title={user.email}>
          {user.name}
        </span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
