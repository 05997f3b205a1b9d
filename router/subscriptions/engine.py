"""A client subscription, transport aside: checked and planned like any operation, then
each upstream event completed through the rest of its query plan and shaped.

The plan of a subscription starts with one root fetch (its single root field, from the
subgraph that owns it); that fetch is opened as an upstream subscription, and the nodes
after it (Flatten/_entities fetches for fields other subgraphs own) run once per event.
Identical client subscriptions (same operation, variables and caller) are one shared
subscription (`fanout`): each event is resolved once, in order, by one task, and the same
result, serialised once, goes to every one of them."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from functools import partial
from typing import Any, AsyncGenerator, Callable, Mapping

import orjson

from router.errors import PlanningError, RequestError, RouterErrorCode
from router.executor import router_error
from router.pipeline import GraphQLRequest, PreparedOperation, RouterPipeline
from router.plan import FetchNode, PlanNode, QueryPlan, SequenceNode, sequence
from router.subscriptions.fanout import FanOut, Mailbox, SharedResult, Sink
from router.subscriptions.hub import SubscriptionHub


class SubscriptionError(Exception):
    """The subscription ended with errors (the subgraph's, or its dropping out)."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors[0].get("message") if errors else "subscription failed")
        self.errors = errors


@dataclass(frozen=True)
class LiveOperation:
    """An operation ready to run on a streaming transport."""

    request: GraphQLRequest
    prepared: PreparedOperation
    variables: Mapping[str, Any]  # as the client sent them (forwarded to subgraphs)
    coerced: Mapping[str, Any]  # as the response shaper reads them

    @cached_property
    def sharing_key(self) -> tuple:
        """Identical for client subscriptions whose results are identical (same upstream)."""
        variables = orjson.dumps(self.variables, option=orjson.OPT_SORT_KEYS)
        return (self.request.query, self.request.operation_name, variables)

    @property
    def is_subscription(self) -> bool:
        return self.prepared.kind == "subscription"


def split_subscription_plan(plan: QueryPlan) -> tuple[FetchNode, PlanNode | None]:
    """The root fetch of a subscription plan and what runs after it for each event."""
    node = plan.node
    if isinstance(node, FetchNode) and not node.is_entity_fetch:
        return node, None
    if isinstance(node, SequenceNode) and isinstance(node.nodes[0], FetchNode) and not node.nodes[0].is_entity_fetch:
        return node.nodes[0], sequence(list(node.nodes[1:]))
    raise PlanningError("a subscription plan must start with a single root fetch")


class SubscriptionEngine:
    def __init__(self, pipeline: RouterPipeline, hub: SubscriptionHub):
        self.pipeline = pipeline
        self.hub = hub
        self.fanout = FanOut()

    def prepare(
        self, request: GraphQLRequest, *, allow_mutations: bool = True, headers: Mapping[str, str] | None = None
    ) -> LiveOperation:
        """Parse, validation, operation limits, variables and cost (the caller's limit, from
        the subgraph `headers` it will run with): RequestError before anything reaches a subgraph."""
        prepared = self.pipeline.prepare(request.query, request.operation_name, headers)
        if prepared.kind == "mutation" and not allow_mutations:
            raise RequestError(RouterErrorCode.BAD_USER_INPUT, "Mutations must be sent with POST, not GET.", status=405)
        variables = request.variables if request.variables is not None else {}
        coerced = self.pipeline.coerce_variables(prepared, variables)
        self.pipeline.check_cost(prepared, coerced, headers)
        if prepared.kind == "subscription":
            try:
                split_subscription_plan(prepared.plan)
            except PlanningError as error:
                raise RequestError(
                    RouterErrorCode.INTERNAL_SERVER_ERROR, f"The operation could not be planned: {error}", status=500
                ) from None
        return LiveOperation(request, prepared, variables, coerced)

    @property
    def clients(self) -> int:
        """Client subscriptions on a shared subscription now (for tests and metrics)."""
        return self.fanout.clients

    async def results(self, live: LiveOperation, headers: Mapping[str, str]) -> AsyncGenerator[dict[str, Any], None]:
        """Execution results, one per event (a query or mutation: exactly one). Raises
        SubscriptionError when the subscription ends in errors."""
        async for shared in self.stream(live, headers):
            yield shared.result

    async def stream(self, live: LiveOperation, headers: Mapping[str, str]) -> AsyncGenerator[SharedResult, None]:
        """As `results`, each result shared with (and serialised once for) every identical
        client subscription; a reader that lags loses its oldest results."""
        if not live.is_subscription:
            outcome = await self.pipeline.execute(live.request, headers)
            yield SharedResult(outcome.body)
            return
        mailbox = Mailbox(self.hub.capacity)
        leave = self.open(live, headers, mailbox)
        try:
            while True:
                kind, value = await mailbox.get()
                if kind == "next":
                    yield value
                elif kind == "error":
                    raise SubscriptionError(value)
                else:
                    return
        finally:
            leave()

    def open(self, live: LiveOperation, headers: Mapping[str, str], sink: Sink) -> Callable[[], None]:
        """Adds `sink` to the shared subscription for `live` and this caller (`headers`),
        opening it if it is the first; returns what takes it off again. Raises
        SubscriptionError when the root field's subgraph has no URL."""
        root, rest = split_subscription_plan(live.prepared.plan)
        url = self.pipeline.executor.urls.get(root.service)
        if not url:
            raise SubscriptionError([router_error(f'No URL is configured for subgraph "{root.service}".', root.service)])
        headers = dict(headers)
        # The caller's headers are part of the key: two callers never share results.
        key = (root.service, url, live.sharing_key, tuple(sorted(headers.items())))
        shared = self.fanout.join(key, sink, lambda: partial(self._pump, live, root, rest, url, headers))
        return partial(self.fanout.leave, shared, sink)

    async def _pump(
        self, live: LiveOperation, root: FetchNode, rest: PlanNode | None, url: str, headers: dict[str, str],
        deliver: Callable[[SharedResult], None],
    ) -> None:
        """The shared subscription's one task: each upstream event resolved once, in order."""
        body = self.pipeline.executor.body_for(root, live.variables)
        async with self.hub.join(root.service, url, body, headers) as listener:
            while True:
                kind, value = await listener.get()
                if kind == "next":
                    deliver(SharedResult(await self._resolve(live, root, rest, value.payload, headers)))
                elif kind == "error":
                    raise SubscriptionError(value)
                else:
                    return

    async def _resolve(
        self, live: LiveOperation, root: FetchNode, rest: PlanNode | None, payload: dict, headers: Mapping[str, str]
    ) -> dict[str, Any]:
        if rest is not None:
            # Entity fetches merge into the tree; the payload is shared by every listener of the upstream.
            payload = orjson.loads(orjson.dumps(payload))
        state = await self.pipeline.executor.resume(root, payload, rest, live.variables, headers)
        data = self.pipeline.shaper.shape(live.prepared.operation, state.data, live.coerced, state.errors)
        result: dict[str, Any] = {"data": data}
        if state.errors:
            result["errors"] = state.errors
        return result
