"""Runs a query plan: the only stage that does I/O.

Independent fetches run concurrently; each Flatten collects the objects at its path, sends
their deduplicated representations in one `_entities` request and merges each answer back
into every object that produced it. Subgraph errors keep their message and extensions
(`code` above all), get their paths rewritten from the subgraph's operation
(`_entities`, i, ...) to the client's response path, and never stop the other fetches.
A subgraph that cannot be reached, times out or runs past the operation's deadline is a
SUBGRAPH_UNAVAILABLE error for its fetch; what the other fetches brought is kept.
The merged tree still carries what the planner added (keys, `__typename`); the response
shaper (router.response) cuts it to what the client asked for."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Callable, Mapping

import orjson

from router.errors import RouterErrorCode
from router.operation import InlineFragment, Selection
from router.plan import FetchNode, FlattenNode, ParallelNode, PlanNode, QueryPlan, SequenceNode
from router.subgraph_client import SubgraphClient, SubgraphTimeout, SubgraphUnavailable

log = logging.getLogger("router.executor")

# Extensions a subgraph may send that must not reach clients.
_PRIVATE_EXTENSIONS = ("exception", "stacktrace", "stackTrace")

# How long one operation's fetches may take together (MYBROKER_ROUTER_OPERATION_TIMEOUT).
OPERATION_TIMEOUT_SECONDS = 30.0


class ExecutionState:
    __slots__ = ("data", "errors", "variables", "headers", "deadline")

    def __init__(self, variables: Mapping[str, Any], headers: Mapping[str, str], deadline: float | None = None):
        self.data: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self.variables = variables
        self.headers = dict(headers)
        # The executor's clock reading after which no fetch of this operation runs; None: no deadline.
        self.deadline = deadline


class Executor:
    """`operation_timeout`: seconds all of one operation's fetches may take (None: no
    deadline). A fetch still running at the deadline is cancelled, one not yet sent is not
    sent; each is a SUBGRAPH_UNAVAILABLE error, and the response keeps what arrived.
    `clock` (monotonic seconds) measures the deadline; tests step a fake one."""

    def __init__(
        self, client: SubgraphClient, urls: Mapping[str, str], *,
        operation_timeout: float | None = None, clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.urls = dict(urls)
        self.operation_timeout = operation_timeout
        self._clock = clock

    def _state(self, variables: Mapping[str, Any], headers: Mapping[str, str]) -> ExecutionState:
        timeout = self.operation_timeout
        return ExecutionState(variables, headers, None if timeout is None else self._clock() + timeout)

    async def execute(self, plan: QueryPlan, variables: Mapping[str, Any], headers: Mapping[str, str]) -> ExecutionState:
        state = self._state(variables, headers)
        if plan.node is not None:
            await self._run(plan.node, state)
        return state

    async def _run(self, node: PlanNode, state: ExecutionState) -> None:
        if isinstance(node, FetchNode):
            await self._root_fetch(node, state)
        elif isinstance(node, FlattenNode):
            await self._entity_fetch(node, state)
        elif isinstance(node, SequenceNode):
            for child in node.nodes:
                await self._run(child, state)
        elif isinstance(node, ParallelNode):
            await asyncio.gather(*(self._run(child, state) for child in node.nodes))

    # ------------------------------------------------------------ fetches

    def _body(self, fetch: FetchNode, state: ExecutionState, extra: dict | None = None) -> dict[str, Any]:
        variables = {name: state.variables[name] for name in fetch.variable_usages if name in state.variables}
        if extra:
            variables.update(extra)
        body: dict[str, Any] = {"query": fetch.operation, "variables": variables}
        if fetch.operation_name:
            body["operationName"] = fetch.operation_name
        return body

    async def _send(self, fetch: FetchNode, body: dict, state: ExecutionState) -> dict[str, Any] | None:
        url = self.urls.get(fetch.service)
        if not url:
            state.errors.append(_router_error(f'No URL is configured for subgraph "{fetch.service}".', fetch.service))
            return None
        service = fetch.service
        remaining = None if state.deadline is None else state.deadline - self._clock()
        if remaining is not None and remaining <= 0:  # an earlier step used the time up: not sent at all
            message = f'Subgraph "{service}" was not queried: the operation passed its deadline of {self.operation_timeout:g} s.'
            state.errors.append(_router_error(message, service, code=RouterErrorCode.SUBGRAPH_UNAVAILABLE))
            return None
        deadline = asyncio.timeout(remaining)
        try:
            async with deadline:
                return await self.client.fetch(url, body, state.headers)
        except SubgraphTimeout as error:
            message = f'Subgraph "{service}" did not answer in time.'
            state.errors.append(_router_error(message, service, f"{url}: {error}", code=RouterErrorCode.SUBGRAPH_UNAVAILABLE))
        except SubgraphUnavailable as error:
            message = f'Subgraph "{service}" is unreachable.'
            state.errors.append(_router_error(message, service, f"{url}: {error}", code=RouterErrorCode.SUBGRAPH_UNAVAILABLE))
        except TimeoutError as error:
            if not deadline.expired():  # the client's own TimeoutError: a bug of the client's
                return self._broken_client(service, error, state)
            message = f'Subgraph "{service}" did not answer within the operation\'s deadline of {self.operation_timeout:g} s.'
            state.errors.append(_router_error(message, service, url, code=RouterErrorCode.SUBGRAPH_UNAVAILABLE))
        except Exception as error:  # noqa: BLE001 - a broken client must not take the whole response down
            return self._broken_client(service, error, state)
        return None

    def _broken_client(self, service: str, error: Exception, state: ExecutionState) -> None:
        log.error("fetch from subgraph %s failed", service, exc_info=error)
        state.errors.append(_router_error(f'Subgraph "{service}" could not be queried.', service, repr(error)))

    async def resume(
        self, fetch: FetchNode, response: Mapping[str, Any], rest: PlanNode | None,
        variables: Mapping[str, Any], headers: Mapping[str, str],
    ) -> ExecutionState:
        """One subscription event: `response` is what the subgraph sent for the plan's root
        `fetch`; the rest of the plan (entity fetches) runs on it as for a query."""
        state = self._state(variables, headers)
        self._merge_root(fetch, response, state)
        if rest is not None:
            await self._run(rest, state)
        return state

    def body_for(self, fetch: FetchNode, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The request body for a root fetch (a subscription's, sent over WebSocket)."""
        return self._body(fetch, ExecutionState(variables, {}))

    async def _root_fetch(self, fetch: FetchNode, state: ExecutionState) -> None:
        response = await self._send(fetch, self._body(fetch, state), state)
        if response is None:
            return
        self._merge_root(fetch, response, state)

    def _merge_root(self, fetch: FetchNode, response: Mapping[str, Any], state: ExecutionState) -> None:
        data = response.get("data")
        if isinstance(data, dict):
            deep_merge(state.data, data)
        for error in response.get("errors") or ():
            path = error.get("path") if isinstance(error, dict) else None
            state.errors.append(_subgraph_error(error, fetch.service, list(path) if isinstance(path, list) else None))

    async def _entity_fetch(self, node: FlattenNode, state: ExecutionState) -> None:
        fetch = node.node
        shapes = {fragment.type_condition: fragment.selections for fragment in fetch.requires or ()}
        representations: list[dict] = []
        owners: list[list[tuple[dict, tuple]]] = []
        seen: dict[bytes, int] = {}
        renames = dict(fetch.representation_typenames)
        for obj, path in objects_at(state.data, node.path):
            shape = shapes.get(obj.get("__typename"))
            if shape is None:
                continue
            representation = project(obj, shape)
            if representation is None:
                continue  # key fields missing: the object was not fetched with them (e.g. @skip)
            if representation.get("__typename") in renames:
                representation["__typename"] = renames[representation["__typename"]]
            identity = orjson.dumps(representation)
            index = seen.get(identity)
            if index is None:
                index = seen[identity] = len(representations)
                representations.append(representation)
                owners.append([])
            owners[index].append((obj, path))
        if not representations:
            return
        response = await self._send(fetch, self._body(fetch, state, {"representations": representations}), state)
        if response is None:
            return
        data = response.get("data")
        entities = data.get("_entities") if isinstance(data, dict) else None
        if isinstance(entities, list):
            for index, entity in enumerate(entities[: len(representations)]):
                if isinstance(entity, dict):
                    for obj, _ in owners[index]:
                        deep_merge(obj, entity)
        for error in response.get("errors") or ():
            if not isinstance(error, dict):
                continue
            error_path = error.get("path")
            if isinstance(error_path, list) and len(error_path) >= 2 and error_path[0] == "_entities" and isinstance(error_path[1], int) and error_path[1] < len(owners):
                for _, owner_path in owners[error_path[1]]:
                    state.errors.append(_subgraph_error(error, fetch.service, [*owner_path, *error_path[2:]]))
            else:
                state.errors.append(_subgraph_error(error, fetch.service, None))


