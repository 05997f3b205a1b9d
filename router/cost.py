"""Demand control: what an operation may cost, known from the schema before anything runs.

One query of 60 aliased `assets(first: 200)` with candles, book and trades is 21 KB, under
every depth, alias and token limit, and still asked the assets subgraph for 3 MB and stalled
the platform. The depth of a document says little; the number of objects it can make the
subgraphs produce says a lot. So, in the spirit of IBM's GraphQL Cost Directive
specification and Apollo Router's demand control:

- every field whose type is an object, interface or union costs 1; scalars and enums cost 0
  (`weights`, a table `Type.field -> weight`, overrides either);
- a list field multiplies its own cost and its subtree's by its size: the `first`, `limit`
  or `last` argument (a literal, or the variable's value), otherwise that argument's schema
  default, otherwise `list_sizes["Type.field"]`, otherwise `default_list_size`; a size is
  never more than the subgraph's own cap (`list_caps`), since the subgraph answers no more;
- fragments count where they are spread; on an abstract type, fragments on different
  concrete types are alternatives, so their most expensive one counts;
- introspection (`__schema`, `__type`) costs 0: graphql-core's MaxIntrospectionDepthRule
  bounds it, and the router answers it without any subgraph.

`CostModel.compile` turns an operation into a small tree once (the pipeline caches it with
the prepared operation); `OperationCost.estimate(variables)` is then a sum over that tree,
a constant when no size depends on a variable. `OperationCost.actual(data)` walks a
response with the same weights and the real list lengths: what the operation did cost."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from graphql import (
    GraphQLNonNull,
    GraphQLSchema,
    IntValueNode,
    NullValueNode,
    Undefined,
    VariableNode,
    get_named_type,
    is_composite_type,
    is_list_type,
)

from router.errors import RequestError, RouterErrorCode
from router.operation import Field, Operation, Selection

# Arguments that bound how many items a list field returns.
SIZE_ARGUMENTS = ("first", "limit", "last")
INTROSPECTION_ROOTS = ("__schema", "__type")

# The platform's subgraph caps (subgraphs/*/: MAX_ASSETS_PAGE, MAX_CANDLES, TRADES_KEPT,
# orders' MAX_PAGE, MAX_TRANSACTIONS_PAGE): a bigger `first`/`limit` is answered with this many.
PLATFORM_LIST_CAPS: Mapping[str, int] = {
    "Query.assets": 200,
    "Asset.candles": 500,
    "Asset.trades": 200,
    "Query.orders": 500,
    "User.orders": 500,
    "Wallet.transactions": 500,
}
# Lists without a size argument whose size the platform knows: the book has at most ten
# levels a side (assets' MAX_BOOK_DEPTH, b3-sim's snapshots); the tax report's lists.
PLATFORM_LIST_SIZES: Mapping[str, int] = {
    "OrderBook.bids": 10,
    "OrderBook.asks": 10,
    # The tax report's fixed shapes (subgraphs/reports/tax.py): twelve months, four
    # categories in two kinds, four loss pools, two sheets.
    "TaxYearSummary.months": 12,
    "TaxReport.categories": 8,
    "TaxReport.pools": 4,
    "TaxReport.withholding": 2,
}


@dataclass(frozen=True)
class CostModel:
    """The rules; `compile` applies them to one operation."""

    schema: GraphQLSchema
    weights: Mapping[str, int] = field(default_factory=dict)
    list_sizes: Mapping[str, int] = field(default_factory=lambda: dict(PLATFORM_LIST_SIZES))
    list_caps: Mapping[str, int] = field(default_factory=lambda: dict(PLATFORM_LIST_CAPS))
    # A list with no size argument and no known size: a typical page of the platform's lists.
    default_list_size: int = 10

    def compile(self, operation: Operation) -> "OperationCost":
        root = {"query": self.schema.query_type, "mutation": self.schema.mutation_type,
                "subscription": self.schema.subscription_type}[operation.kind]
        return OperationCost(_Selection.of(self._nodes(root, operation.selections)))

    def estimate(self, operation: Operation, variables: Mapping[str, Any] | None = None) -> int:
        return self.compile(operation).estimate(variables or {})

    # ------------------------------------------------------------ compiling

    def _nodes(self, parent, selections: tuple[Selection, ...]) -> list[tuple[str | None, "_Node"]]:
        """(type condition or None for every type, node) for each field under `parent`."""
        nodes: list[tuple[str | None, _Node]] = []
        if parent is None:  # a type validation refuses (the pipeline may compile before validating)
            return nodes
        for selection in selections:
            if isinstance(selection, Field):
                node = self._field(parent, selection)
                if node is not None:
                    nodes.append((None, node))
                continue
            condition = selection.type_condition
            inner_type = self.schema.get_type(condition) if condition else parent
            same = condition is None or condition == parent.name
            for inner_condition, node in self._nodes(inner_type, selection.selections):
                nodes.append((inner_condition if same else (inner_condition or condition), node))
        return nodes

    def _field(self, parent, selection: Field) -> "_Node | None":
        if selection.name in INTROSPECTION_ROOTS:
            return None
        definition = parent.fields.get(selection.name) if hasattr(parent, "fields") else None
        if definition is None:  # __typename, or a field validation already refused
            return None
        coordinate = f"{parent.name}.{selection.name}"
        named = get_named_type(definition.type)
        own = self.weights.get(coordinate, 1 if is_composite_type(named) else 0)
        children = _Selection.of(self._nodes(named, selection.selections)) if selection.selections else _EMPTY
        lists = _list_depth(definition.type)
        if not lists:
            return _Node(selection.response_key, own, children)
        size, variable = self._size(coordinate, definition, selection)
        return _Node(selection.response_key, own, children, lists, size, variable, self.list_caps.get(coordinate))

    def _size(self, coordinate: str, definition, selection: Field) -> tuple[int, str | None]:
        """(size, variable): the variable's value, when given, replaces the size."""
        cap = self.list_caps.get(coordinate)
        fallback = self.list_sizes.get(coordinate, self.default_list_size)
        for name in SIZE_ARGUMENTS:
            argument = definition.args.get(name)
            if argument is None:
                continue
            default = _default_size(argument)
            if default is not None:
                fallback = default
            fallback = _capped(fallback, cap)
            for given in selection.arguments:
                if given.name.value != name:
                    continue
                if isinstance(given.value, IntValueNode):
                    return _capped(int(given.value.value), cap), None
                if isinstance(given.value, VariableNode):
                    return fallback, given.value.name.value
                if isinstance(given.value, NullValueNode):
                    return fallback, None
            return fallback, None
        return _capped(fallback, cap), None


