// The signed-in trader: tokens live in sessionStorage (gone when the tab closes) and the
// access token is renewed with the refresh token a minute before it expires.
import { signal } from "@preact/signals";
import { ApiError, gql, useTokens } from "./graphql";

export interface User {
  id: string;
  email: string;
  name: string;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** epoch milliseconds */
  expiresAt: number;
  user: User;
}

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

const STORAGE_KEY = "mybroker.session";
const AUTH_FIELDS = "accessToken refreshToken expiresIn user { id email name }";
// Renew a minute (or a fifth of a short lifetime) before expiry, so a request never
// carries an expired token.
const RENEW_MARGIN_MS = 60_000;
// The refresh token is these calls' credential (see GqlOptions.anonymous).
const ANONYMOUS = { anonymous: true };

export const session = signal<Session | null>(load());

let renewTimer: ReturnType<typeof setTimeout> | undefined;
let renewing: Promise<boolean> | null = null;

useTokens({ current: () => session.value?.accessToken ?? null, renew });
schedule();

export async function signUp(name: string, email: string, password: string): Promise<void> {
  const data = await gql<{ register: AuthPayload }>(
    `mutation SignUp($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`,
    { input: { name, email, password } },
    ANONYMOUS,
  );
  start(data.register);
}

export async function signIn(email: string, password: string): Promise<void> {
  const data = await gql<{ login: AuthPayload }>(
    `mutation SignIn($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
    { input: { email, password } },
    ANONYMOUS,
  );
  start(data.login);
}

export function signOut(): void {
  const current = session.value;
  endSession();
  // Identity signs the session out too, so its tokens stop working everywhere, not only
  // in this tab. Best effort: the tab forgets them either way.
  if (current) {
    gql<{ logout: boolean }>(
      `mutation SignOut($token: String!) { logout(refreshToken: $token) }`,
      { token: current.refreshToken },
      ANONYMOUS,
    ).catch(() => undefined);
  }
}

function endSession(): void {
  clearTimeout(renewTimer);
  sessionStorage.removeItem(STORAGE_KEY);
  session.value = null;
}

/** One renewal at a time: concurrent requests that all met UNAUTHENTICATED share it. */
export function renew(): Promise<boolean> {
  renewing ??= renewOnce().finally(() => (renewing = null));
  return renewing;
}

async function renewOnce(): Promise<boolean> {
  const current = session.value;
  if (!current) return false;
  try {
    const data = await gql<{ refreshToken: AuthPayload }>(
      `mutation Renew($token: String!) { refreshToken(refreshToken: $token) { ${AUTH_FIELDS} } }`,
      { token: current.refreshToken },
      ANONYMOUS,
    );
    start(data.refreshToken);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === "NETWORK") {
      schedule(2_000); // the router is restarting: try again soon, keep the session
      return false;
    }
    endSession(); // the refresh token was refused: the session is over
    return false;
  }
}

function start(payload: AuthPayload): void {
  const next: Session = {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: Date.now() + payload.expiresIn * 1000,
    user: payload.user,
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  session.value = next;
  schedule();
}

function schedule(delay?: number): void {
  clearTimeout(renewTimer);
  const current = session.value;
  if (!current) return;
  const remaining = current.expiresAt - Date.now();
  const due = delay ?? Math.max(1_000, remaining - Math.min(RENEW_MARGIN_MS, remaining / 5));
  renewTimer = setTimeout(() => void renew(), due);
}

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}
