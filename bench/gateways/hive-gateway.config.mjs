// Hive Gateway's configuration for the subscription benchmark: subscriptions reach the
// subgraphs over WebSocket (graphql-transport-ws at their /graphql), as our router's do.
import { defineConfig } from "@graphql-hive/gateway";

export const gatewayConfig = defineConfig({
  transportEntries: {
    "*.http": { options: { subscriptions: { kind: "ws", location: "/graphql" } } },
  },
});
