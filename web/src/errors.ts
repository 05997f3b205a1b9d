// The contract's error codes as plain sentences. Forms pass their own wording for the
// codes whose meaning depends on what was being done (INSUFFICIENT_FUNDS on an order or
// on a withdrawal). BAD_USER_INPUT keeps the server's message: it names the problem.
import { ApiError } from "./api/graphql";

const PLAIN: Record<string, string> = {
  UNAUTHENTICATED: "Your session has ended. Sign in again.",
  FORBIDDEN: "That belongs to another account.",
  EMAIL_TAKEN: "This e-mail already has an account. Sign in instead.",
  INVALID_CREDENTIALS: "The e-mail or the password is wrong.",
  UNKNOWN_ASSET: "This ticker is not traded here.",
  INSUFFICIENT_FUNDS: "Not enough available cash.",
  INSUFFICIENT_POSITION: "Not enough free shares to sell.",
  ORDER_NOT_CANCELLABLE: "This order has already finished and can no longer be cancelled.",
  RATE_LIMITED: "Too many requests. Wait a moment and try again.",
  OPERATION_TOO_COMPLEX: "The request was too large for the server.",
  SUBGRAPH_UNAVAILABLE: "Part of the service is busy or unavailable. Try again in a moment.",
  NETWORK: "The server does not answer. Check the connection and try again.",
};

export function plainMessage(error: unknown, wording: Record<string, string> = {}): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  if (wording[error.code]) return wording[error.code];
  if (error.code === "BAD_USER_INPUT") return error.message;
  if (PLAIN[error.code]) return PLAIN[error.code];
  const reference = error.requestId ? ` (reference ${error.requestId})` : "";
  return `Something went wrong on our side${reference}. Try again.`;
}

export function errorCode(error: unknown): string | null {
  return error instanceof ApiError ? error.code : null;
}
