import { computed } from "@preact/signals";
import { reachable } from "../api/graphql";
import { socketState, socketWasOpen } from "../api/live";
import { t } from "../i18n";

type Connection = "live" | "polling" | "reconnecting";

// live: the subscription socket is open. polling: the router answers but offers no socket
// (yet), so the screen re-reads every couple of seconds. reconnecting: the router does
// not answer, or the socket that was open dropped; both retry by themselves.
const connection = computed<Connection>(() => {
  if (socketState.value === "open") return "live";
  if (!reachable.value || socketWasOpen.value) return "reconnecting";
  return "polling";
});

export function ConnectionBadge() {
  const state = connection.value;
  return (
    <p class={`connection ${state}`} role="status" aria-live="polite" data-state={state}>
      <span class="dot" aria-hidden="true" />
      {t(`connection.${state}`)}
    </p>
  );
}
