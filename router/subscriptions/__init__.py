"""Subscriptions through the router, all at /graphql.

Clients reach the router over three transports (`graphql_ws`: graphql-transport-ws over
WebSocket; `sse`: graphql-sse in distinct-connections mode; `multipart`: Apollo's
multipart HTTP subscriptions). Each client subscription is planned like a query
(`engine`): the root field comes from one subgraph over a WebSocket (`upstream`), shared
by every client subscription of the same caller with the same root fetch (`hub`); every
event is completed through the rest of the query plan (`_entities` fetches) and
serialised once per identical client subscription (`fanout`), then queued to each
client's socket, which its own writer drains."""
from router.subscriptions.server import SubscriptionServer, SubscriptionSettings, pooled_session, streaming_transport

__all__ = ["SubscriptionServer", "SubscriptionSettings", "pooled_session", "streaming_transport"]
