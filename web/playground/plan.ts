// The router's query plans: asked for with the Apollo-Query-Plan-Experimental header
// (docs/router.md), answered in `extensions.queryPlan`. Every operation the playground
// sends over HTTP asks for its plan, and the Plan tab shows the latest one.
export const PLAN_HEADER = "Apollo-Query-Plan-Experimental";

export interface Plan {
  operation: string;
  /** The router's plan text, or null with a note when it sent none. */
  text: string | null;
  note?: string;
}

let latest: Plan | null = null;
const listeners = new Set<() => void>();

export function latestPlan(): Plan | null {
  return latest;
}

export function onPlan(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function recordPlan(plan: Plan): void {
  latest = plan;
  for (const listener of listeners) listener();
}

/** The plan in a router response body, if it sent one (query plans can be switched off). */
export function planOf(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const extensions = (body as { extensions?: { queryPlan?: unknown } }).extensions;
  return typeof extensions?.queryPlan === "string" ? extensions.queryPlan : null;
}

export const NO_PLAN_NOTE =
  "The router sent no plan: its query plans are off (RouterConfig.expose_query_plan; production mode).";

/** Why a response came without a plan: the router refused the operation, or plans are off. */
export function noPlanNote(body: unknown): string {
  const { data, errors } = (body ?? {}) as { data?: unknown; errors?: { message?: unknown }[] };
  if (data == null && errors && errors.length > 0) {
    return `The router refused the operation, so it made no plan: ${String(errors[0].message ?? "")}`;
  }
  return NO_PLAN_NOTE;
}
