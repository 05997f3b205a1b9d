"""Operation limits: request body size (checked before the body is read), lexical tokens
(checked while parsing), then depth, aliases and root fields (checked before planning).

A client that exceeds one gets OPERATION_TOO_COMPLEX and nothing reaches a subgraph.
The operation's cost (router/cost.py) is checked with the request's variables, once they
are known, against `max_cost` or `max_cost_anonymous`.
Introspection (`__schema`, `__type`) is answered by the router itself and bounded by
graphql-core's MaxIntrospectionDepthRule, so it does not count against the depth limit."""
from __future__ import annotations

from dataclasses import dataclass

from graphql import DocumentNode, FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionSetNode

from router.errors import RequestError, RouterErrorCode
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
    # Fields once every fragment spread is inlined, checked right after parsing: a
    # 700-byte document of 18 fragments each spreading the next twice is 500,000 fields,
    # and inlining them took 5 s of the event loop. The trading screen's largest query has
    # about 60; the 60-alias attack of issue 13 about 1,900.
    max_fields: int | None = 10_000


def check_inlined_size(document: DocumentNode, limits: OperationLimits) -> None:
    """Refuses a document whose operations would hold more than `max_fields` fields once
    their fragments are inlined, before validation or inlining runs (both would pay for
    the blow-up). Each fragment is counted once and its count reused, so this is linear in
    the document; unknown fragments and cycles count nothing here (validation refuses them)."""
    if limits.max_fields is None:
        return
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    sizes: dict[str, int] = {}

    def size(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
        total = 0
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in visiting or name not in fragments:
                    continue
                if name not in sizes:
                    sizes[name] = size(fragments[name].selection_set, visiting | {name})
                total += sizes[name]
            else:
                total += (1 if isinstance(node, FieldNode) else 0) + size(node.selection_set, visiting)  # type: ignore[attr-defined, operator]  # a field or an inline fragment
        return total

    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            continue
        fields = size(getattr(definition, "selection_set", None), frozenset())
        if fields > limits.max_fields:
            raise _too_complex(
                f"The operation selects {fields} fields once its fragments are inlined; the limit is {limits.max_fields}."
            )


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
    return RequestError(RouterErrorCode.OPERATION_TOO_COMPLEX, message)


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
