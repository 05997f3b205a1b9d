// The Plan tab: the router's query plan for the operation in the editor: which subgraph
// fetches it makes, in sequence or in parallel. Running an operation (▶) records its
// plan; "Show plan" runs the editor's query just for that. Mutations and subscriptions
// are not run by the button: a mutation's plan comes with running it.
import { useEditorContext } from "@graphiql/react";
import { getOperationAST, parse } from "graphql";
import { useState, useSyncExternalStore } from "react";
import { planQuery } from "./fetcher";
import { latestPlan, onPlan } from "./plan";

export function PlanPanel() {
  const editors = useEditorContext({ nonNull: true });
  const plan = useSyncExternalStore(onPlan, latestPlan);
  const [note, setNote] = useState<string | null>(null);

  async function show() {
    const query = editors.queryEditor?.getValue() ?? "";
    const operationName = editors.operationName;
    let kind: string | undefined;
    try {
      kind = getOperationAST(parse(query), operationName ?? undefined)?.operation;
    } catch (error) {
      setNote(`The operation does not parse: ${(error as Error).message}`);
      return;
    }
    if (kind !== "query") {
      setNote(
        kind === "mutation"
          ? "A mutation is planned when it runs: run it (▶) and its plan shows here."
          : kind === "subscription"
            ? "Subscriptions run over the WebSocket, which carries no plan."
            : "Select one operation in the editor.",
      );
      return;
    }
    setNote(null);
    try {
      await planQuery(query, operationName, headersOf(editors.headerEditor?.getValue() ?? ""));
    } catch (error) {
      setNote(`The router could not be reached: ${(error as Error).message}`);
    }
  }

  return (
    <div className="mybroker-plan">
      <div className="graphiql-doc-explorer-title">Query plan</div>
      <p>The router&apos;s plan: the subgraph fetches an operation makes.</p>
      <button type="button" className="graphiql-button" onClick={() => void show()}>
        Show plan
      </button>
      {note && <p className="mybroker-plan-note">{note}</p>}
      {plan && (
        <section aria-label="Query plan">
          <h4>{plan.operation || "Anonymous operation"}</h4>
          {plan.text !== null ? <pre data-testid="query-plan">{plan.text}</pre> : <p>{plan.note}</p>}
        </section>
      )}
    </div>
  );
}

function headersOf(text: string): Record<string, string> {
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  } catch {
    return {};
  }
}

export function PlanIcon() {
  // A small tree: one fetch, then two in parallel.
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <rect x="9" y="3" width="6" height="4" rx="1" />
      <rect x="3" y="17" width="6" height="4" rx="1" />
      <rect x="15" y="17" width="6" height="4" rx="1" />
      <path d="M12 7v5M6 17v-5h12v5" />
    </svg>
  );
}