# ---------------------------------------------------------------- the response tree


def objects_at(data: Any, path: tuple[str, ...]) -> list[tuple[dict, tuple]]:
    """The objects at a Flatten path ("@" = every item of a list), with their concrete paths."""
    found: list[tuple[dict, tuple]] = []
    _walk(data, path, 0, (), found)
    return found


def _walk(value: Any, path: tuple[str, ...], i: int, concrete: tuple, found: list) -> None:
    if value is None:
        return
    if isinstance(value, list):
        # "@" in the path, or a list the path did not announce: every item is a candidate.
        step = i + 1 if i < len(path) and path[i] == "@" else i
        for index, item in enumerate(value):
            _walk(item, path, step, concrete + (index,), found)
        return
    if not isinstance(value, dict):
        return
    if i == len(path):
        found.append((value, concrete))
        return
    segment = path[i]
    if segment == "@":
        _walk(value, path, i + 1, concrete, found)
        return
    _walk(value.get(segment), path, i + 1, concrete + (segment,), found)


def project(obj: dict, selections: tuple[Selection, ...]) -> dict | None:
    """`obj` cut to a representation's shape; None when a key field is missing. A field is
    read at its response key (the planner may have aliased it) and sent under its name."""
    out: dict[str, Any] = {}
    for selection in selections:
        if isinstance(selection, InlineFragment):
            if selection.type_condition in (None, obj.get("__typename")):
                inner = project(obj, selection.selections)
                if inner is None:
                    return None
                out.update(inner)
            continue
        key = selection.response_key
        if key not in obj:
            return None
        value = obj[key]
        if selection.selections and value is not None:
            if isinstance(value, list):
                items = [project(item, selection.selections) if isinstance(item, dict) else item for item in value]
                if any(item is None for item in items):
                    return None
                value = items
            elif isinstance(value, dict):
                value = project(value, selection.selections)
                if value is None:
                    return None
        out[selection.name] = value
    return out


