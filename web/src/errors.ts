// The contract's error codes as plain sentences. Forms pass their own wording for the
// codes whose meaning depends on what was being done (INSUFFICIENT_FUNDS on an order or
// on a withdrawal). BAD_USER_INPUT keeps the server's message: it names the problem.
import { ApiError } from "./api/graphql";
import { t } from "./i18n";

const PLAIN = new Set([
  "UNAUTHENTICATED", "FORBIDDEN", "EMAIL_TAKEN", "INVALID_CREDENTIALS", "UNKNOWN_ASSET", "INSUFFICIENT_FUNDS",
  "INSUFFICIENT_POSITION", "ORDER_NOT_CANCELLABLE", "RATE_LIMITED", "OPERATION_TOO_COMPLEX", "SUBGRAPH_UNAVAILABLE", "NETWORK",
]);

export function plainMessage(error: unknown, wording: Record<string, string> = {}): string {
  if (!(error instanceof ApiError)) return t("errors.unknown");
  if (wording[error.code]) return wording[error.code];
  if (error.code === "BAD_USER_INPUT") return error.message;
  if (PLAIN.has(error.code)) return t(`errors.${error.code}`);
  return error.requestId ? t("errors.oursWithReference", { reference: error.requestId }) : t("errors.ours");
}

export function errorCode(error: unknown): string | null {
  return error instanceof ApiError ? error.code : null;
}
