// Queries and mutations over POST /graphql (the router's CSRF rule accepts a JSON POST;
// GET would need a preflight header). Every answer tells `reachable` whether the router
// answered at all, which the connection badge shows.
import { signal } from "@preact/signals";

export const reachable = signal(true);

/** A GraphQL error with the contract's code (extensions.code), or NETWORK when the router did not answer. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; requestId?: string };
}

interface ResponseBody<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

/** Where the access token comes from; the session installs itself here (see session.ts). */
export interface TokenSource {
  current(): string | null;
  /** Gets a fresh access token with the refresh token; false when the session is over. */
  renew(): Promise<boolean>;
}

let tokens: TokenSource = { current: () => null, renew: async () => false };

export function useTokens(source: TokenSource): void {
  tokens = source;
}

export interface GqlOptions {
  /**
   * Sent without the access token and never renewed on UNAUTHENTICATED: for the calls
   * whose credential is in their arguments (sign-up, sign-in, renewal, sign-out). The
   * router refuses an expired bearer token before it reads the operation, so a renewal
   * carrying one would be refused, and waiting on itself it would never settle.
   */
  anonymous?: boolean;
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, options: GqlOptions = {}): Promise<T> {
  const sent = options.anonymous ? null : tokens.current();
  let body = await post<T>(query, variables, sent);
  // An access token that expired between refreshes (a sleeping laptop): renew once, retry.
  if (sent && firstCode(body) === "UNAUTHENTICATED" && (await tokens.renew())) {
    body = await post<T>(query, variables, tokens.current());
  }
  const error = body.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? "INTERNAL_SERVER_ERROR";
    throw new ApiError(code, error.message, error.extensions?.requestId);
  }
  return body.data as T;
}

function firstCode(body: ResponseBody<unknown>): string | undefined {
  return body.errors?.[0]?.extensions?.code;
}

async function post<T>(query: string, variables: Record<string, unknown>, token: string | null): Promise<ResponseBody<T>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    reachable.value = false;
    throw new ApiError("NETWORK", "The server does not answer.");
  }
  // A proxy in front of a stopped router answers 502-504 without a GraphQL body.
  if (response.status >= 502 && response.status <= 504) {
    reachable.value = false;
    throw new ApiError("NETWORK", "The server does not answer.");
  }
  reachable.value = true;
  try {
    return (await response.json()) as ResponseBody<T>;
  } catch {
    throw new ApiError("INTERNAL_SERVER_ERROR", `The server answered HTTP ${response.status} without GraphQL.`);
  }
}
