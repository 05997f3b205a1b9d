"""A tiny GraphQL executor for the bench subgraphs: plain dicts in, plain dicts out.

Enough of GraphQL for what a federation gateway sends a subgraph: fields with arguments
and variables, aliases, fragments (named and inline, with type conditions), @skip and
@include, `__typename`, and lists. No validation: the gateway already validated against
the supergraph. Objects are dicts carrying "__typename"; a field is a resolver
`(obj, args) -> value` when its type registers one, else the dict's value. Parsed
documents and collected fields are cached, so a repeated query is only the walk."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql.utilities import value_from_ast_untyped

Resolver = Callable[[dict, dict], Any]
_MAX_DOCUMENTS = 512


class QueryError(Exception):
    """The request cannot be executed at all (not GraphQL, unknown operation)."""


class TinySchema:
    """Resolvers per type name, and which object types each abstract type covers."""

    def __init__(self, resolvers: Mapping[str, Mapping[str, Resolver]], abstract: Mapping[str, set[str]] | None = None):
        self.resolvers = {name: dict(fields) for name, fields in resolvers.items()}
        self.abstract = {name: frozenset(members) for name, members in (abstract or {}).items()}
        self._documents: dict[str, tuple[dict[str | None, OperationDefinitionNode], dict[str, FragmentDefinitionNode]]] = {}
        self._collected: dict[tuple[int, str], list[tuple[str, str, FieldNode]]] = {}

    def execute(self, query: Any, variables: Any = None, operation_name: Any = None) -> dict[str, Any]:
        """A GraphQL response ({"data", "errors"?}); never raises."""
        try:
            operation, fragments = self._operation(query, operation_name)
        except QueryError as error:
            return {"errors": [{"message": str(error)}]}
        run = _Run(self, fragments, variables if isinstance(variables, dict) else {})
        root = operation.operation.value.capitalize()
        data = run.object({"__typename": root}, operation.selection_set, [])
        return {"data": data, "errors": run.errors} if run.errors else {"data": data}

    def _operation(self, query: Any, operation_name: Any) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
        if not isinstance(query, str):
            raise QueryError("The request has no query string.")
        cached = self._documents.get(query)
        if cached is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                raise QueryError(f"Syntax error: {error.message}") from None
            operations = {d.name.value if d.name else None: d for d in document.definitions if isinstance(d, OperationDefinitionNode)}
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            if len(self._documents) >= _MAX_DOCUMENTS:  # bounded: ids in _collected die with their documents
                self._documents.clear()
                self._collected.clear()
            cached = self._documents[query] = (operations, fragments)
        operations, fragments = cached
        if operation_name is None and len(operations) == 1:
            return next(iter(operations.values())), fragments
        if operation_name in operations:
            return operations[operation_name], fragments
        raise QueryError(f"Unknown operation {operation_name!r}.")

    def covers(self, condition: str, typename: str) -> bool:
        return condition == typename or typename in self.abstract.get(condition, ())


class _Run:
    __slots__ = ("schema", "fragments", "variables", "errors")

    def __init__(self, schema: TinySchema, fragments: dict[str, FragmentDefinitionNode], variables: dict):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.errors: list[dict[str, Any]] = []

    def fields(self, selection_set: SelectionSetNode, typename: str) -> list[tuple[str, str, FieldNode]]:
        """(response key, field name, node) for `typename`; cached unless @skip/@include
        depend on variables."""
        key = (id(selection_set), typename)
        found = self.schema._collected.get(key)
        if found is None:
            found = []
            if self._collect(selection_set, typename, found):
                self.schema._collected[key] = found
        return found

    def _collect(self, selection_set: SelectionSetNode, typename: str, into: list) -> bool:
        variable_free = True
        for selection in selection_set.selections:
            if selection.directives:
                variable_free &= not any(
                    arg.value.kind == "variable" for d in selection.directives for arg in d.arguments or ()
                )
                if not self._included(selection):
                    continue
            if isinstance(selection, FieldNode):
                into.append(((selection.alias or selection.name).value, selection.name.value, selection))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self.schema.covers(condition.name.value, typename):
                    variable_free &= self._collect(selection.selection_set, typename, into)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None and self.schema.covers(fragment.type_condition.name.value, typename):
                    variable_free &= self._collect(fragment.selection_set, typename, into)
        return variable_free

    def _included(self, selection) -> bool:
        for directive in selection.directives:
            name = directive.name.value
            if name in ("skip", "include"):
                args = {a.name.value: value_from_ast_untyped(a.value, self.variables) for a in directive.arguments}
                if bool(args.get("if")) == (name == "skip"):
                    return False
        return True

    def object(self, obj: dict, selection_set: SelectionSetNode, path: list) -> dict[str, Any]:
        typename = obj.get("__typename", "")
        resolvers = self.schema.resolvers.get(typename, {})
        out: dict[str, Any] = {}
        for key, name, node in self.fields(selection_set, typename):
            if key in out and node.selection_set is None:
                continue
            if name == "__typename":
                out[key] = typename
                continue
            resolver = resolvers.get(name)
            if resolver is None:
                value = obj.get(name)
            else:
                args = {a.name.value: value_from_ast_untyped(a.value, self.variables) for a in node.arguments} if node.arguments else {}
                try:
                    value = resolver(obj, args)
                except Exception as error:  # noqa: BLE001 - a resolver's refusal is a field error, as in GraphQL
                    self.errors.append({"message": str(error) or type(error).__name__, "path": [*path, key]})
                    value = None
            if node.selection_set is not None and value is not None:
                value = self.complete(value, node.selection_set, [*path, key])
            previous = out.get(key)
            if isinstance(previous, dict) and isinstance(value, dict):
                previous.update(value)  # the same key selected twice: merge the sub-selections
            else:
                out[key] = value
        return out

    def complete(self, value: Any, selection_set: SelectionSetNode, path: list) -> Any:
        if isinstance(value, list):
            return [None if item is None else self.complete(item, selection_set, [*path, i]) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return self.object(value, selection_set, path)
        self.errors.append({"message": "Expected an object.", "path": path})
        return None
