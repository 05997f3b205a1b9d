"""The query plan: plain data (Sequence / Parallel / Fetch / Flatten nodes) that the planner
produces, the executor runs, and `QueryPlan.pretty()` prints in Apollo's style."""
from __future__ import annotations

from dataclasses import dataclass, field

from router.operation import InlineFragment, Selection, print_selections


@dataclass(frozen=True)
class FetchNode:
    """One request to one subgraph.

    A root fetch (`requires` is None) sends `operation` as is and merges its data at the
    response root. An entity fetch (inside a Flatten) sends the objects found at the
    Flatten path, projected on `requires`, as `$representations` to `_entities`."""

    service: str
    operation: str
    operation_kind: str
    selections: tuple[Selection, ...]
    requires: tuple[InlineFragment, ...] | None = None
    variable_usages: tuple[str, ...] = ()
    operation_name: str | None = None
    # For entity fetches: the entity types, to pick the objects the fetch is about.
    entity_types: frozenset[str] = field(default_factory=frozenset)
    # (runtime type, name sent instead): an @interfaceObject subgraph knows the interface only.
    representation_typenames: tuple[tuple[str, str], ...] = ()

    @property
    def is_entity_fetch(self) -> bool:
        return self.requires is not None


@dataclass(frozen=True)
class FlattenNode:
    """Runs an entity fetch for the objects at `path` (response keys, "@" for list items)."""

    path: tuple[str, ...]
    node: FetchNode


@dataclass(frozen=True)
class SequenceNode:
    nodes: tuple["PlanNode", ...]


@dataclass(frozen=True)
class ParallelNode:
    nodes: tuple["PlanNode", ...]


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode


@dataclass(frozen=True)
class QueryPlan:
    node: PlanNode | None
    operation_kind: str = "query"

    def fetches(self) -> list[FetchNode]:
        """Every fetch, in the order the plan lists them."""
        found: list[FetchNode] = []
        stack: list[PlanNode] = [self.node] if self.node is not None else []
        while stack:
            node = stack.pop(0)
            if isinstance(node, FetchNode):
                found.append(node)
            elif isinstance(node, FlattenNode):
                found.append(node.node)
            else:
                stack[0:0] = list(node.nodes)
        return found

    def pretty(self) -> str:
        if self.node is None:
            return "QueryPlan {\n}"
        return "QueryPlan {\n" + _pretty(self.node, 1) + "\n}"

    def __str__(self) -> str:
        return self.pretty()


def sequence(nodes: list[PlanNode | None]) -> PlanNode | None:
    flat: list[PlanNode] = []
    for node in nodes:
        if node is None:
            continue
        flat.extend(node.nodes if isinstance(node, SequenceNode) else (node,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else SequenceNode(tuple(flat))


def parallel(nodes: list[PlanNode | None]) -> PlanNode | None:
    flat: list[PlanNode] = []
    for node in nodes:
        if node is None:
            continue
        flat.extend(node.nodes if isinstance(node, ParallelNode) else (node,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else ParallelNode(tuple(flat))


def _pretty(node: PlanNode, depth: int) -> str:
    pad = "  " * depth
    if isinstance(node, SequenceNode) or isinstance(node, ParallelNode):
        name = "Sequence" if isinstance(node, SequenceNode) else "Parallel"
        inner = "\n".join(_pretty(child, depth + 1) + "," for child in node.nodes)
        return f"{pad}{name} {{\n{inner}\n{pad}}}"
    if isinstance(node, FlattenNode):
        path = ".".join(node.path)
        return f'{pad}Flatten(path: "{path}") {{\n{_pretty(node.node, depth + 1)},\n{pad}}}'
    body_pad = "  " * (depth + 1)
    selections = print_selections(node.selections, depth + 1)
    if node.requires is not None:
        requires = print_selections(node.requires, depth + 1)
        body = f"{body_pad}{requires} =>\n{body_pad}{selections}"
    else:
        prefix = "" if node.operation_kind == "query" else node.operation_kind + " "
        body = f"{body_pad}{prefix}{selections}"
    return f'{pad}Fetch(service: "{node.service}") {{\n{body}\n{pad}}}'