def _default_size(argument) -> int | None:
    """The argument's schema default; a schema built from SDL may keep it only as AST."""
    default = argument.default_value
    if default is Undefined and argument.ast_node is not None and isinstance(argument.ast_node.default_value, IntValueNode):
        default = int(argument.ast_node.default_value.value)
    return default if isinstance(default, int) and not isinstance(default, bool) else None


def _capped(size: int, cap: int | None) -> int:
    size = max(size, 0)
    return min(size, cap) if cap is not None else size


def _list_depth(type_) -> int:
    depth = 0
    while True:
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        elif is_list_type(type_):
            depth += 1
            type_ = type_.of_type
        else:
            return depth


@dataclass(frozen=True)
class _Node:
    """One field: `own` plus its children, times its size per list level."""

    key: str
    own: int
    children: "_Selection"
    lists: int = 0
    size: int = 1
    # The variable that sets the size, when one does; `size` if the request leaves it out.
    variable: str | None = None
    cap: int | None = None

    @property
    def static(self) -> bool:
        return self.variable is None and self.children.static

    def estimate(self, variables: Mapping[str, Any]) -> int:
        inner = self.own + self.children.estimate(variables)
        if not self.lists:
            return inner
        size = self.size
        if self.variable is not None:
            value = variables.get(self.variable)
            if isinstance(value, int) and not isinstance(value, bool):
                size = _capped(value, self.cap)
        return inner * size ** self.lists

    def actual(self, value: Any) -> int:
        if value is None:
            return 0
        if type(value) is list:
            own, walk = self.own, self.children.walk
            total = 0
            for item in value:
                if type(item) is dict:
                    total += own + (walk(item) if walk is not None else 0)
                elif type(item) is list:
                    total += self.actual(item)
                elif item is not None:
                    total += own
            return total
        if type(value) is dict and self.children.walk is not None:
            return self.own + self.children.walk(value)
        return self.own