def deep_merge(target: dict, source: dict) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            for index, (old, new) in enumerate(zip(existing, value)):
                if isinstance(old, dict) and isinstance(new, dict):
                    deep_merge(old, new)
                else:
                    existing[index] = new
        else:
            target[key] = value


# ---------------------------------------------------------------- errors


def _subgraph_error(error: Any, service: str, path: list | None) -> dict[str, Any]:
    if not isinstance(error, dict):
        return _router_error(f'Subgraph "{service}" answered with a malformed error.', service)
    message = error.get("message")
    out: dict[str, Any] = {"message": message if isinstance(message, str) and message else f'Error in subgraph "{service}".'}
    if path:
        out["path"] = path
    extensions = error.get("extensions")
    extensions = {k: v for k, v in extensions.items() if k not in _PRIVATE_EXTENSIONS} if isinstance(extensions, dict) else {}
    extensions.setdefault("code", RouterErrorCode.INTERNAL_SERVER_ERROR.value)
    extensions.setdefault("service", service)
    out["extensions"] = extensions
    return out


def subgraph_errors(errors: Any, service: str) -> list[dict[str, Any]]:
    """A subgraph's errors as the client sees them (a subscription's `error` message)."""
    if not isinstance(errors, list) or not errors:
        return [_subgraph_error(errors, service, None)]
    return [_subgraph_error(error, service, None) for error in errors]


def router_error(message: str, service: str, detail: str = "") -> dict[str, Any]:
    """An INTERNAL_SERVER_ERROR about a subgraph, logged with the request id it carries."""
    return _router_error(message, service, detail)


def _router_error(
    message: str, service: str, detail: str = "", *, code: RouterErrorCode = RouterErrorCode.INTERNAL_SERVER_ERROR
) -> dict[str, Any]:
    request_id = uuid.uuid4().hex[:12]
    log.warning("%s %s (request id %s)", message, detail, request_id)
    return {"message": message, "extensions": {"code": code.value, "service": service, "requestId": request_id}}
