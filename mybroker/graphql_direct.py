"""The direct path for a subgraph's everyday request: one JSON POST of one valid query or
mutation, which is what the router sends.

Strawberry's HTTP view and its per-request extension runner were about half of a
subgraph's CPU on the simplest query (py-spy, BENCHMARKS.md "The direct path"): building
four extensions and their hook lists, content negotiation, the IDE check, batching and
streaming checks, for a request that uses none of them. This path does for that request
what Strawberry does, in the same order and with the same checks and caches (parse,
validation, the string limit, router-only fields), then calls graphql-core's `execute` on
Strawberry's own schema with Strawberry's execution context, so resolvers see the same
`info`. Anything else goes to Strawberry untouched: GET, WebSockets, another content type
or Accept, a body that is not one plain operation, a document that does not parse or
validate, an operation name that does not match, a subscription. Those requests are rare
and get Strawberry's own answers and status codes; only the common case is re-done here.

tests/unit/core/test_graphql_direct.py sends the same requests down both paths and holds
them to the same answers."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from inspect import isawaitable
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, execute, parse, specified_rules
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import Schema, validate_document

# The body keys of a plain operation (GraphQL over HTTP); "extensions" and anything else
# send the request to Strawberry, which knows what to do with them.
_PLAIN_KEYS = frozenset({"query", "variables", "operationName"})


@dataclass(frozen=True, slots=True)
class Operation:
    """A plain GraphQL-over-HTTP request body."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def plain_operation(body: bytes) -> Operation | None:
    """The body as one plain operation, or None when it is anything else (not JSON, a
    batch, extra keys, values of the wrong type): those go to Strawberry."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or not data.keys() <= _PLAIN_KEYS:
        return None
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    if type(query) is not str or not query:
        return None
    if variables is not None and type(variables) is not dict:
        return None
    if name is not None and type(name) is not str:
        return None
    return Operation(query, variables, name)


def takes_json(headers: Mapping[str, str]) -> bool:
    """A JSON body asking for a JSON answer: what the router sends. Multipart, event
    streams and other media are Strawberry's."""
    content_type = headers.get("content-type", "")
    if content_type != "application/json" and not content_type.startswith("application/json;"):
        return False
    accept = headers.get("accept")
    return accept is None or accept in ("application/json", "*/*", "application/json, */*")


@dataclass(frozen=True, slots=True)
class _Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    valid: bool
    router_only: bool  # asks `_service` or introspection


class DirectPath:
    """Executes plain operations on `schema` without Strawberry's HTTP view, with
    the schema's own request checks and error format (mybroker.graphql): `too_long(query,
    document, variables)` and `router_only(document)`, the same functions its extensions
    call, and `format_error`, what its process_result applies."""

    def __init__(
        self,
        schema: Schema,
        *,
        cache_size: int,
        too_long: Callable[[str, DocumentNode, dict[str, Any] | None], GraphQLError | None],
        router_only: Callable[[DocumentNode], bool],
        format_error: Callable[[GraphQLError], dict[str, Any]],
    ):
        self.schema = schema
        self._format_error = format_error
        self._too_long = too_long
        self._router_only = router_only
        self._prepare = lru_cache(maxsize=cache_size)(self._prepare_uncached)

    def _prepare_uncached(self, query: str) -> _Prepared | None:
        """Parsed and validated once per distinct text (as ParserCache and ValidationCache
        do); None for a text this path leaves to Strawberry."""
        try:
            document = parse(query)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation == OperationType.SUBSCRIPTION:
            return None
        valid = not validate_document(self.schema._schema, document, tuple(specified_rules))
        return _Prepared(document, operations[0], valid, self._router_only(document))

    def prepare(self, operation: Operation, *, internal: bool) -> DocumentNode | None:
        """The document to execute, or None when Strawberry must answer (it would refuse
        the request or treat it in a way of its own)."""
        prepared = self._prepare(operation.query)
        if prepared is None or not prepared.valid:
            return None
        name = prepared.operation.name.value if prepared.operation.name else None
        if operation.operation_name is not None and operation.operation_name != name:
            return None
        if prepared.router_only and not internal:
            return None
        if self._too_long(operation.query, prepared.document, operation.variables) is not None:
            return None
        return prepared.document

    async def execute(self, document: DocumentNode, operation: Operation, context: Any) -> dict[str, Any]:
        """The response body's JSON value, as Strawberry's execute and our process_result
        would make it: errors shaped to the contract by the schema's process_errors."""
        try:
            result = execute(
                self.schema._schema,
                document,
                root_value=None,
                context_value=context,
                variable_values=operation.variables,
                operation_name=operation.operation_name,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a plain bool predicate, as Strawberry passes it
                executor_class=self.schema.execution_context_class,
                operation_extensions=None,
            )
            if isawaitable(result):
                result = await result
            data, errors = result.data, result.errors
        except Exception as error:  # noqa: BLE001 - as Strawberry's execute: an error, not a crash
            data, errors = None, [error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)]
        response: dict[str, Any] = {"data": data}
        if errors:
            self.schema.process_errors(errors)
            response["errors"] = [self._format_error(error) for error in errors]
        return response


def encode(response: dict[str, Any]) -> bytes:
    """orjson where it can (several times json's speed); json for what orjson refuses
    (integers past 64 bits), so an answer never fails on its encoding."""
    try:
        return orjson.dumps(response)
    except TypeError:
        return json.dumps(response, separators=(",", ":")).encode()
