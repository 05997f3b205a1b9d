"""The two streaming HTTP transports at POST/GET /graphql, chosen by the Accept header.

graphql-sse, distinct connections mode (`Accept: text/event-stream`): one `next` event
per result (`data:` the execution result), then `complete`; a comment line (`:`) keeps a
quiet stream alive. Apollo's multipart subscriptions (`Accept:
multipart/mixed;subscriptionSpec="1.0"`): boundary `graphql`, each part a JSON object:
`{"payload": <execution result>}`, `{}` as the heartbeat, and `{"payload": null,
"errors": [...]}` when the subscription itself fails (e.g. its subgraph went away)."""
from __future__ import annotations

from typing import Any, AsyncIterator

import orjson
from starlette.responses import StreamingResponse

from router.subscriptions.fanout import SharedResult
from router.subscriptions.heartbeat import HEARTBEAT, with_heartbeats

SSE = "sse"
MULTIPART = "multipart"
MULTIPART_CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
# Each part is followed at once by the next delimiter, so a client's parser can hand it
# over as soon as it arrives instead of waiting for the next part (as Apollo's router does).
_START = b"\r\n--graphql\r\n"
_HEADERS = b"content-type: application/json; charset=utf-8\r\n\r\n"
_NEXT = b"\r\n--graphql\r\n"
_END = b"\r\n--graphql--\r\n"
_NO_BUFFERING = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def streaming_transport(accept: str) -> str | None:
    """SSE, MULTIPART, or None for a plain JSON answer."""
    accept = accept.lower()
    if "text/event-stream" in accept:
        return SSE
    if "multipart/mixed" in accept and "subscriptionspec" in accept:
        return MULTIPART
    return None


class Failed:
    """The stream's last item when the subscription ends in errors."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors


async def sse_events(results: AsyncIterator[Any], keepalive: float) -> AsyncIterator[bytes]:
    async for item in with_heartbeats(results, keepalive):
        if item is HEARTBEAT:
            yield b":\n\n"
        elif isinstance(item, Failed):
            yield b"event: next\ndata: " + orjson.dumps({"errors": item.errors}) + b"\n\n"
        elif isinstance(item, SharedResult):  # framed once for every SSE client of the result
            yield item.sse
        else:
            yield b"event: next\ndata: " + orjson.dumps(item) + b"\n\n"
    yield b"event: complete\ndata: \n\n"


async def multipart_parts(results: AsyncIterator[Any], heartbeat: float) -> AsyncIterator[bytes]:
    yield _START + _HEADERS + b"{}" + _NEXT  # headers and a first part at once: the client knows it is subscribed
    async for item in with_heartbeats(results, heartbeat):
        if item is HEARTBEAT:
            yield _HEADERS + b"{}" + _NEXT
        elif isinstance(item, Failed):
            yield _HEADERS + orjson.dumps({"payload": None, "errors": item.errors}) + _NEXT
        elif isinstance(item, SharedResult):
            yield _HEADERS + item.multipart + _NEXT
        else:
            yield _HEADERS + orjson.dumps({"payload": item}) + _NEXT
    yield _HEADERS + b"{}" + _END  # a last heartbeat, then the closing delimiter


def streaming_response(transport: str, results: AsyncIterator[Any], interval: float) -> StreamingResponse:
    if transport == SSE:
        return StreamingResponse(sse_events(results, interval), media_type="text/event-stream", headers=_NO_BUFFERING)
    headers = {**_NO_BUFFERING, "content-type": MULTIPART_CONTENT_TYPE}
    return StreamingResponse(multipart_parts(results, interval), headers=headers)
