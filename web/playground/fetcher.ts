// GraphiQL's fetcher: queries and mutations POST to /graphql (asking for the plan),
// subscriptions go over the router's graphql-ws WebSocket at the same path. Browsers set
// no headers on a WebSocket, so the Headers tab's Authorization travels in
// connection_init's payload, as the router reads it (router/subscriptions/graphql_ws.py).
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { createClient, type Client } from "graphql-ws";
import { PLAN_HEADER, noPlanNote, planOf, recordPlan } from "./plan";

const HTTP_URL = window.location.pathname; // the router serves the page and the API at /graphql
const WS_URL = `${window.location.protocol === "https:" ? "wss" : "ws"}://${window.location.host}${HTTP_URL}`;

/** fetch that asks for the plan and records it for the Plan tab. */
async function fetchWithPlan(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  headers.set(PLAN_HEADER, "1");
  const response = await fetch(input, { ...init, headers });
  const operation = operationNameOf(init?.body);
  response
    .clone()
    .json()
    .then((body) => {
      const text = planOf(body);
      recordPlan(text === null ? { operation, text, note: noPlanNote(body) } : { operation, text });
    })
    .catch(() => undefined); // not JSON (a proxy's error page): GraphiQL shows it
  return response;
}

function operationNameOf(body: BodyInit | null | undefined): string {
  if (typeof body !== "string") return "";
  try {
    const parsed = JSON.parse(body) as { operationName?: string | null; query?: string };
    return parsed.operationName ?? firstOperationName(parsed.query ?? "");
  } catch {
    return "";
  }
}

function firstOperationName(query: string): string {
  return /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(query)?.[1] ?? "";
}

/** One fetcher (and one WebSocket) per set of headers: changing the token reconnects. */
let current: { key: string; fetcher: Fetcher; client: Client } | null = null;

function fetcherFor(headers: Record<string, string>): Fetcher {
  const key = JSON.stringify(headers);
  if (current?.key !== key) {
    current?.client.dispose();
    const client = createClient({ url: WS_URL, connectionParams: headers, lazy: true });
    current = { key, client, fetcher: createGraphiQLFetcher({ url: HTTP_URL, fetch: fetchWithPlan, wsClient: client }) };
  }
  return current.fetcher;
}

export const fetcher: Fetcher = (params, options) => fetcherFor(stringHeaders(options?.headers))(params, options);

function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/** Runs a query only to see its plan (the Plan tab's button); the plan is recorded as usual. */
export async function planQuery(query: string, operationName: string | null, headers: Record<string, string>): Promise<void> {
  await fetchWithPlan(HTTP_URL, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, operationName }),
  });
}
