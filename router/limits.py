"""Operation limits: request body size (checked before the body is read), lexical tokens
(checked while parsing), then depth, aliases and root fields (checked before planning).

A client that exceeds one gets OPERATION_TOO_COMPLEX and nothing reaches a subgraph.
The operation's cost (router/cost.py) is checked with the request's variables, once they
are known, against `max_cost` or `max_cost_anonymous`.
Introspection (`__schema`, `__type`) is answered by the router itself and bounded by
graphql-core's MaxIntrospectionDepthRule, so it does not count against the depth limit."""
from __future__ import annotations

from dataclasses import dataclass

from mybroker.errors import ErrorCode
from router.errors import RequestError
from router.operation import Field, Operation, Selection


@dataclass(frozen=True)
class OperationLimits:
    max_depth: int | None = 32
    max_aliases: int | None = 200
    max_root_fields: int | None = 64
    # Lexical tokens (and, separately, comments) the parser reads before giving up: bounds
    # the CPU and memory a hostile document can cost before validation even starts.
    max_tokens: int | None = 15_000
    # Bytes of request body; larger bodies are refused with HTTP 413 unread.
    max_body_bytes: int | None = 2_000_000
    # Demand control (router/cost.py): the most an operation may cost, signed in and
    # anonymous. The trading screen's heaviest queries cost 400 (catalog) and 600 (orders page); `mybroker bench
    # orders` under 100; the 60-alias attack of issue 13 costs about 1.2 million.
    max_cost: int | None = 20_000
    max_cost_anonymous: int | None = 5_000


def check_limits(operation: Operation, limits: OperationLimits) -> None:
    if limits.max_depth is not None:
        depth = _depth(operation.selections)
        if depth > limits.max_depth:
            raise _too_complex(f"The operation is {depth} fields deep; the limit is {limits.max_depth}.")
    if limits.max_aliases is not None:
        aliases = _aliases(operation.selections)
        if aliases > limits.max_aliases:
            raise _too_complex(f"The operation uses {aliases} aliases; the limit is {limits.max_aliases}.")
    if limits.max_root_fields is not None:
        roots = _root_fields(operation.selections)
        if roots > limits.max_root_fields:
            raise _too_complex(f"The operation selects {roots} root fields; the limit is {limits.max_root_fields}.")


def _too_complex(message: str) -> RequestError:
    return RequestError(ErrorCode.OPERATION_TOO_COMPLEX, message)


def _depth(selections: tuple[Selection, ...]) -> int:
    deepest = 0
    for selection in selections:
        if isinstance(selection, Field) and selection.name in ("__schema", "__type"):
            continue
        inner = _depth(selection.selections)
        deepest = max(deepest, inner + 1 if isinstance(selection, Field) else inner)
    return deepest


def _aliases(selections: tuple[Selection, ...]) -> int:
    return sum(
        (1 if isinstance(s, Field) and s.alias else 0) + _aliases(s.selections) for s in selections
    )


def _root_fields(selections: tuple[Selection, ...]) -> int:
    return sum(1 if isinstance(s, Field) else _root_fields(s.selections) for s in selections)
