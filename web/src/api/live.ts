// Live data over graphql-ws (graphql-transport-ws at /graphql), with polling as the floor:
// every feed also has a query that runs every few seconds while its subscription is not
// delivering (no socket yet, a router without the transport, or a subscription the
// server refused). The screen works on either and goes live by itself when it can.
import { signal } from "@preact/signals";
import { createClient, type Client } from "graphql-ws";

export type SocketState = "off" | "connecting" | "open" | "closed";

export const socketState = signal<SocketState>("off");
/** The socket was open once in this session: a close now means "reconnecting". */
export const socketWasOpen = signal(false);

let client: Client | null = null;
const onOpen = new Set<() => void>();

// graphql-transport-ws: the server refused connection_init's token (expired, say).
const FORBIDDEN = 4403;

/** Opens the socket for this session; `onRefused` is told when the server refuses its token. */
export function startLive(accessToken: () => string | null, onRefused: () => void): void {
  stopLive();
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  client = createClient({
    url,
    connectionParams: () => {
      const token = accessToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // Backoff capped at 3 s: a restarted router is found again within seconds.
    retryWait: (retries) => sleep(Math.min(500 * 2 ** retries, 3_000) + Math.random() * 300),
    on: {
      connecting: () => (socketState.value = "connecting"),
      connected: () => {
        socketState.value = "open";
        socketWasOpen.value = true;
        onOpen.forEach((listener) => listener());
      },
      closed: (event) => {
        socketState.value = "closed";
        if ((event as CloseEvent | undefined)?.code === FORBIDDEN) onRefused(); // the retry then carries a fresh token
      },
    },
  });
}

export function stopLive(): void {
  client?.dispose();
  client = null;
  socketState.value = "off";
  socketWasOpen.value = false;
}

export interface Feed<T> {
  query: string;
  variables?: Record<string, unknown>;
  /** each subscription event's data */
  onEvent: (data: T) => void;
  /** fetches the same picture by query; runs while the subscription is not delivering */
  poll: () => Promise<unknown>;
  pollEveryMs?: number;
}

const RESUBSCRIBE_AFTER_MS = 15_000;

/** Follows a subscription, polling in its place while it cannot deliver. Returns a stop function. */
export function follow<T>(feed: Feed<T>): () => void {
  let stopped = false;
  let refused = false;
  let unsubscribe: (() => void) | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const subscribe = () => {
    if (stopped || !client) return;
    refused = false;
    unsubscribe = client.subscribe<T>(
      { query: feed.query, variables: feed.variables },
      {
        next: (result) => {
          if (result.data) feed.onEvent(result.data as T);
        },
        // Only GraphQL errors get here (connection trouble is retried by the client):
        // the server refused this subscription. Poll, and ask again later.
        error: () => {
          refused = true;
          retry = setTimeout(subscribe, RESUBSCRIBE_AFTER_MS);
        },
        complete: () => {
          if (!stopped) retry = setTimeout(subscribe, 1_000);
        },
      },
    );
  };

  const poll = async () => {
    try {
      await feed.poll();
    } catch {
      // reachable/error state is shown elsewhere; the next round tries again
    }
  };
  const delivering = () => socketState.value === "open" && !refused;
  const timer = setInterval(() => {
    if (!delivering()) void poll();
  }, feed.pollEveryMs ?? 2_000);
  // A (re)opened socket may have missed events while it was down: catch up once.
  const catchUp = () => void poll();
  onOpen.add(catchUp);

  void poll();
  subscribe();
  return () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(retry);
    onOpen.delete(catchUp);
    unsubscribe?.();
  };
}

/** Runs `task` now and every `everyMs` until stopped: for data with no subscription (book, tape, wallet). */
export function every(everyMs: number, task: () => Promise<unknown>): () => void {
  let running = false;
  const run = async () => {
    if (running) return; // a slow answer never stacks requests
    running = true;
    try {
      await task();
    } catch {
      // shown by the task's own state; try again next round
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(run, everyMs);
  return () => clearInterval(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
