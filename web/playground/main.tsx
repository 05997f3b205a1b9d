// The GraphiQL playground, bundled from npm (no CDN): schema docs from the router's
// introspection, the signed-in trader's token in Headers, subscriptions over graphql-ws,
// and a Plan tab with the router's query plan.
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";
import { fetcher } from "./fetcher";
import { PlanIcon, PlanPanel } from "./PlanPanel";
import "./playground.css";

const DEFAULT_QUERY = `# My Broker B3
# Signed in on the trading screen in this tab? Headers already carries your token.
# Otherwise sign in with the login mutation and put the access token in Headers:
#   {"Authorization": "Bearer <accessToken>"}
# The Plan tab (left) shows the router's query plan for the operation.

query Assets {
  assets(first: 5) {
    ticker
    name
    quote { price changePercent }
  }
}
`;

// The screen keeps the signed-in trader in this tab's sessionStorage (web/src/api/session.ts).
const SCREEN_SESSION_KEY = "mybroker.session";

function defaultHeaders(): string {
  try {
    const session = JSON.parse(sessionStorage.getItem(SCREEN_SESSION_KEY) ?? "null") as { accessToken?: string } | null;
    if (session?.accessToken) return JSON.stringify({ Authorization: `Bearer ${session.accessToken}` }, null, 2);
  } catch {
    // an unreadable session: start without a token
  }
  return ""; // anonymous: a placeholder token would be refused as malformed
}

const plan = { title: "Query plan", icon: PlanIcon, content: PlanPanel };

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL
    fetcher={fetcher}
    plugins={[plan]}
    defaultQuery={DEFAULT_QUERY}
    defaultHeaders={defaultHeaders()}
    defaultEditorToolsVisibility="headers"
    shouldPersistHeaders={false}
  />,
);