@dataclass(frozen=True)
class _Selection:
    """Fields every type selects, and per type condition the fields only that type selects."""

    common: tuple[_Node, ...]
    by_type: tuple[tuple[str, tuple[_Node, ...]], ...] = ()
    # Every node once by response key, for walking a response (first occurrence wins).
    keyed: tuple[_Node, ...] = ()
    static: bool = True

    @staticmethod
    def of(nodes: list[tuple[str | None, _Node]]) -> "_Selection":
        common = tuple(node for condition, node in nodes if condition is None)
        grouped: dict[str, list[_Node]] = {}
        for condition, node in nodes:
            if condition is not None:
                grouped.setdefault(condition, []).append(node)
        keyed: dict[str, _Node] = {}
        for _, node in nodes:
            keyed.setdefault(node.key, node)
        static = all(node.static for _, node in nodes)
        return _Selection(common, tuple((c, tuple(n)) for c, n in grouped.items()), tuple(keyed.values()), static)

    def estimate(self, variables: Mapping[str, Any]) -> int:
        total = sum(node.estimate(variables) for node in self.common)
        if self.by_type:
            total += max(sum(node.estimate(variables) for node in nodes) for _, nodes in self.by_type)
        return total

    @cached_property
    def walk(self):
        """The response walk for this selection, or None when nothing in it can cost."""
        costly = tuple(node for node in self.keyed if node.own or node.children.walk is not None)
        if not costly:
            return None
        keys = tuple((node.key, node.actual) for node in costly)

        def walk(data: Mapping[str, Any]) -> int:
            total = 0
            get = data.get
            for key, actual in keys:
                value = get(key)
                if value is not None:
                    total += actual(value)
            return total

        return walk

    def actual(self, data: Mapping[str, Any]) -> int:
        walk = self.walk
        return walk(data) if walk is not None else 0


_EMPTY = _Selection(())


class _NoItems(dict):
    """Variables under which every variable-sized list asks for 0 items."""

    def get(self, key, default=None):
        return 0


_NO_ITEMS = _NoItems()


class OperationCost:
    """An operation's cost tree: `estimate` before running it, `actual` of its response."""

    __slots__ = ("_root", "_static")

    def __init__(self, root: _Selection):
        self._root = root
        self._static = root.estimate({}) if root.static else None

    @property
    def static_estimate(self) -> int | None:
        """The estimate when no list size depends on a variable; None otherwise."""
        return self._static

    def estimate(self, variables: Mapping[str, Any] | None = None) -> int:
        if self._static is not None:
            return self._static
        return self._root.estimate(variables or {})

    def lower_bound(self) -> int:
        """The least the operation can cost, whatever its variables: every size a variable
        sets taken as 0. The estimate itself when no size depends on a variable."""
        if self._static is not None:
            return self._static
        return self._root.estimate(_NO_ITEMS)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        return self._root.actual(data) if isinstance(data, Mapping) else 0


def too_expensive(cost: int, limit: int | None, *, at_least: bool = False) -> RequestError | None:
    """OPERATION_TOO_COMPLEX with the cost and the limit in `extensions`, or None if it fits.
    `at_least`: `cost` is a lower bound (the variables were not looked at)."""
    if limit is None or cost <= limit:
        return None
    costs = "costs at least" if at_least else "costs"
    message = f"The operation {costs} {cost}; the limit is {limit}. Ask for fewer items (first/limit) or fewer fields."
    code = RouterErrorCode.OPERATION_TOO_COMPLEX
    return RequestError(code, message, errors=[{"message": message, "extensions": {"code": code.value, "cost": cost, "maxCost": limit}}])
