"""Fan-out of shared subscriptions: each event resolved and serialised once for every
identical client subscription of one caller, and slow clients losing only their own
oldest messages."""
from __future__ import annotations

import asyncio

import orjson
from starlette.websockets import WebSocketState

from router.pipeline import GraphQLRequest
from router.subscriptions.engine import SubscriptionEngine
from router.subscriptions.fanout import FanOut, SharedResult
from router.subscriptions.graphql_ws import GraphQLTransportWS, _OperationSink
from router.subscriptions.hub import SubscriptionHub

from .test_subscriptions_hub import HEADERS, ScriptedSubscriber, until

REVIEW = {"body": "A classic.", "author": {"__typename": "User", "id": "1"}}


async def test_identical_subscriptions_get_one_result_per_event_and_callers_stay_apart(pipeline, client):
    subscriber = ScriptedSubscriber()
    engine = SubscriptionEngine(pipeline, SubscriptionHub(subscriber))
    query = "subscription { reviewAdded { body author { name } } }"
    other_caller = {**HEADERS, "x-mybroker-user": "2"}
    streams = [
        engine.stream(engine.prepare(GraphQLRequest(query)), headers)
        for headers in (HEADERS, dict(HEADERS), other_caller)
    ]
    pending = [asyncio.ensure_future(anext(stream)) for stream in streams]
    await until(lambda: subscriber.open == 2)  # one upstream per caller
    assert engine.fanout.groups == 2 and engine.clients == 3
    for queue in subscriber.queues:
        queue.put_nowait({"data": {"reviewAdded": REVIEW}})
    first, second, other = await asyncio.gather(*pending)
    assert first is second  # the same result object: resolved once, serialised once
    assert other is not first  # another caller never shares a result
    assert first.result == other.result == {"data": {"reviewAdded": {"body": "A classic.", "author": {"name": "Ada Lovelace"}}}}
    assert client.services_called() == ["accounts", "accounts"]  # one entity fetch per caller, not per client
    for stream in streams:
        await stream.aclose()
    await until(lambda: subscriber.open == 0 and engine.fanout.groups == 0)


def test_a_result_is_serialised_once_and_each_next_message_carries_its_own_id():
    shared = SharedResult({"data": {"quote": {"ticker": "PETR4", "price": 38.5}}})
    a, b = shared.ws_next('"a"'), shared.ws_next(orjson.dumps('we"ird').decode())
    assert orjson.loads(a) == {"id": "a", "type": "next", "payload": shared.result}
    assert orjson.loads(b) == {"id": 'we"ird', "type": "next", "payload": shared.result}
    assert shared.json is shared.json  # computed on first use only
    assert shared.sse == b"event: next\ndata: " + shared.json + b"\n\n"
    assert orjson.loads(shared.multipart) == {"payload": shared.result}


class FakeSocket:
    """What GraphQLTransportWS's writer needs of a Starlette WebSocket; `gate`, while
    cleared, holds every send (a client that does not read)."""

    def __init__(self, held: bool = False):
        self.application_state = WebSocketState.CONNECTED
        self.sent: list[dict] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()

    async def send(self, message: dict) -> None:
        await self.gate.wait()
        self.sent.append(orjson.loads(message["text"]))


def connection(socket: FakeSocket, buffer: int) -> GraphQLTransportWS:
    ws = GraphQLTransportWS(socket, engine=None, authenticate=None, headers_for=None, buffer=buffer)
    ws._background.append(asyncio.create_task(ws._writer()))
    return ws


async def test_a_slow_client_drops_its_oldest_messages_while_a_fast_one_gets_everything():
    fast_socket, slow_socket = FakeSocket(), FakeSocket(held=True)
    fast, slow = connection(fast_socket, buffer=16), connection(slow_socket, buffer=2)
    fanout, events = FanOut(), asyncio.Queue()

    async def source(deliver):  # the shared subscription's upstream, fed by the test
        while (n := await events.get()) is not None:
            deliver(SharedResult({"data": {"n": n}}))

    shared = fanout.join("key", _OperationSink(fast, "f"), lambda: source)
    assert fanout.join("key", _OperationSink(slow, "s"), lambda: source) is shared
    events.put_nowait(0)
    await until(lambda: len(fast_socket.sent) == 1 and not slow._outbox)  # the slow writer is stuck on 0
    for n in range(1, 6):
        events.put_nowait(n)
    await until(lambda: len(fast_socket.sent) == 6)  # never waits for the slow one
    # The slow client's writer holds message 0; its outbox keeps the newest two of 1-5.
    assert slow.dropped == 3 and fast.dropped == 0
    events.put_nowait(None)  # the upstream completes: the ending is never dropped
    await until(lambda: shared.task.done())
    slow_socket.gate.set()
    await until(lambda: len(slow_socket.sent) == 4)
    assert [m["payload"]["data"]["n"] for m in fast_socket.sent[:6]] == [0, 1, 2, 3, 4, 5]
    assert {m["id"] for m in fast_socket.sent} == {"f"}
    assert fast_socket.sent[6] == {"id": "f", "type": "complete"}
    assert [m.get("payload", {}).get("data", {}).get("n") for m in slow_socket.sent] == [0, 4, 5, None]
    assert slow_socket.sent[-1] == {"id": "s", "type": "complete"}
    for ws in (fast, slow):
        for task in ws._background:
            task.cancel()


async def test_a_full_outbox_drops_a_next_message_never_an_ending():
    ws = GraphQLTransportWS(FakeSocket(), engine=None, authenticate=None, headers_for=None, buffer=2)
    sink = _OperationSink(ws, "a")
    ws._enqueue("ending of another operation", None)
    ws._enqueue("next 1", sink)
    ws._enqueue("next 2", sink)  # full: "next 1" goes, the ending before it stays
    ws._enqueue("ending", None)  # endings are never refused
    assert [text for _, text in ws._outbox] == ["ending of another operation", "next 2", "ending"]
    assert ws.dropped == 1


class OneSinkEngine:
    """Stands in for SubscriptionEngine.open: keeps the sink, leaving does nothing."""

    sink = None

    def open(self, live, headers, sink):
        self.sink = sink
        return lambda: None


async def test_what_is_queued_for_an_operation_the_client_completed_is_not_sent():
    socket, engine = FakeSocket(), OneSinkEngine()
    ws = GraphQLTransportWS(socket, engine=engine, authenticate=None, headers_for=None)
    operation = asyncio.create_task(ws._subscription("a", live=None))
    await until(lambda: engine.sink is not None)
    engine.sink.next(SharedResult({"data": {"n": 1}}))  # queued, the writer not yet running
    operation.cancel()  # the client's `complete`
    await asyncio.gather(operation, return_exceptions=True)
    ws._enqueue('{"type":"pong"}', None)
    writer = asyncio.create_task(ws._writer())
    await until(lambda: socket.sent)
    assert socket.sent == [{"type": "pong"}]
    writer.cancel()
